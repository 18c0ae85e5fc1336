// Every command of `calm`, in the order the usage text lists them. A new command is a module
// exporting `command: Command` and one line here.
import type { Command } from '../command';
import { command as models } from './models';
import { command as generate } from './generate';
import { command as evaluate } from './eval';
import { command as logits } from './logits';
import { command as compose } from './compose';
import { command as repro } from './repro';

export const COMMANDS: Command[] = [models, generate, evaluate, logits, compose, repro];
