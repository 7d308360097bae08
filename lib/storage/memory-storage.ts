/**
 * In-process storage: the default. Data lives as long as the object; leases exclude runs within
 * this process only.
 */
import { LeaseLostError, RecordConflictError, StorageError } from '../errors';
import { assertWorkflowId } from '../workflow-id';
import type { CheckpointStorage, ClearOptions } from './checkpoint-storage';
import { parseCheckpoint, parseEvent, parseRecordText, sendOrder, wakeName } from './record-format';
import { newLeaseToken } from './lease-owner';
import type { Checkpoint, Lease, LeaseAttempt, LeaseHolder, StoredEvent, StoredRecord, StoredWorkflow, WakeEntry, WorkflowRecord, EndedEntry, WorkflowStatus } from './records';

interface Entry {
  record?: string;
  version: number;
  checkpoints: Map<string, string>;
  /** Events by id, as JSON. */
  events: Map<string, string>;
}

/** Keeps records and checkpoints in memory, serialised as JSON so nothing stored aliases a live object. */
export class MemoryStorage implements CheckpointStorage {
  private readonly entries = new Map<string, Entry>();
  private readonly leases = new Map<string, Lease>();
  /** The wake index by the name that sorts it by time; kept sorted lazily (see dueWakes). */
  private readonly wakes = new Map<string, WakeEntry>();
  /** The index of ended workflows: per status, by the name that sorts it by time. */
  private readonly ended = new Map<WorkflowStatus, Map<string, EndedEntry>>();

  async load(workflowId: string): Promise<StoredWorkflow | undefined> {
    assertWorkflowId(workflowId);
    const entry = this.entries.get(workflowId);
    if (!entry || (entry.record === undefined && entry.checkpoints.size === 0)) return undefined;
    return {
      record: entry.record === undefined ? undefined : parseRecordText(workflowId, 'memory:record', entry.record),
      recordVersion: entry.record === undefined ? undefined : String(entry.version),
      committedSteps: [...entry.checkpoints.keys()],
    };
  }

  async readRecord(workflowId: string): Promise<StoredRecord | undefined> {
    assertWorkflowId(workflowId);
    const entry = this.entries.get(workflowId);
    if (entry?.record === undefined) return undefined;
    return { record: parseRecordText(workflowId, 'memory:record', entry.record), version: String(entry.version) };
  }

  async readCheckpoint(workflowId: string, step: string): Promise<Checkpoint> {
    assertWorkflowId(workflowId);
    const text = this.entries.get(workflowId)?.checkpoints.get(step);
    if (text === undefined) throw new StorageError(workflowId, 'read checkpoint', new Error('no such checkpoint'), step, `memory:${step}`);
    return parseCheckpoint(workflowId, step, `memory:${step}`, text);
  }

  async writeRecord(workflowId: string, record: WorkflowRecord, expectedVersion: string | null, lease?: Lease): Promise<string> {
    assertWorkflowId(workflowId);
    this.fence(workflowId, lease);
    const entry = this.entry(workflowId);
    const current = entry.record === undefined ? null : String(entry.version);
    if (current !== expectedVersion) throw new RecordConflictError(workflowId, 'memory:record');
    entry.record = JSON.stringify(record);
    entry.version += 1;
    return String(entry.version);
  }

  async commit(workflowId: string, checkpoint: Checkpoint, lease?: Lease): Promise<void> {
    assertWorkflowId(workflowId);
    this.fence(workflowId, lease, checkpoint.step);
    this.entry(workflowId).checkpoints.set(checkpoint.step, JSON.stringify(checkpoint));
  }

  async clear(workflowId: string, options: ClearOptions = {}): Promise<void> {
    assertWorkflowId(workflowId);
    this.fence(workflowId, options.lease);
    const entry = this.entries.get(workflowId);
    this.entries.delete(workflowId);
    if (entry) {
      const wakeAt = entry.record === undefined ? undefined : (JSON.parse(entry.record) as WorkflowRecord).wakeAt;
      if (wakeAt !== undefined) this.wakes.delete(wakeName({ workflowId, wakeAt: Date.parse(wakeAt) }, workflowId));
      const total = entry.checkpoints.size + entry.events.size + (entry.record === undefined ? 0 : 1);
      options.onProgress?.(total, total);
    }
  }

  async list(): Promise<string[]> {
    return [...this.entries.entries()].filter(([, e]) => e.record !== undefined || e.checkpoints.size > 0).map(([id]) => id).sort();
  }

