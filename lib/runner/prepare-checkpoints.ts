/**
 * Before any step runs: decide which stored checkpoints this run keeps, applying `resume`, the
 * input-change policy and the definition check, and write the workflow record.
 *
 * Every check that can refuse the run (`raise`, a changed definition) happens before the first write.
 */
import { InputChangedError, WorkflowDefinitionChangedError } from '../errors';
import { definitionChanges, storedSteps, type StepGraph } from '../graph';
import { decideInputChange, type InputChangePolicy } from '../input-change-policy';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import type { Lease, StoredWorkflow, WorkflowRecord } from '../storage/records';
import type { RunEmitter } from './run-events';

/** What the run starts from. */
export interface PreparedRun {
  /** Steps committed earlier that this run skips. */
  readonly committed: ReadonlySet<string>;
}

export interface PrepareInput {
  readonly storage: CheckpointStorage;
  readonly graph: StepGraph;
  readonly workflowId: string;
  readonly resume: boolean;
  readonly policy: InputChangePolicy;
  readonly fingerprint: string;
  readonly lease: () => Lease;
  readonly events: RunEmitter;
}

/** Applies resume, input-change policy and definition check; writes the record. */
export async function prepareCheckpoints(p: PrepareInput): Promise<PreparedRun> {
  const { storage, graph, workflowId } = p;
  const stored = await storage.load(workflowId);
  const record: WorkflowRecord = {
    formatVersion: 1,
    workflowId,
    workflowName: graph.workflowName,
    fingerprint: p.fingerprint,
    steps: storedSteps(graph),
    updatedAt: new Date().toISOString(),
  };
  if (stored === undefined) {
    await storage.writeRecord(workflowId, record, null, p.lease());
    return { committed: new Set() };
  }
  if (!p.resume) return startOver(p, record);

  const storedFingerprint = stored.record?.fingerprint;
  if (storedFingerprint !== p.fingerprint) {
    const previous = storedFingerprint ?? '(none)';
    const decision = await decideInputChange(
      p.policy,
      { workflowId, storedFingerprint: previous, currentFingerprint: p.fingerprint, committedSteps: [...stored.committedSteps] },
      `input-change policy of workflow '${workflowId}'`,
    );
    p.events.emit('input:changed', { storedFingerprint: previous, currentFingerprint: p.fingerprint, policy: decision });
    if (decision === 'raise') throw new InputChangedError(workflowId, previous, p.fingerprint);
    if (decision === 'reset') return startOver(p, record);
  }
  const changes = definitionChanges(stored.record?.steps ?? [], graph, stored.committedSteps);
  if (changes.length > 0) throw new WorkflowDefinitionChangedError(workflowId, changes);
  if (needsRewrite(stored, record)) await storage.writeRecord(workflowId, record, stored.recordVersion ?? null, p.lease());
  return { committed: new Set(stored.committedSteps) };
}

async function startOver(p: PrepareInput, record: WorkflowRecord): Promise<PreparedRun> {
  await p.storage.clear(p.workflowId, { lease: p.lease() });
  await p.storage.writeRecord(p.workflowId, record, null, p.lease());
  return { committed: new Set() };
}

/** The record changes only when the fingerprint or the graph did: an unchanged resume writes nothing. */
function needsRewrite(stored: StoredWorkflow, record: WorkflowRecord): boolean {
  if (!stored.record) return true;
  return stored.record.fingerprint !== record.fingerprint || JSON.stringify(stored.record.steps) !== JSON.stringify(record.steps);
}
