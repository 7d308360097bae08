/** A small argument parser: positionals, `--flag`, `--name value` and `--name=value`. */

/** Parsed command line. */
export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: ReadonlySet<string>;
  readonly options: ReadonlyMap<string, string>;
}

/** Thrown for a malformed command line; the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {}

/** Parses `argv`; `valued` lists the options that take a value. */
export function parseArgs(argv: readonly string[], valued: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Set<string>();
  const options = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (valued.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      options.set(name, value);
    } else {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      flags.add(name);
    }
  }
  return { positionals, flags, options };
}
