import { WaymarkError } from '../../errors';
import type { RestartResult } from '../../runner/versions/restart';
import { WorkflowRunner } from '../../runner/workflow-runner';
import { UsageError, type CommandSpec, type ParsedArgs } from '../args';
import { println, type CliIo } from '../io';
import { mayProceed, selectWorkflows, SELECT_OPTIONS } from '../select';
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
  const decision = await mayProceed(args, io, ids, `restart ${ids.length} workflow(s) from '${from}'`);
  if (decision === 'refused') return 2;
  if (decision === 'declined') {
    println(io.stderr, 'nothing restarted');
    return 1;
  }
  const dryRun = decision === 'dry-run';
  const done: RestartResult[] = [];
  const failures: { workflowId: string; code: string; error: string }[] = [];
  for (const id of ids) {
    try {
      done.push(await runner.restart(id, { from, dryRun }));
    } catch (error) {
      failures.push({ workflowId: id, code: error instanceof WaymarkError ? error.code : 'WAYMARK_CLI_ERROR', error: error instanceof Error ? error.message : String(error) });
    }
  }
  if (json) println(io.stdout, JSON.stringify({ dryRun, restarted: done, failures }));
  else {
    for (const r of done) println(io.stdout, `${dryRun ? 'would restart' : 'restarted'} ${r.workflowId} (${r.status}): runs ${r.rerun.join(', ')} again${r.discarded.length === 0 ? '' : `; discards the commits of ${r.discarded.join(', ')}`}`);
    if (ids.length === 0) println(io.stdout, 'nothing to restart: no workflow matches');
    else if (!dryRun && done.length > 0) println(io.stdout, `${done.length} workflow(s) restarted: a worker on this store runs them (under BullMQ, queue.wake(id) each)`);
  }
  for (const f of failures) println(io.stderr, `not restarted: ${f.code}: ${f.error}`);
  return failures.length === 0 ? 0 : 1;
}
