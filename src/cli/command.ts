// The shape of a command (src/cli/commands/<name>.ts) and the helpers that read its options.
import type { BackendName } from '../model/tf';
import { UsageError } from './output';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** What the value looks like in usage text, e.g. `ID|DIR`. */
  value?: string;
  description: string;
  required?: boolean;
}

export type OptionValues = Record<string, string | boolean | undefined>;

export interface CommandArgs {
  /** Option values by name (global options included), as node:util parseArgs gives them. */
  values: OptionValues;
  /** Words after the command that are not options (for commands with subcommands). */
  positionals: string[];
  json: boolean;
  backend: CliBackend;
}

export type CliBackend = Extract<BackendName, 'wasm' | 'cpu'>;

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The command's own options; the global ones (--json, --backend, --quiet, --help) are added. */
  options: Record<string, OptionSpec>;
  /** Usage text for positionals, e.g. `train|eval|generate`; without it positionals are refused. */
  positionals?: string;
  /** Example invocations for `calm <command> --help` (without the leading `calm`). */
  examples?: string[];
  run(args: CommandArgs): Promise<void>;
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print exactly one JSON document on stdout' },
  backend: { type: 'string', value: 'wasm|cpu', description: 'TensorFlow.js backend (default wasm)' },
  quiet: { type: 'boolean', short: 'q', description: 'no progress lines on stderr' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

// ---- reading option values; every problem is a UsageError naming the option ----

export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function requiredString(values: OptionValues, name: string, command: string): string {
  const v = stringOption(values, name);
  if (v === undefined || v === '') throw new UsageError(`${command}: --${name} is required`);
  return v;
}

/** An integer option within [min, max]; `fallback` when absent. */
export function intOption(values: OptionValues, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const v = stringOption(values, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n)) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(v)}`);
  if (n < min || n > max) throw new UsageError(`--${name} must be ${rangeText(min, max)}, got ${n}`);
  return n;
}

/** A finite number option within [min, max]; `fallback` when absent. */
export function numberOption(values: OptionValues, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const v = stringOption(values, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got ${JSON.stringify(v)}`);
  if (n < min || n > max) throw new UsageError(`--${name} must be ${rangeText(min, max)}, got ${n}`);
  return n;
}

/** One of `choices`; `fallback` when absent. */
export function choiceOption<T extends string>(values: OptionValues, name: string, choices: readonly T[], fallback: T): T {
  const v = stringOption(values, name);
  if (v === undefined) return fallback;
  if (!(choices as readonly string[]).includes(v)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

function rangeText(min: number, max: number): string {
  if (Number.isFinite(min) && Number.isFinite(max)) return `between ${min} and ${max}`;
  if (Number.isFinite(min)) return `at least ${min}`;
  return `at most ${max}`;
}
