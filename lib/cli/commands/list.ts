import { isFlowId } from '../../runner/flow/flow-store';
import { WorkflowRunner } from '../../runner/workflow-runner';
import type { ListedStatus } from '../../runner/workflow-info';
import { listOption, UsageError, type CommandSpec, type ParsedArgs } from '../args';
import { println, type CliIo } from '../io';
import { openStore } from '../store';

/** The statuses `--status` takes. */
const LISTED: readonly ListedStatus[] = ['running', 'waiting', 'completed', 'failed', 'cancelled', 'compensating', 'compensated', 'corrupted'];

/** What `waymark list` accepts. */
export const listSpec: CommandSpec = { valued: ['store', 'status', 'workflow', 'version'], flags: ['json', 'stranded'], positionals: [] };

/**
 * `waymark list --store <spec> [--status <status>[,<status>...]] [--workflow <name>] [--version <n>] [--stranded] [--json]`:
 * the workflow ids in a store, optionally only those in a status, of a workflow and version, or
 * stranded (unfinished, and a process asked to run them had no class for their version).
 */
export async function listCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const statuses = listOption<ListedStatus>(args, 'status', LISTED);
  const versionText = args.options.get('version');
  const version = versionText === undefined ? undefined : Number(versionText);
  if (version !== undefined && !(Number.isInteger(version) && version >= 1)) throw new UsageError(`--version must be an integer >= 1, got '${versionText}'`);
  const workflowName = args.options.get('workflow');
  const stranded = args.flags.has('stranded');
  const storage = await openStore(args.options.get('store'));
  let ids: string[];
  if (statuses === undefined && workflowName === undefined && version === undefined && !stranded) ids = (await storage.list()).filter((id) => !isFlowId(id));
  else {
    const runner = new WorkflowRunner({ storage, tracer: false });
    ids = [];
    let cursor: string | undefined;
    const filter = { ...(statuses === undefined ? {} : { status: statuses }), ...(workflowName === undefined ? {} : { workflowName }), ...(version === undefined ? {} : { version }), ...(stranded ? { stranded: true } : {}) };
    do {
      const page = await runner.list({ ...filter, limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      ids.push(...page.items.map((i) => i.workflowId));
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  if (args.flags.has('json')) println(io.stdout, JSON.stringify(ids));
  else for (const id of ids) println(io.stdout, id);
  return 0;
}