  async addWake(entry: WakeEntry): Promise<void> {
    assertWorkflowId(entry.workflowId);
    this.wakes.set(wakeName(entry, entry.workflowId), { workflowId: entry.workflowId, wakeAt: Math.floor(entry.wakeAt) });
  }

  async removeWake(entry: WakeEntry): Promise<void> {
    this.wakes.delete(wakeName(entry, entry.workflowId));
  }

  async dueWakes(now: number, limit: number): Promise<WakeEntry[]> {
    // A sort of every entry: memory is for one process and tests, where that is cheap enough.
    return [...this.wakes.entries()]
      .filter(([, e]) => e.wakeAt <= now)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .slice(0, limit)
      .map(([, e]) => e);
  }

  async addEnded(entry: EndedEntry): Promise<void> {
    assertWorkflowId(entry.workflowId);
    let index = this.ended.get(entry.status);
    if (index === undefined) this.ended.set(entry.status, (index = new Map()));
    const endedAt = Math.max(0, Math.floor(entry.endedAt));
    index.set(wakeName({ workflowId: entry.workflowId, wakeAt: endedAt }, entry.workflowId), { workflowId: entry.workflowId, status: entry.status, endedAt });
  }

  async removeEnded(entry: EndedEntry): Promise<void> {
    this.ended.get(entry.status)?.delete(wakeName({ workflowId: entry.workflowId, wakeAt: entry.endedAt }, entry.workflowId));
  }

  async endedBefore(status: WorkflowStatus, before: number, limit: number): Promise<EndedEntry[]> {
    // As for wakes: a sort of the status's entries, cheap enough for one process and tests.
    return [...(this.ended.get(status)?.entries() ?? [])]
      .filter(([, e]) => e.endedAt <= before)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .slice(0, limit)
      .map(([, e]) => e);
  }

  async putEvent(workflowId: string, event: StoredEvent): Promise<boolean> {
    assertWorkflowId(workflowId);
    const entry = this.entry(workflowId);
    if (entry.events.has(event.eventId)) return false;
    entry.events.set(event.eventId, JSON.stringify(event));
    return true;
  }

  async listEvents(workflowId: string): Promise<StoredEvent[]> {
    assertWorkflowId(workflowId);
    const events = [...(this.entries.get(workflowId)?.events.values() ?? [])];
    return events.map((text) => parseEvent(workflowId, 'memory:event', text)).sort(sendOrder);
  }

  async acquireLease(workflowId: string, owner: string, ttlMs: number): Promise<LeaseAttempt> {
    assertWorkflowId(workflowId);
    const held = this.leases.get(workflowId);
    if (held && held.expiresAt > Date.now()) return { acquired: false, holder: held.owner, expiresAt: held.expiresAt };
    const lease: Lease = { workflowId, owner, token: newLeaseToken(), expiresAt: Date.now() + ttlMs };
    this.leases.set(workflowId, lease);
    return { acquired: true, lease };
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    // An expired lease nobody took over is still ours to renew; one taken over is lost.
    if (this.leases.get(lease.workflowId)?.token !== lease.token) return undefined;
    const renewed = { ...lease, expiresAt: Date.now() + ttlMs };
    this.leases.set(lease.workflowId, renewed);
    return renewed;
  }

  async readLease(workflowId: string): Promise<LeaseHolder | undefined> {
    assertWorkflowId(workflowId);
    const held = this.leases.get(workflowId);
    return held !== undefined && held.expiresAt > Date.now() ? { owner: held.owner, expiresAt: held.expiresAt } : undefined;
  }

  async releaseLease(lease: Lease): Promise<void> {
    if (this.leases.get(lease.workflowId)?.token === lease.token) this.leases.delete(lease.workflowId);
  }

  private holds(lease: Lease): boolean {
    const held = this.leases.get(lease.workflowId);
    return held !== undefined && held.token === lease.token && held.expiresAt > Date.now();
  }

  private fence(workflowId: string, lease: Lease | undefined, step?: string): void {
    if (lease && !this.holds(lease)) throw new LeaseLostError(workflowId, step);
  }

  private entry(workflowId: string): Entry {
    let entry = this.entries.get(workflowId);
    if (!entry) this.entries.set(workflowId, (entry = { version: 0, checkpoints: new Map(), events: new Map() }));
    return entry;
  }

}
