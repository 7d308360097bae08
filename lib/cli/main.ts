/**
 * The `waymark` command: inspect, draw, clear and prune workflows in a store, or serve its dashboard.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WaymarkError } from '../errors';
import { assertSupportedNode } from '../node-version';
import { parseCommandArgs, suggestOption, UsageError, type CommandSpec, type ParsedArgs } from './args';
import { clearCommand, clearSpec } from './commands/clear';
import { graphCommand, graphSpec } from './commands/graph';
import { listCommand, listSpec } from './commands/list';
import { pruneCommand, pruneSpec } from './commands/prune';
import { statusCommand, statusSpec } from './commands/status';
import { sendEventCommand, sendEventSpec } from './commands/send-event';
import { cancelCommand, cancelSpec } from './commands/cancel';
import { uiCommand, uiSpec } from './commands/ui';
import { migrateCommand, migrateSpec } from './commands/migrate';
import { restartCommand, restartSpec } from './commands/restart';
import { versionsCommand, versionsSpec } from './commands/versions';
import { resumeCommand, resumeSpec } from './commands/resume';
import { println, processIo, type CliIo } from './io';

export const USAGE = `usage:
  waymark --help | --version
  waymark list --store <store> [--status running|waiting|completed|failed|cancelled|compensating|compensated|corrupted[,...]] [--workflow <name>] [--version <n>] [--stranded] [--json]
  waymark status <workflowId> --store <store> [--verbose] [--json]
  waymark clear <workflowId> --store <store> [--yes] [--json]
  waymark prune --store <store> --older-than <30d|12h|ms> [--status completed|failed|cancelled|compensated[,...]] [--dry-run] [--yes] [--json]
  waymark send-event <workflowId> <event> --store <store> [--payload '<json>'] [--event-id <id>] [--json]
  waymark cancel <workflowId>... | --workflow <name> [--status <s>] [--version <n>] [--since 2h] --store <store> [--reason '<why>'] [--dry-run] [--yes] [--json]
  waymark resume <workflowId>... | --workflow <name> [--status failed] [--version <n>] [--since 2h] --store <store> [--dry-run] [--yes] [--json]
  waymark versions --store <store> [--workflow <name>] [--json]
  waymark migrate <workflowId>... | --workflow <name> --from <n> --store <store> --workflows <module> [--to <n>] [--status <s>] [--dry-run] [--yes] [--json]
  waymark restart <workflowId>... | --workflow <name> [--status failed] [--version <n>] [--since 2h] --store <store> --from <step> [--dry-run] [--yes] [--json]
  waymark graph <module> <ClassName> [--text | --json] [--workflow-id <id> --store <store>]
  waymark ui --store <store> [--port 4100] [--host 127.0.0.1] [--token <token>]

<store> is sqlite:<file>, file:<dir>, s3://<bucket>/<prefix> (the AWS environment configures the S3 client)
or postgres://<user>@<host>/<database>[?schema=<name>] (pg must be installed).`;

type Command = readonly [CommandSpec, (args: ParsedArgs, io: CliIo) => Promise<number>];

const COMMANDS: Readonly<Record<string, Command>> = {
  list: [listSpec, listCommand],
  status: [statusSpec, statusCommand],
  clear: [clearSpec, clearCommand],
  prune: [pruneSpec, pruneCommand],
  graph: [graphSpec, graphCommand],
  'send-event': [sendEventSpec, sendEventCommand],
  cancel: [cancelSpec, cancelCommand],
  versions: [versionsSpec, versionsCommand],
  migrate: [migrateSpec, migrateCommand],
  restart: [restartSpec, restartCommand],
  resume: [resumeSpec, resumeCommand],
  ui: [uiSpec, uiCommand],
};

/** This package's version, from the package.json above this file (in the sources and in dist/ alike). */
function packageVersion(): string {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'waymark') return pkg.version ?? 'unknown';
    } catch {
      // not here: look further up
    }
  }
  return 'unknown';
}

/** Runs the CLI; resolves with the exit code (0 ok, 1 failure, 2 usage). */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    assertSupportedNode();
    const [name, ...rest] = argv;
    if (name === undefined) {
      println(io.stderr, USAGE);
      return 2;
    }
    if (name.startsWith('-')) {
      // Before a command only --help and --version are known.
      if (rest.length === 0 && (name === '--help' || name === '-h')) {
        println(io.stdout, USAGE);
        return 0;
      }
      if (rest.length === 0 && name === '--version') {
        println(io.stdout, packageVersion());
        return 0;
      }
      if (name === '--help' || name === '--version') throw new UsageError(`${name} takes no arguments`);
      const suggestion = suggestOption(name.replace(/^-+/, ''), ['help', 'version']);
      throw new UsageError(`unknown option '${name}'${suggestion === undefined ? '' : ` (did you mean --${suggestion}?)`}: give a command first`);
    }
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (command === undefined) {
      const suggestion = suggestOption(name, Object.keys(COMMANDS));
      throw new UsageError(`unknown command '${name}'${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}`);
    }
    const [spec, run] = command;
    const args = parseCommandArgs(name, rest, spec);
    if (args.flags.has('help')) {
      println(io.stdout, USAGE);
      return 0;
    }
    return await run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      println(io.stderr, `waymark: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof WaymarkError) {
      println(io.stderr, `waymark: ${error.code}: ${error.message}`);
      return 1;
    }
    println(io.stderr, `waymark: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
