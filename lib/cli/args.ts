/**
 * The CLI's one argument parser: `node:util`'s `parseArgs` in strict mode, with each command's own
 * options and positionals. Unknown options, missing values, values given to flags and extra
 * arguments are usage errors (exit 2), with a suggestion when an option looks like a typo.
 */
import { parseArgs as parseStrict } from 'node:util';

/** Parsed command line. `positionals[0]` is the command's name. */
export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: ReadonlySet<string>;
  readonly options: ReadonlyMap<string, string>;
}

/** What a command accepts: its valued options, its flags, and how many positionals (after its name). */
export interface CommandSpec {
  /** Options that take a value (`--store x` or `--store=x`). */
  readonly valued: readonly string[];
  /** Options that take none (`--json`). */
  readonly flags: readonly string[];
  /** Names of the positionals the command takes, in order (each required). */
  readonly positionals: readonly string[];
  /** Any number of further positionals of this name (`restart <workflowId>...`). */
  readonly variadic?: string;
}

/** Thrown for a malformed command line; the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {}

/** Edit distance between two short strings, a swap of neighbours counting as one edit (options are short). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known option closest to `name`, when it is close enough to be a typo (or the same letters without dashes). */
export function suggestOption(name: string, known: readonly string[]): string | undefined {
  const bare = (s: string) => s.replace(/-/g, '').toLowerCase();
  let best: { option: string; d: number } | undefined;
  for (const option of known) {
    const d = bare(option) === bare(name) ? 0 : distance(name, option);
    if (best === undefined || d < best.d) best = { option, d };
  }
  return best !== undefined && best.d <= Math.max(1, Math.floor(best.option.length / 3)) ? best.option : undefined;
}

/** Parses the arguments after the command's name against its spec; throws `UsageError` for anything it does not accept. */
export function parseCommandArgs(command: string, argv: readonly string[], spec: CommandSpec): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const name of spec.valued) options[name] = { type: 'string' };
  for (const name of spec.flags) options[name] = { type: 'boolean' };
  let parsed;
  try {
    parsed = parseStrict({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (error) {
    throw usageErrorOf(command, error as Error & { code?: string }, [...spec.valued, ...spec.flags]);
  }
  const positionals = parsed.positionals;
  if (parsed.values.help !== true && spec.variadic === undefined && positionals.length > spec.positionals.length) {
    const extra = positionals.slice(spec.positionals.length).map((p) => `'${p}'`).join(' ');
    const takes = spec.positionals.length === 0 ? 'no arguments' : `${spec.positionals.length} argument${spec.positionals.length === 1 ? '' : 's'} (${spec.positionals.join(', ')})`;
    throw new UsageError(`${command} takes ${takes}; unexpected: ${extra}`);
  }
  const flags = new Set<string>();
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(parsed.values)) {
    if (typeof value === 'string') values.set(name, value);
    else if (value === true) flags.add(name);
  }
  return { positionals: [command, ...positionals], flags, options: values };
}

function usageErrorOf(command: string, error: Error & { code?: string }, known: readonly string[]): UsageError {
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = /'(-{1,2}[^'\s]+)'/.exec(error.message)?.[1] ?? '';
    const bare = name.replace(/^-+/, '').split('=')[0];
    const suggestion = suggestOption(bare, known);
    return new UsageError(`${command}: unknown option '${name.split('=')[0]}'${suggestion === undefined ? '' : ` (did you mean --${suggestion}?)`}`);
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // node words it as "Option '--store <value>' argument missing" or "Option '--json' does not take an argument".
    const name = /'(--[a-z-]+)/.exec(error.message)?.[1] ?? 'an option';
    return new UsageError(/does not take/.test(error.message) ? `${command}: ${name} takes no value` : `${command}: ${name} needs a value`);
  }
  return new UsageError(`${command}: ${error.message}`);
}

/**
 * The comma-separated values of option `--name`, each one of `allowed` (a typo gets a suggestion),
 * or undefined when the option is absent. `hint` is added to the refusal.
 */
export function listOption<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[], hint = ''): T[] | undefined {
  const text = args.options.get(name);
  if (text === undefined) return undefined;
  const values = text.split(',').map((s) => s.trim());
  for (const value of values) {
    if (!allowed.includes(value as T)) {
      const suggestion = suggestOption(value, allowed);
      throw new UsageError(`--${name} '${value}' is not one of ${allowed.join(', ')}${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}${hint}`);
    }
  }
  return values as T[];
}
