/**
 * A step that starts child workflows (`@Step({ spawn })`), before its method runs: the children are
 * listed once and committed, started exactly once, and waited for without a lease. Their outcomes
 * come as events in the parent's namespace (see `child-events.ts`); the step's method runs once every
 * child ended, with their outputs.
 */
import { decodeValue } from '../../checkpoint-codec';
import { ChildWorkflowFailedError, type ChildFailureInfo } from '../../errors';
import { childrenKey } from '../../item-keys';
import type { WorkflowRecord } from '../../storage/records';
import type { Mailbox } from '../mailbox';
import { RunRecord } from '../run-record';
import type { StepShapeRun } from '../step-shape';
import type { StepContext } from '../step-context';
import { isUnfinished, statusOf } from '../workflow-info';
import { childEventName, readOutcome, type ChildOutcome } from './child-events';
import { childList, type StoredChild } from './child-list';
import { ensureEntry, startChildren, type StartDeps } from './start-children';

/**
 * How often a parent waiting for children reads the records of those it has heard nothing from: a
 * safety net (a child cleared before it ended, an outcome lost with a store's data). Each child's end
 * wakes the parent; this costs one read per such child each time.
 */
export const CHILD_RECHECK_MS = 5 * 60_000;

/** The children of a spawn step once every one ended: their outputs, and those that did not complete. */
export interface SpawnedChildren {
  readonly children: readonly unknown[];
  readonly failures: readonly ChildFailureInfo[];
}

/** What a spawn step decided: its method runs (`'open'`), or the step waits (the run state says so), failed, or was cancelled. */
export type SpawnGate = ({ readonly kind: 'open' } & SpawnedChildren) | { readonly kind: 'waiting' } | { readonly kind: 'failed'; readonly error: unknown } | { readonly kind: 'cancelled' };

/** What starting children needs of the runner, made once per runner. */
export type SpawnDeps = StartDeps & { readonly registered: (workflowName: string) => boolean };

/** What a spawn step needs of its run. */
export interface SpawnRun extends StepShapeRun {
  readonly deps: SpawnDeps;
  readonly mailbox: Mailbox;
  readonly committed: ReadonlySet<string>;
  /** The workflow's creation time: what its children's parent links name. */
  readonly createdAt: string;
  /** True when the workflow's last run failed at this step: its failed children are resumed. */
  readonly retrying: boolean;
  /** The step's context for `spawn` and `forEach` (`attempt` 0). */
  readonly context: (item?: { value: unknown; index: number }) => StepContext;
  /** Told when the next recheck is due, ISO, so the run stores it if the step waits. */
  readonly onTimer: (at: string) => void;
}

/** Lists, starts and collects the step's children; see {@link SpawnGate}. Never rejects. */
export async function passSpawn(s: SpawnRun): Promise<SpawnGate> {
  try {
    const { node, record } = s;
    const children = await childList({ ...s, committed: s.committed.has(childrenKey(node.name)), registered: s.deps.registered });
    if (s.inFlight.signal.aborted) return { kind: 'cancelled' };
    const started = record.current.children?.[node.name]?.started === true;
    if (!started) {
      await record.markRunning(s.recoverAt());
      // Counted before any starts: a cancel of this workflow finds them, whatever happens next.
      if (record.current.children?.[node.name]?.count !== children.length) await record.countChildren(node.name, children.length, false);
      await startChildren(s.deps, { workflowId: s.workflowId, createdAt: s.createdAt }, node, children, s.inFlight.signal);
      if (s.inFlight.signal.aborted) return { kind: 'cancelled' };
      // Started once every child is stored: until then, each run starts those missing.
      await record.countChildren(node.name, children.length, true);
    }
    const outcomes = await collect(s, children, !started);
    if (s.inFlight.signal.aborted) return { kind: 'cancelled' };
    const ended = outcomes.filter((o) => o !== undefined).length;
    if (ended < children.length) {
      const stored = started ? record.current.timers?.[node.name] : undefined;
      const wakeAt = stored === undefined || Date.parse(stored) <= Date.now() ? Date.now() + CHILD_RECHECK_MS : Date.parse(stored);
      const at = new Date(wakeAt).toISOString();
      s.onTimer(at);
      s.state.wait(node.index, at, childEventName(node.name));
      s.events.emit('step:waiting', { step: node.name, wakeAt: at, children: { ended, total: children.length } });
      return { kind: 'waiting' };
    }
    const failures: ChildFailureInfo[] = [];
    const outputs = outcomes.map((o) => {
      if (o!.status === 'completed') return o!.output;
      failures.push({ index: o!.index, childId: o!.id, status: o!.status, code: o!.error?.code ?? 'WAYMARK_CHILD_FAILED', message: o!.error?.message ?? o!.status });
      return undefined;
    });
    if (failures.length > 0 && node.spawn!.childFailure === 'fail') return { kind: 'failed', error: new ChildWorkflowFailedError(s.workflowId, node.name, children.length, failures) };
    return { kind: 'open', children: outputs, failures };
  } catch (error) {
    return { kind: 'failed', error };
  }
}

