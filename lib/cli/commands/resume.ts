import { counted } from '../../counted';
import { WorkflowRunner } from '../../runner/workflow-runner';
import type { CommandSpec, ParsedArgs } from '../args';
import { println, type CliIo } from '../io';
import { decide, eachSelected, reportFailures, selectWorkflows, SELECT_OPTIONS } from '../select';
import { openStore } from '../store';

/** What `waymark resume` accepts: ids, or filters. */
export const resumeSpec: CommandSpec = { valued: ['store', ...SELECT_OPTIONS], flags: ['dry-run', 'yes', 'json'], positionals: [], variadic: 'workflowId' };

/**
 * `waymark resume <workflowId>... --store <spec> [--dry-run] [--yes] [--json]`, or with
 * `--workflow <name> [--status failed] [--version n] [--since 2h]` instead of ids:
 * `runner.requestResume` for each. Needs no class: the request is stored, and the next worker that
 * has the class resumes it at once (a failed one retries its failed step).
 */
export async function resumeCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const runner = new WorkflowRunner({ storage: await openStore(args.options.get('store')), tracer: false });
  const ids = await selectWorkflows(args, runner, 'resume');
  const decision = await decide(args, io, ids, `resume ${counted(ids.length, 'workflow')}`, 'nothing resumed');
  if (typeof decision === 'number') return decision;
  const dryRun = decision === 'dry-run';
  const { done, failures } = await eachSelected(ids, (id) => runner.requestResume(id, { dryRun }));
  if (args.flags.has('json')) println(io.stdout, JSON.stringify({ dryRun, resumed: done, failures }));
  else {
    for (const r of done) {
      if (r.outcome === 'requested') println(io.stdout, `${dryRun ? 'would request' : 'requested'} a run of ${r.workflowId} (${r.status})`);
      else println(io.stdout, `not resumed: ${r.workflowId} ${r.outcome === 'running' ? 'is running now' : `has ${r.status} already`}`);
    }
    if (ids.length === 0) println(io.stdout, 'nothing to resume: no workflow matches');
    else if (done.some((r) => r.outcome === 'requested')) {
      const requested = counted(done.filter((r) => r.outcome === 'requested').length, 'run');
      println(io.stdout, dryRun ? `${requested} would be requested (--yes asks for them)` : `${requested} requested: the next worker that has their class runs them (under BullMQ, queue.wake(id) each)`);
    }
  }
  return reportFailures(io, failures, 'not resumed');
}
