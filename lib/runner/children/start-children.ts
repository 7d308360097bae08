/**
 * Starting a spawn step's children exactly once: each child's record is written only if none is
 * there ("create, don't replace"), with its wake entry first, so whichever process or worker takes
 * the entry runs it. A run that dies half-way starts them again: those stored already are left as
 * they are, so no child is ever started twice.
 */
import { encodeValue } from '../../checkpoint-codec';
import { ChildIdTakenError, RecordConflictError } from '../../errors';
import { buildGraph, storedSteps, type StepNode } from '../../graph';
import { isoUnique } from '../../iso-now';
import type { Constructor } from '../../metadata';
import type { CheckpointStorage } from '../../storage/checkpoint-storage';
import type { ParentLink, WorkflowRecord } from '../../storage/records';
import { isUnfinished, statusOf } from '../workflow-info';
import type { WorkflowRunnerOptions } from '../runner-options';
import { fingerprintOf } from '../run-input';
import type { WorkflowRegistry } from '../workflow-registry';
import { defaultLeaseOwner } from '../../storage/lease-owner';
import type { StoredChild } from './child-list';

/** Children started at once: each is a few small writes. */
const STARTS_AT_ONCE = 16;

/** How long the lease of an ended workflow that a child replaces is held: a clear and a write. */
const REPLACE_LEASE_MS = 60_000;

/** What starting children needs of its runner. */
export interface StartDeps {
  readonly storage: CheckpointStorage;
  readonly owner: string;
  /** The class registered under a workflow name. */
  classOf(workflowName: string, workflowId: string): Constructor;
  /** The fingerprint a run of `target` with `input` would store (its own strategy). */
  fingerprint(target: Constructor, workflowId: string, input: unknown): Promise<string>;
  /** Tells this process's workers, and other processes' where the store can, that `workflowId` is due now. */
  announce(workflowId: string): Promise<void>;
}

/** What starting children needs, from a runner's storage, options and registry; `announce` tells the workers. */
export function childStarts(storage: CheckpointStorage, options: WorkflowRunnerOptions, registry: WorkflowRegistry, announce: (workflowId: string) => Promise<void>): StartDeps & { registered: (workflowName: string) => boolean } {
  return {
    storage,
    owner: `spawn (${options.owner ?? defaultLeaseOwner()})`,
    registered: (name) => registry.has(name),
    classOf: (name, id) => registry.instance(id, name).constructor as Constructor,
    fingerprint: (target, id, input) => fingerprintOf(target, options, id, input),
    announce,
  };
}

/** Starts every child of `children` not started yet (see the module's comment). Throws `ChildIdTakenError` for an id another unfinished workflow holds. */
export async function startChildren(d: StartDeps, parent: { workflowId: string; createdAt: string }, node: StepNode, children: readonly StoredChild[], signal: AbortSignal): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < children.length && !signal.aborted) {
      const index = next++;
      const link: ParentLink = { workflowId: parent.workflowId, step: node.name, index, createdAt: parent.createdAt };
      await startChild(d, children[index]!, link);
      // Announced even when an earlier run stored it: that run may have died before it told the workers (a queue has no wake index).
      await d.announce(children[index]!.id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(STARTS_AT_ONCE, children.length) }, worker));
}

/** True when this call stored the child (false: it was stored already, by this parent). */
async function startChild(d: StartDeps, child: StoredChild, link: ParentLink): Promise<boolean> {
  const { storage } = d;
  const target = d.classOf(child.workflow, child.id);
  const graph = buildGraph(target);
  const now = isoUnique();
  const wakeAt = Date.now();
  const record: WorkflowRecord = {
    formatVersion: 1,
    workflowId: child.id,
    workflowName: graph.workflowName,
    // A child runs on the newest version registered when it starts, and is pinned to it from then on.
    version: graph.version,
    fingerprint: await d.fingerprint(target, child.id, child.input),
    steps: storedSteps(graph),
    updatedAt: now,
    createdAt: now,
    input: encodeValue(child.input, 'input'),
    status: 'waiting',
    wakeAt: new Date(wakeAt).toISOString(),
    waitingFor: [],
    waiting: {},
    parent: link,
    ...(graph.compensates ? { compensates: true as const } : {}),
  };
  // The record first, then its entry: a worker that found the entry before the record would drop it
  // as a cleared workflow's. A crash between is mended by the parent's next run, which starts the
  // children again (see below) until it has counted them all.
  try {
    await storage.writeRecord(child.id, record, null);
    await storage.addWake({ workflowId: child.id, wakeAt });
    return true;
  } catch (error) {
    if (!(error instanceof RecordConflictError)) throw error;
  }
  const stored = (await storage.readRecord(child.id))?.record;
  const owner = stored?.parent;
  if (owner !== undefined && owner.workflowId === link.workflowId && owner.step === link.step && owner.index === link.index && owner.createdAt === link.createdAt) {
    // Started by an earlier run of this parent: never a second time; its entry is made sure of.
    await ensureEntry(storage, stored!);
    return false;
  }
  const status = statusOf(stored);
  if (stored === undefined || isUnfinished(status)) {
    const holder = owner === undefined ? `workflow '${stored?.workflowName ?? '?'}' (status ${status})` : `a child of '${owner.workflowId}', step '${owner.step}' (status ${status})`;
    throw new ChildIdTakenError(link.workflowId, link.step, child.id, holder);
  }
  // An ended workflow under the id (an earlier parent's child, since cleared): replaced, under its lease.
  const attempt = await storage.acquireLease(child.id, d.owner, REPLACE_LEASE_MS);
  if (!attempt.acquired) throw new ChildIdTakenError(link.workflowId, link.step, child.id, `a run of '${attempt.holder}'`);
  try {
    await storage.clear(child.id, { lease: attempt.lease });
    await storage.writeRecord(child.id, record, null, attempt.lease);
    await storage.addWake({ workflowId: child.id, wakeAt });
  } finally {
    await storage.releaseLease(attempt.lease).catch(() => undefined);
  }
  // Once more with the lease free: a worker that found the id busy meanwhile moved its entry to the lease's expiry.
  await storage.addWake({ workflowId: child.id, wakeAt });
  return true;
}

/**
 * Adds the wake entry a child's record names when the child waits for its first run (or a timer
 * that is due): a process that died between writing the record and its entry left it without one.
 * Adding an entry that is there changes nothing.
 */
export async function ensureEntry(storage: CheckpointStorage, record: WorkflowRecord): Promise<void> {
  if (statusOf(record) === 'waiting' && record.wakeAt !== undefined && Date.parse(record.wakeAt) <= Date.now()) await storage.addWake({ workflowId: record.workflowId, wakeAt: Date.parse(record.wakeAt) });
}
