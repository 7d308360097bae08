import { serveDashboard } from '../../dashboard/serve-dashboard';
import { WorkflowRunner } from '../../runner/workflow-runner';
import { UsageError, type CommandSpec, type ParsedArgs } from '../args';
import { println, type CliIo } from '../io';
import { openStore } from '../store';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** What `waymark ui` accepts. */
export const uiSpec: CommandSpec = { valued: ['store', 'port', 'host', 'token'], flags: [], positionals: [] };

/**
 * `waymark ui --store <spec> [--port 4100] [--host 127.0.0.1] [--token <token>]`: serves the
 * dashboard for a store until SIGINT or SIGTERM, and prints the URL to open (token included).
 * Without the workflow classes it can show, send events and clear; resuming needs the app's own
 * `createDashboard({ runner })`.
 */
export async function uiCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const portText = args.options.get('port') ?? '4100';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`--port '${portText}' is not a port number (0 to 65535)`);
  const host = args.options.get('host') ?? '127.0.0.1';
  const token = args.options.get('token');
  if (token !== undefined && token.length < 16) throw new UsageError('--token needs at least 16 characters');
  const storage = await openStore(args.options.get('store'));
  const runner = new WorkflowRunner({ storage, tracer: false });
  const served = await serveDashboard({
    runner,
    port,
    host,
    ...(token === undefined ? {} : { token }),
    onError: (error) => println(io.stderr, `waymark ui: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
  });
  if (!LOOPBACK.has(host)) println(io.stderr, `waymark ui: serving on ${host}: anyone who reaches this port and has the token can read and clear workflows`);
  println(io.stdout, `waymark dashboard for ${args.options.get('store')}: ${served.url}`);
  println(io.stdout, 'stop it with Ctrl-C');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await served.close();
  return 0;
}
