/**
 * Before any step runs: decide which stored checkpoints this run keeps, applying `resume`, the
 * input-change policy and the definition check, and write the workflow record.
 *
 * Every check that can refuse the run (`raise`, a changed definition, another workflow's data)
 * happens before the first write.
 */
import { isStepKey } from '../item-keys';
import { isoUnique } from '../iso-now';
import { CheckpointCorruptedError, InputChangedError, WorkflowDefinitionChangedError, WorkflowNotFoundError, WorkflowVersionMismatchError } from '../errors';
import { keyedStorage, StepKeys } from './versions/step-keys';
import { definitionChanges, storedSteps, type StepGraph } from '../graph';
import { decideInputChange, type InputChangePolicy } from '../input-change-policy';
import type { EncodedValue } from '../checkpoint-codec';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import type { Lease, StoredWorkflow, WorkflowRecord } from '../storage/records';
import type { RunEmitter } from './run-events';

/** What the run starts from. */
export interface PreparedRun {
  /** Steps committed earlier that this run skips. */
  readonly committed: ReadonlySet<string>;
  /** The record as stored now, and its version (for the completion write). */
  readonly record: WorkflowRecord;
  readonly recordVersion: string;
  /** The step the workflow's last run failed at, when it failed (a resume goes on from there). */
  readonly failedAt?: string;
  /** The storage as this run reads and commits its checkpoints: by step name, under the record's `stepKeys`. */
  readonly storage: CheckpointStorage;
}

export interface PrepareInput {
  readonly storage: CheckpointStorage;
  readonly graph: StepGraph;
  readonly workflowId: string;
  readonly resume: boolean;
  /** True for `runner.resume(id)`: a workflow no longer stored (cleared or pruned since) is `WorkflowNotFoundError`, not a new start. */
  readonly mustExist?: boolean;
  readonly policy: InputChangePolicy;
  /** False when no run option, decorator or runner option chose the policy (the default `'reuse'` applies). */
  readonly policyChosen: boolean;
  readonly fingerprint: string;
  /** The run's input, encoded: stored in the record so that any process can resume by id. */
  readonly input: EncodedValue;
  /** When a worker should look for this run if it dies (epoch ms): the record's wake entry while it runs. */
  readonly recoverAt: number;
  readonly lease: () => Lease;
  readonly events: RunEmitter;
  /** Told when the default policy reused checkpoints of a changed input: the runner warns. */
  readonly onImplicitReuse: (storedFingerprint: string) => void;
}

/** Applies resume, input-change policy and definition check; writes the record. */
export async function prepareCheckpoints(p: PrepareInput): Promise<PreparedRun> {
  const { storage, graph, workflowId } = p;
  // Unique in this process: events sent to a workflow name it by its creation time (`sentTo`).
  const now = isoUnique();
  const record: WorkflowRecord = {
    formatVersion: 1,
    workflowId,
    workflowName: graph.workflowName,
    version: graph.version,
    fingerprint: p.fingerprint,
    steps: storedSteps(graph),
    updatedAt: now,
    createdAt: now,
    input: p.input,
    status: 'running',
    wakeAt: new Date(p.recoverAt).toISOString(),
    // A cancel by id, from a process that may not know the class, reads here whether to compensate.
    ...(graph.compensates ? { compensates: true as const } : {}),
  };
  let stored: StoredWorkflow | undefined;
  try {
    stored = await storage.load(workflowId);
  } catch (error) {
    // A run that starts over replaces whatever is stored, readable or not: corruption must not lock
    // a workflow forever.
    if (error instanceof CheckpointCorruptedError && !p.resume) return startOver(p, record);
    throw error;
  }
  if (stored === undefined) {
    if (p.mustExist === true) throw new WorkflowNotFoundError(workflowId);
    return { committed: new Set(), record, recordVersion: await writeRecord(p, record, null), storage };
  }
  if (!p.resume) return startOver(p, record);
  // Renamed by a migration, or run again by a restart: the run sees its live checkpoints only, by step name.
  const keys = StepKeys.of(stored.record, graph.stepNames);
  const committedSteps = keys.live(stored.committedSteps);

  // Another workflow's checkpoints under this id must never be restored, whatever their step names.
  const storedName = stored.record?.workflowName;
  if (storedName !== undefined && storedName !== graph.workflowName) {
    throw new WorkflowDefinitionChangedError(workflowId, [`the stored checkpoints belong to workflow '${storedName}', this run is workflow '${graph.workflowName}'`]);
  }
  // A run is pinned to the version it started on: another version's class never runs its checkpoints.
  const storedVersion = stored.record?.version ?? 1;
  if (stored.record !== undefined && storedVersion !== graph.version) throw new WorkflowVersionMismatchError(workflowId, graph.workflowName, storedVersion, graph.version);
  const storedFingerprint = stored.record?.fingerprint;
  if (storedFingerprint !== p.fingerprint) {
    const previous = storedFingerprint ?? '(none)';
    const decision = await decideInputChange(
      p.policy,
      { workflowId, storedFingerprint: previous, currentFingerprint: p.fingerprint, committedSteps: committedSteps.filter(isStepKey) },
      `input-change policy of workflow '${workflowId}'`,
    );
    p.events.emit('input:changed', { storedFingerprint: previous, currentFingerprint: p.fingerprint, policy: decision });
    if (decision === 'raise') throw new InputChangedError(workflowId, previous, p.fingerprint);
    if (decision === 'reset') return startOver(p, record);
    if (!p.policyChosen && storedFingerprint !== undefined && committedSteps.length > 0) p.onImplicitReuse(storedFingerprint);
  }
  const changes = definitionChanges(stored.record?.steps ?? [], graph, committedSteps);
  if (changes.length > 0) throw new WorkflowDefinitionChangedError(workflowId, changes);
  const committed = new Set(committedSteps);
  const view = keyedStorage(storage, workflowId, keys);
  const failedAt = stored.record?.status === 'failed' ? stored.record.error?.step : undefined;
  if (stored.record !== undefined && stored.recordVersion !== undefined && !needsRewrite(stored.record, record)) {
    return { committed, record: stored.record, recordVersion: stored.recordVersion, storage: view };
  }
  // The workflow goes on: it keeps its creation time (records of 0.1 have none: now it is), the
  // start times its steps' startAt computed and the branches its steps' when took.
  // A workflow that compensates goes on compensating: its steps never run again.
  const compensation = stored.record?.compensation;
  const continued: WorkflowRecord = {
    ...record,
    createdAt: stored.record?.createdAt ?? record.createdAt,
    ...(stored.record?.timers === undefined ? {} : { timers: stored.record.timers }),
    ...(stored.record?.branches === undefined ? {} : { branches: stored.record.branches }),
    ...(stored.record?.polls === undefined ? {} : { polls: stored.record.polls }),
    ...(stored.record?.fanOuts === undefined ? {} : { fanOuts: stored.record.fanOuts }),
    // A child stays its parent's; a parent keeps the count of the children it started.
    ...(stored.record?.parent === undefined ? {} : { parent: stored.record.parent }),
    ...(stored.record?.children === undefined ? {} : { children: stored.record.children }),
    // Where its checkpoints are stored, and the migrations and restarts it went through (a stranded mark goes: it runs).
    ...(stored.record?.stepKeys === undefined ? {} : { stepKeys: stored.record.stepKeys }),
    ...(stored.record?.history === undefined ? {} : { history: stored.record.history }),
    ...(compensation === undefined ? {} : { compensation, status: 'compensating', error: compensation.cause }),
  };
  const recordVersion = await writeRecord(p, continued, stored.recordVersion ?? null);
  const previousWake = stored.record?.wakeAt;
  if (previousWake !== undefined && previousWake !== continued.wakeAt) await storage.removeWake({ workflowId, wakeAt: Date.parse(previousWake) });
  return { committed, record: continued, recordVersion, storage: view, ...(failedAt === undefined ? {} : { failedAt }) };
}

