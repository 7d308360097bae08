import { WorkflowRunner } from '../../runner/workflow-runner';
import { UsageError, type CommandSpec, type ParsedArgs } from '../args';
import { println, type CliIo } from '../io';
import { openStore } from '../store';

/** What `waymark cancel` accepts. */
export const cancelSpec: CommandSpec = { valued: ['store', 'reason'], flags: ['json'], positionals: ['workflowId'] };

/**
 * `waymark cancel <workflowId> --store <spec> [--reason '<why>'] [--json]`: `runner.cancel`, from a
 * shell. A waiting workflow is cancelled at once; a running one is stopped by its run within one
 * lease renewal; one that compensates is undone by a worker. Exit 1 when it had ended already.
 */
export async function cancelCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const workflowId = args.positionals[1];
  if (workflowId === undefined) throw new UsageError('cancel needs a workflow id');
  const runner = new WorkflowRunner({ storage: await openStore(args.options.get('store')), tracer: false });
  const reason = args.options.get('reason');
  const result = await runner.cancel(workflowId, reason === undefined ? {} : { reason });
  if (args.flags.has('json')) println(io.stdout, JSON.stringify({ workflowId, ...result }));
  else if (result.outcome === 'ended') println(io.stderr, `not cancelled: workflow '${workflowId}' has ${result.status} already`);
  else if (result.outcome === 'cancelled') println(io.stdout, `cancelled ${workflowId}`);
  else if (result.outcome === 'compensating') println(io.stdout, `cancelled ${workflowId}: it is compensating; a worker undoes its committed steps`);
  else println(io.stdout, `cancel requested for ${workflowId}: the run holding it${result.holder === undefined ? '' : ` (${result.holder})`} stops within one lease renewal`);
  return result.outcome === 'ended' ? 1 : 0;
}
