import { parseDuration } from '../../duration';
import { InvalidOptionError } from '../../errors';
import type { PrunableStatus } from '../../runner/prune';
import { WorkflowRunner } from '../../runner/workflow-runner';
import { listOption, UsageError, type CommandSpec, type ParsedArgs } from '../args';
import { canAsk, confirm } from '../confirm';
import { println, type CliIo } from '../io';
import { progressReporter } from '../progress';
import { openStore } from '../store';

/** What `waymark prune` accepts. */
export const pruneSpec: CommandSpec = { valued: ['store', 'older-than', 'status'], flags: ['dry-run', 'yes', 'json'], positionals: [] };

/**
 * `waymark prune --store <spec> --older-than <duration> [--status <status>[,...]] [--dry-run] [--yes] [--json]`:
 * deletes whole workflows that ended (default: completed or compensated) longer ago than the
 * duration. Counts them first; asks on a terminal, and elsewhere refuses without `--yes`, like
 * `clear`. Each is deleted under its lease: a workflow a run holds is kept and reported.
 */
export async function pruneCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const olderThan = args.options.get('older-than');
  if (olderThan === undefined) throw new UsageError("prune needs --older-than (e.g. '30d', '12h')");
  try {
    parseDuration('--older-than', /^\d+$/.test(olderThan) ? Number(olderThan) : olderThan);
  } catch (error) {
    if (error instanceof InvalidOptionError) throw new UsageError(error.message);
    throw error;
  }
  const statuses = listOption<PrunableStatus>(args, 'status', ['completed', 'failed', 'cancelled', 'compensated'], ': running, waiting and compensating workflows are never pruned') ?? ['completed', 'compensated'];
  const storage = await openStore(args.options.get('store'));
  const runner = new WorkflowRunner({ storage, tracer: false });
  const json = args.flags.has('json');
  // Numbers are milliseconds, as in runner.prune; anything else is a duration string ('30d').
  const options = { olderThan: /^\d+$/.test(olderThan) ? Number(olderThan) : olderThan, status: statuses };
  const found = await runner.prune({ ...options, dryRun: true });
  const what = (n: number) => `${n} ${statuses.join(', ')} ${n === 1 ? 'workflow' : 'workflows'} that ended before ${found.cutoff}`;
  if (args.flags.has('dry-run') || found.workflowIds.length === 0) {
    if (json) println(io.stdout, JSON.stringify({ dryRun: true, cutoff: found.cutoff, workflowIds: found.workflowIds }));
    else {
      for (const id of found.workflowIds) println(io.stdout, id);
      println(io.stdout, found.workflowIds.length === 0 ? `nothing to prune: no ${statuses.join(', ')} workflow ended before ${found.cutoff}` : `would prune ${what(found.workflowIds.length)}`);
    }
    return 0;
  }
  if (!args.flags.has('yes')) {
    if (!canAsk(io)) {
      println(io.stderr, `refusing to prune ${what(found.workflowIds.length)} without --yes when not on a terminal (--dry-run lists them)`);
      return 2;
    }
    if (!(await confirm(io, `Prune ${what(found.workflowIds.length)}? [y/N] `))) {
      println(io.stderr, 'nothing pruned');
      return 1;
    }
  }
  const progress = progressReporter(io.stderr, 'pruning');
  let result;
  try {
    // The count found first is the progress's total; workflows that ended meanwhile are pruned too.
    result = await runner.prune({ ...options, onProgress: (count) => progress.update(count, Math.max(count, found.workflowIds.length)) });
  } finally {
    progress.finish();
  }
  const failures = result.failures.map((f) => ({ workflowId: f.workflowId, error: f.error instanceof Error ? f.error.message : String(f.error) }));
  if (json) println(io.stdout, JSON.stringify({ dryRun: false, cutoff: result.cutoff, workflowIds: result.workflowIds, busy: result.busy, failures }));
  else {
    println(io.stdout, `pruned ${what(result.workflowIds.length)}`);
    if (result.busy.length > 0) println(io.stdout, `kept ${result.busy.length} a run holds now (the next prune takes them): ${result.busy.join(', ')}`);
  }
  for (const failure of failures) println(io.stderr, `could not prune '${failure.workflowId}' (kept; the next prune tries again): ${failure.error}`);
  return failures.length === 0 ? 0 : 1;
}