async function startOver(p: PrepareInput, record: WorkflowRecord): Promise<PreparedRun> {
  await p.storage.clear(p.workflowId, { lease: p.lease() });
  return { committed: new Set(), record, recordVersion: await writeRecord(p, record, null), storage: p.storage };
}

/** Writes the record, its wake entry first: a crash between leaves an extra entry, never a record without its entry. */
async function writeRecord(p: PrepareInput, record: WorkflowRecord, expectedVersion: string | null): Promise<string> {
  await p.storage.addWake({ workflowId: p.workflowId, wakeAt: p.recoverAt });
  return p.storage.writeRecord(p.workflowId, record, expectedVersion, p.lease());
}

/**
 * The record is rewritten when the fingerprint, the graph or the stored input changed, or the
 * workflow had ended (a resume after a failure or a cancel): resuming an interrupted or waiting run
 * with the same input writes nothing (a waiting one says it runs when a step starts).
 */
function needsRewrite(stored: WorkflowRecord, record: WorkflowRecord): boolean {
  return (
    stored.fingerprint !== record.fingerprint ||
    (stored.status !== 'running' && stored.status !== 'waiting') ||
    stored.createdAt === undefined ||
    stored.version !== record.version ||
    stored.stranded !== undefined ||
    JSON.stringify(stored.steps) !== JSON.stringify(record.steps) ||
    JSON.stringify(stored.input) !== JSON.stringify(record.input)
  );
}

/**
 * True when `stored` says the workflow compensated, with this very input and graph: a resume returns
 * the stored outcome without running anything.
 */
export function compensatedAlready(stored: WorkflowRecord | undefined, graph: StepGraph, fingerprint: string): stored is WorkflowRecord & { compensation: NonNullable<WorkflowRecord['compensation']> } {
  return (
    stored?.status === 'compensated' &&
    stored.compensation !== undefined &&
    stored.workflowName === graph.workflowName &&
    (stored.version ?? 1) === graph.version &&
    stored.fingerprint === fingerprint &&
    JSON.stringify(stored.steps) === JSON.stringify(storedSteps(graph))
  );
}

/**
 * True when `stored` says the workflow completed with this very input and graph: a late duplicate
 * (a queue re-delivering a finished job) may return the stored result without running anything.
 */
export function completedAlready(stored: WorkflowRecord | undefined, graph: StepGraph, fingerprint: string): stored is WorkflowRecord & { completion: NonNullable<WorkflowRecord['completion']> } {
  return (
    stored?.completion !== undefined &&
    stored.workflowName === graph.workflowName &&
    (stored.version ?? 1) === graph.version &&
    stored.fingerprint === fingerprint &&
    JSON.stringify(stored.steps) === JSON.stringify(storedSteps(graph))
  );
}
