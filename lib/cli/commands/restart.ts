import { counted } from '../../counted';
import { WorkflowRunner } from '../../runner/workflow-runner';
import { UsageError, type CommandSpec, type ParsedArgs } from '../args';
import { println, type CliIo } from '../io';
import { decide, eachSelected, reportFailures, selectWorkflows, SELECT_OPTIONS } from '../select';
import { openStore } from '../store';

/** What `waymark restart` accepts: ids, or filters. */
export const restartSpec: CommandSpec = { valued: ['store', 'from', ...SELECT_OPTIONS], flags: ['dry-run', 'yes', 'json'], positionals: [], variadic: 'workflowId' };

/**
 * `waymark restart <workflowId>... --store <spec> --from <step> [--dry-run] [--yes] [--json]`, or
 * with `--workflow <name> [--status failed] [--version n] [--since 2h]` instead of ids:
 * `runner.restart` for each. Needs no class: the step's dependents come from each record's graph.
 * A worker on the store (or `queue.wake(id)` under BullMQ) then runs the steps again.
 */
export async function restartCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const from = args.options.get('from');
  if (from === undefined) throw new UsageError('restart needs --from <step>: the step to run again (with every step that depends on it)');
  const runner = new WorkflowRunner({ storage: await openStore(args.options.get('store')), tracer: false });
  const ids = await selectWorkflows(args, runner, 'restart');
  const json = args.flags.has('json');
  const decision = await decide(args, io, ids, `restart ${counted(ids.length, 'workflow')} from '${from}'`, 'nothing restarted');
  if (typeof decision === 'number') return decision;
  const dryRun = decision === 'dry-run';
  const { done, failures } = await eachSelected(ids, (id) => runner.restart(id, { from, dryRun }));
  if (json) println(io.stdout, JSON.stringify({ dryRun, restarted: done, failures }));
  else {
    for (const r of done) println(io.stdout, `${dryRun ? 'would restart' : 'restarted'} ${r.workflowId} (${r.status}): runs ${r.rerun.join(', ')} again${r.discarded.length === 0 ? '' : `; discards the commits of ${r.discarded.join(', ')}`}`);
    if (ids.length === 0) println(io.stdout, 'nothing to restart: no workflow matches');
    else if (!dryRun && done.length > 0) println(io.stdout, `${counted(done.length, 'workflow')} restarted: a worker on this store runs them (under BullMQ, queue.wake(id) each)`);
  }
  return reportFailures(io, failures, 'not restarted');
}
