/**
 * The `waymark` command: inspect, draw, clear and prune workflows in a store, or serve its dashboard.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WaymarkError } from '../errors';
import { parseArgs, UsageError } from './args';
import { clearCommand } from './commands/clear';
import { graphCommand } from './commands/graph';
import { listCommand } from './commands/list';
import { pruneCommand } from './commands/prune';
import { statusCommand } from './commands/status';
import { sendEventCommand } from './commands/send-event';
import { uiCommand } from './commands/ui';
import { println, processIo, type CliIo } from './io';

export const USAGE = `usage:
  waymark --help | --version
  waymark list --store <store> [--status running|waiting|completed|failed|cancelled|compensating|compensated|corrupted[,...]] [--json]
  waymark status <workflowId> --store <store> [--json]
  waymark clear <workflowId> --store <store> [--yes] [--json]
  waymark prune --store <store> --older-than <30d|12h|ms> [--status completed|failed|cancelled|compensated[,...]] [--dry-run] [--yes] [--json]
  waymark send-event <workflowId> <event> --store <store> [--payload '<json>'] [--event-id <id>] [--json]
  waymark graph <module> <ClassName> [--text | --json] [--workflow-id <id> --store <store>]
  waymark ui --store <store> [--port 4100] [--host 127.0.0.1] [--token <token>]

<store> is file:<dir>, s3://<bucket>/<prefix> (the AWS environment configures the S3 client)
or postgres://<user>@<host>/<database>[?schema=<name>] (pg must be installed).`;

const COMMANDS = { list: listCommand, status: statusCommand, clear: clearCommand, prune: pruneCommand, graph: graphCommand, 'send-event': sendEventCommand, ui: uiCommand } as const;

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
    const args = parseArgs(argv, ['store', 'workflow-id', 'status', 'payload', 'event-id', 'older-than', 'port', 'host', 'token']);
    const name = args.positionals[0];
    if (args.flags.has('version') && name === undefined) {
      println(io.stdout, packageVersion());
      return 0;
    }
    if (args.flags.has('help')) {
      println(io.stdout, USAGE);
      return 0;
    }
    if (name === undefined) {
      println(io.stderr, USAGE);
      return 2;
    }
    const command = COMMANDS[name as keyof typeof COMMANDS];
    if (command === undefined) throw new UsageError(`unknown command '${name}'`);
    return await command(args, io);
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
