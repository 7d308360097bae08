import { CheckpointCorruptedError } from '../../errors';
import { WorkflowRunner } from '../../runner/workflow-runner';
import { defaultLeaseOwner } from '../../storage/lease-owner';
import { UsageError, type CommandSpec, type ParsedArgs } from '../args';
import { canAsk, confirm } from '../confirm';
import { println, type CliIo } from '../io';
import { progressReporter } from '../progress';
import { openStore } from '../store';

/** What `waymark clear` accepts. */
export const clearSpec: CommandSpec = { valued: ['store'], flags: ['yes', 'json'], positionals: ['workflowId'] };

/**
 * `waymark clear <workflowId> --store <spec> [--yes] [--json]`: deletes a workflow's checkpoints and
 * record. Asks first on a terminal; elsewhere refuses without `--yes`. Takes the workflow's lease, so a
 * running workflow is never cleared under its feet.
 */
export async function clearCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const workflowId = args.positionals[1];
  if (workflowId === undefined) throw new UsageError('clear needs a workflow id');
  const storage = await openStore(args.options.get('store'));
  // A corrupted record must not keep a workflow from being cleared: count what can be counted.
  const stored = await storage.load(workflowId).catch((error: unknown) => {
    if (error instanceof CheckpointCorruptedError) return { committedSteps: [], corrupted: error };
    throw error;
  });
  const count = stored?.committedSteps.length ?? 0;
  if (stored === undefined) {
    if (args.flags.has('json')) println(io.stdout, JSON.stringify({ workflowId, cleared: false, checkpoints: 0 }));
    else println(io.stdout, `nothing stored for '${workflowId}'`);
    return 0;
  }
  if (!args.flags.has('yes')) {
    if (!canAsk(io)) {
      println(io.stderr, `refusing to clear '${workflowId}' without --yes when not on a terminal`);
      return 2;
    }
    const what = 'corrupted' in stored ? 'its record is corrupted' : `${count} checkpoint${count === 1 ? '' : 's'}`;
    if (!(await confirm(io, `Clear workflow '${workflowId}' (${what})? [y/N] `))) {
      println(io.stderr, 'not cleared');
      return 1;
    }
  }
  // The runner's clear takes the lease, so a running workflow is never cleared under its feet.
  const runner = new WorkflowRunner({ storage, tracer: false, owner: `waymark clear (${defaultLeaseOwner()})` });
  const progress = progressReporter(io.stderr, `clearing ${workflowId}`);
  try {
    await runner.clear(workflowId, { onProgress: progress.update });
  } finally {
    progress.finish();
  }
  if (args.flags.has('json')) println(io.stdout, JSON.stringify({ workflowId, cleared: true, checkpoints: count }));
  else println(io.stdout, `cleared '${workflowId}' (${count} checkpoint${count === 1 ? '' : 's'})`);
  return 0;
}
