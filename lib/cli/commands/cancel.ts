import { counted } from '../../counted';
import type { CancelResult } from '../../runner/cancel';
import { WorkflowRunner } from '../../runner/workflow-runner';
import type { CommandSpec, ParsedArgs } from '../args';
import { println, type CliIo } from '../io';
import { decide, eachSelected, reportFailures, selectWorkflows, SELECT_OPTIONS } from '../select';
import { openStore } from '../store';

/** What `waymark cancel` accepts: ids, or filters. */
export const cancelSpec: CommandSpec = { valued: ['store', 'reason', ...SELECT_OPTIONS], flags: ['dry-run', 'yes', 'json'], positionals: [], variadic: 'workflowId' };

/**
 * `waymark cancel <workflowId>... --store <spec> [--reason '<why>'] [--json]`, or with
 * `--workflow <name> [--status waiting] [--version n] [--since 2h] [--dry-run] [--yes]` instead of
 * ids: `runner.cancel`, from a shell. A waiting workflow is cancelled at once; a running one is
 * stopped by its run within one lease renewal; one that compensates is undone by a worker. Exit 1
 * when one had ended already.
 */
export async function cancelCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const runner = new WorkflowRunner({ storage: await openStore(args.options.get('store')), tracer: false });
  const reason = args.options.get('reason');
  const ids = await selectWorkflows(args, runner, 'cancel');
  const decision = await decide(args, io, ids, `cancel ${counted(ids.length, 'workflow')}`, 'nothing cancelled');
  if (typeof decision === 'number') return decision;
  const json = args.flags.has('json');
  if (decision === 'dry-run') {
    if (json) println(io.stdout, JSON.stringify({ dryRun: true, workflowIds: ids }));
    else for (const id of ids) println(io.stdout, `would cancel ${id}`);
    return 0;
  }
  const { done: results, failures } = await eachSelected(ids, async (id): Promise<CancelResult & { workflowId: string }> => ({ workflowId: id, ...(await runner.cancel(id, reason === undefined ? {} : { reason })) }));
  // One id given: the answer as it always was.
  const single = args.positionals.length === 2 && failures.length === 0;
  if (json) println(io.stdout, JSON.stringify(single ? results[0] : { dryRun: false, cancelled: results, failures }));
  else {
    for (const { workflowId, ...result } of results) {
      if (result.outcome === 'ended') println(io.stderr, `not cancelled: workflow '${workflowId}' has ${result.status} already`);
      else if (result.outcome === 'cancelled') println(io.stdout, `cancelled ${workflowId}`);
      else if (result.outcome === 'compensating') println(io.stdout, `cancelled ${workflowId}: it is compensating; a worker undoes its committed steps`);
      else println(io.stdout, `cancel requested for ${workflowId}: the run holding it${result.holder === undefined ? '' : ` (${result.holder})`} stops within one lease renewal`);
    }
    if (ids.length === 0) println(io.stdout, 'nothing to cancel: no workflow matches');
  }
  return Math.max(reportFailures(io, failures, 'not cancelled'), results.some((r) => r.outcome === 'ended') ? 1 : 0);
}
