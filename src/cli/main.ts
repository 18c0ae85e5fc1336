// The `calm` command line: `calm <command> [options]` (npm run calm -- <command> ...).
// Results go to stdout (exactly one JSON document with --json), progress to stderr, and any
// error is one line `calm: <message>` on stderr with exit status 1 (2 for usage errors).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { COMMANDS } from './commands';
import { GLOBAL_OPTIONS, type CliBackend, type Command, type OptionSpec } from './command';
import { exitCodeFor, installCrashHandlers, printText, reportError, setQuiet, UsageError } from './output';

const BACKENDS: readonly CliBackend[] = ['wasm', 'cpu'];

export async function main(argv: string[]): Promise<number> {
  installCrashHandlers();
  try {
    await dispatch(argv);
    return 0;
  } catch (e) {
    reportError(e);
    return exitCodeFor(e);
  }
}

async function dispatch(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    printText(topic ? commandHelp(findCommand(topic)) : usage());
    return;
  }
  if (name.startsWith('-')) {
    throw new UsageError(`the command comes first: calm <command> [options] (commands: ${commandNames()}); calm --help shows more`);
  }
  const command = findCommand(name);
  const values = parse(command, rest);
  if (values.values.help) {
    printText(commandHelp(command));
    return;
  }
  for (const [opt, spec] of Object.entries(command.options)) {
    if (spec.required && (values.values[opt] === undefined || values.values[opt] === '')) {
      throw new UsageError(`${command.name}: --${opt} is required (usage: ${synopsis(command)})`);
    }
  }
  const backendText = (values.values.backend as string | undefined) ?? 'wasm';
  if (!(BACKENDS as readonly string[]).includes(backendText)) {
    throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}, got ${JSON.stringify(backendText)}`);
  }
  setQuiet(values.values.quiet === true);
  await command.run({
    values: values.values,
    positionals: values.positionals,
    json: values.values.json === true,
    backend: backendText as CliBackend,
  });
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command '${name}' (commands: ${commandNames()})`);
  return command;
}

function commandNames(): string {
  return COMMANDS.map((c) => c.name).join(', ');
}

function allOptions(command: Command): Record<string, OptionSpec> {
  return { ...command.options, ...GLOBAL_OPTIONS };
}

/** Strict node:util parsing; its errors become one-line usage errors naming the command's options. */
function parse(command: Command, args: string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [opt, spec] of Object.entries(allOptions(command))) {
    options[opt] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  }
  try {
    const r = parseArgs({ args, options, strict: true, allowPositionals: command.positionals !== undefined });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const message = (e as Error).message;
    const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
    const known = Object.keys(command.options).map((o) => `--${o}`);
    const list = `options of ${command.name}: ${known.length ? known.join(', ') : 'none'}; global: ${Object.keys(GLOBAL_OPTIONS).map((o) => `--${o}`).join(', ')}`;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`${command.name}: unknown option ${quoted} (${list})`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new UsageError(`${command.name}: unexpected argument ${JSON.stringify(quoted)}; options take the form --name value (${list})`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const opt = quoted.split(' ')[0];
      const what = message.includes('does not take an argument') ? 'takes no value' : 'needs a value';
      throw new UsageError(`${command.name}: ${opt} ${what} (usage: ${synopsis(command)})`);
    }
    throw new UsageError(`${command.name}: ${message}`);
  }
}

function optionText(opt: string, spec: OptionSpec): string {
  return spec.type === 'string' ? `--${opt} ${spec.value ?? 'VALUE'}` : `--${opt}`;
}

/** `calm generate --model ID|DIR --prompt TEXT [--max-tokens N] ... [--json]` */
function synopsis(command: Command): string {
  const parts = [`calm ${command.name}`];
  if (command.positionals) parts.push(command.positionals);
  for (const [opt, spec] of Object.entries(command.options)) parts.push(spec.required ? optionText(opt, spec) : `[${optionText(opt, spec)}]`);
  parts.push('[--json]');
  return parts.join(' ');
}

function optionTable(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([opt, spec]) => [
    (spec.short ? `-${spec.short}, ` : '') + optionText(opt, spec),
    spec.description + (spec.required ? ' (required)' : ''),
  ]);
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`);
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'calm — compose two frozen language models with CALM, on the command line',
    '',
    'Usage: calm <command> [options]        (from a checkout: npm run -s calm -- <command> [options])',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    ...optionTable(GLOBAL_OPTIONS),
    '',
    '`calm <command> --help` lists the options of a command.',
  ].join('\n');
}

function commandHelp(command: Command): string {
  const lines = [`Usage: ${synopsis(command)}`, '', command.summary];
  if (Object.keys(command.options).length) lines.push('', 'Options:', ...optionTable(command.options));
  lines.push('', 'Global options:', ...optionTable(GLOBAL_OPTIONS));
  if (command.examples?.length) lines.push('', 'Examples:', ...command.examples.map((e) => `  calm ${e}`));
  return lines.join('\n');
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    reportError(e);
    process.exitCode = 1;
  },
);
