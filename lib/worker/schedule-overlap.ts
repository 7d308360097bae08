/**
 * `overlap: 'skip'` across every worker on a store: a slot starts only when no earlier run of its
 * schedule is unfinished. A slot that is skipped is decided once and committed: its record says
 * `'cancelled'` (`WAYMARK_SLOT_SKIPPED`) and names the unfinished run (`skippedFor`), so the next
 * slot looks at that run, not at a slot that left nothing behind.
 */
import { isoNow } from '../iso-now';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import type { Lease, WorkflowRecord } from '../storage/records';
import { isUnfinished, statusOf } from '../runner/workflow-info';

/** How long a worker holds a slot's lease while it decides whether the slot runs. */
const DECIDE_LEASE_MS = 30_000;

/** Code in a skipped slot's record. */
export const SLOT_SKIPPED = 'WAYMARK_SLOT_SKIPPED';

/**
 * The unfinished run that keeps slot `slotId` from starting, if any: the previous slot's run, or
 * the run a skipped previous slot named. A run counts as unfinished while its record says so, and
 * while a worker holds its lease (it is being started, before its record is written).
 */
async function blocker(storage: CheckpointStorage, previousId: string): Promise<string | undefined> {
  const previous = (await storage.readRecord(previousId))?.record;
  const runId = previous?.skippedFor ?? previousId;
  const run = previous?.skippedFor === undefined ? previous : (await storage.readRecord(runId))?.record;
  if (run !== undefined && isUnfinished(statusOf(run))) return runId;
  if (run === undefined && (await storage.readLease(runId)) !== undefined) return runId;
  return undefined;
}

/** What {@link decideSlot} decided. */
export type SlotDecision = 'run' | 'skipped' | 'taken';

/**
 * Decides slot `slotId` of a schedule whose previous slot is `previousId`, under the slot's lease:
 * `'taken'` when another worker decides or ran it already, `'skipped'` (committed in the slot's
 * record) when an earlier run is unfinished, else `'run'`.
 */
export async function decideSlot(storage: CheckpointStorage, slotId: string, previousId: string | undefined, workflowName: string, owner: string): Promise<SlotDecision> {
  const attempt = await storage.acquireLease(slotId, owner, DECIDE_LEASE_MS);
  if (!attempt.acquired) return 'taken';
  try {
    if ((await storage.readRecord(slotId)) !== undefined) return 'taken';
    const unfinished = previousId === undefined ? undefined : await blocker(storage, previousId);
    if (unfinished === undefined) return 'run';
    const record = skippedRecord(slotId, workflowName, unfinished);
    // Its entry first, like every ended workflow's: retention deletes skipped slots too.
    await storage.addEnded({ workflowId: slotId, status: 'cancelled', endedAt: Date.parse(record.endedAt!) });
    await storage.writeRecord(slotId, record, null, attempt.lease);
    return 'skipped';
  } finally {
    await release(storage, attempt.lease);
  }
}

function skippedRecord(slotId: string, workflowName: string, unfinished: string): WorkflowRecord {
  const now = isoNow();
  return {
    formatVersion: 1,
    workflowId: slotId,
    workflowName,
    fingerprint: '',
    steps: [],
    updatedAt: now,
    createdAt: now,
    status: 'cancelled',
    error: { code: SLOT_SKIPPED, message: `skipped: the run of '${unfinished}' was unfinished (overlap: 'skip')` },
    skippedFor: unfinished,
    endedAt: now,
  };
}

async function release(storage: CheckpointStorage, lease: Lease): Promise<void> {
  // A lease left behind expires on its own; the slot's run waits for it at most DECIDE_LEASE_MS.
  await storage.releaseLease(lease).catch(() => undefined);
}