/**
 * Each child's outcome, or undefined while it has not ended. Read from the outcome events; a child
 * whose last outcome is not a completion is read again (it may run again: resumed by hand, or by
 * this parent's retry). With `recheck` due, or just started, children not heard from are read too.
 */
async function collect(s: SpawnRun, children: readonly StoredChild[], justStarted: boolean): Promise<(ChildOutcome | undefined)[]> {
  const outcomes: (ChildOutcome | undefined)[] = new Array(children.length).fill(undefined);
  for (const event of await s.mailbox.takeAll(childEventName(s.node.name))) {
    const outcome = readOutcome(event);
    if (outcome !== undefined && children[outcome.index]?.id === outcome.id) outcomes[outcome.index] = outcome;
  }
  const stored = s.record.current.timers?.[s.node.name];
  const recheck = !justStarted && (stored === undefined || Date.parse(stored) <= Date.now());
  const toRead: number[] = [];
  for (let index = 0; index < children.length; index++) {
    const outcome = outcomes[index];
    if (outcome === undefined ? recheck : outcome.status !== 'completed') toRead.push(index);
  }
  let next = 0;
  const reader = async () => {
    while (next < toRead.length) {
      const index = toRead[next++]!;
      outcomes[index] = await readChild(s, children[index]!, index, outcomes[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, toRead.length) }, reader));
  return outcomes;
}

/** One child's outcome from its record (resuming it first if this parent retries it); undefined while it runs or waits. */
async function readChild(s: SpawnRun, child: StoredChild, index: number, heard: ChildOutcome | undefined): Promise<ChildOutcome | undefined> {
  const stored = await s.storage.readRecord(child.id);
  const record = stored?.record;
  if (record === undefined) return { index, id: child.id, status: 'failed', error: { code: 'WAYMARK_CHILD_NOT_FOUND', message: `child workflow '${child.id}' was cleared before its parent heard how it ended` } };
  const link = record.parent;
  const own = link !== undefined && link.workflowId === s.workflowId && link.step === s.node.name && link.index === index && link.createdAt === s.createdAt;
  if (!own) return heard ?? { index, id: child.id, status: 'failed', error: { code: 'WAYMARK_CHILD_NOT_FOUND', message: `the workflow under child id '${child.id}' is no longer this parent's child` } };
  const status = statusOf(record);
  if (isUnfinished(status)) {
    // Waiting for a run that is due: its entry is made sure of, and the workers told.
    await ensureEntry(s.storage, record);
    if (status === 'waiting' && record.wakeAt !== undefined && Date.parse(record.wakeAt) <= Date.now()) await s.deps.announce(child.id);
    return undefined;
  }
  if (status === 'failed' && s.retrying && (await retryChild(s, child.id))) return undefined;
  return fromRecord(record, index);
}

/** A child's outcome as its ended record says it. */
function fromRecord(record: WorkflowRecord, index: number): ChildOutcome {
  const status = statusOf(record);
  if (status === 'completed') {
    return { index, id: record.workflowId, status, output: record.completion === undefined ? undefined : decodeOutput(record) };
  }
  return { index, id: record.workflowId, status, ...(record.error === undefined ? {} : { error: { code: record.error.code, message: record.error.message } }) };
}

function decodeOutput(record: WorkflowRecord): unknown {
  return decodeValue(record.completion!.output);
}

/** Resumes a failed child, as `runner.resume` would: it waits again with an entry due now. False when a run holds it. */
async function retryChild(s: SpawnRun, childId: string): Promise<boolean> {
  const { storage } = s;
  const attempt = await storage.acquireLease(childId, s.deps.owner, 60_000);
  if (!attempt.acquired) return true;
  try {
    const stored = await storage.readRecord(childId);
    if (stored === undefined || statusOf(stored.record) !== 'failed') return stored !== undefined && isUnfinished(statusOf(stored.record));
    const record = new RunRecord(storage, childId, stored.record, stored.version, () => attempt.lease);
    await record.wait({ wakeAt: Date.now(), waiting: {}, waitingFor: [], timers: {} });
  } finally {
    await storage.releaseLease(attempt.lease).catch(() => undefined);
  }
  // An entry due now once the lease is free: a worker that found the child busy a moment ago moved its
  // entry to the lease's expiry (a minute on), which would leave the retried child waiting that long.
  await storage.addWake({ workflowId: childId, wakeAt: Date.now() });
  await s.deps.announce(childId);
  return true;
}
