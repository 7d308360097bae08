/**
 * The `waymark` command: inspect, draw and clear workflows in a store.
 */
import { WaymarkError } from '../errors';
import { parseArgs, UsageError } from './args';
import { clearCommand } from './commands/clear';
import { graphCommand } from './commands/graph';
import { listCommand } from './commands/list';
import { statusCommand } from './commands/status';
import { println, processIo, type CliIo } from './io';

export const USAGE = `usage:
  waymark list --store <store> [--json]
  waymark status <workflowId> --store <store> [--json]
  waymark clear <workflowId> --store <store> [--yes] [--json]
  waymark graph <module> <ClassName> [--text | --json] [--workflow-id <id> --store <store>]

<store> is file:<dir> or s3://<bucket>/<prefix> (the AWS environment configures the S3 client).`;

const COMMANDS = { list: listCommand, status: statusCommand, clear: clearCommand, graph: graphCommand } as const;

/** Runs the CLI; resolves with the exit code (0 ok, 1 failure, 2 usage). */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    const args = parseArgs(argv, ['store', 'workflow-id']);
    const name = args.positionals[0];
    if (name === undefined || args.flags.has('help')) {
      println(name === undefined ? io.stderr : io.stdout, USAGE);
      return name === undefined ? 2 : 0;
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
