import { WorkflowRunner } from '../../runner/workflow-runner';
import type { ListedStatus } from '../../runner/workflow-info';
import { listOption, type CommandSpec, type ParsedArgs } from '../args';
import { println, type CliIo } from '../io';
import { openStore } from '../store';

/** The statuses `--status` takes. */
const LISTED: readonly ListedStatus[] = ['running', 'waiting', 'completed', 'failed', 'cancelled', 'compensating', 'compensated', 'corrupted'];

/** What `waymark list` accepts. */
export const listSpec: CommandSpec = { valued: ['store', 'status'], flags: ['json'], positionals: [] };

/** `waymark list --store <spec> [--status <status>[,<status>...]] [--json]`: the workflow ids in a store, optionally only those in a status. */
export async function listCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const statuses = listOption<ListedStatus>(args, 'status', LISTED);
  const storage = await openStore(args.options.get('store'));
  let ids: string[];
  if (statuses === undefined) ids = await storage.list();
  else {
    const runner = new WorkflowRunner({ storage, tracer: false });
    ids = [];
    let cursor: string | undefined;
    do {
      const page = await runner.list({ status: statuses, limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      ids.push(...page.items.map((i) => i.workflowId));
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  if (args.flags.has('json')) println(io.stdout, JSON.stringify(ids));
  else for (const id of ids) println(io.stdout, id);
  return 0;
}
