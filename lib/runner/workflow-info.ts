/**
 * What is stored about workflows, read back for people and tools: one workflow in full
 * (`runner.get`) and pages of summaries (`runner.list`). Reads only; never takes a lease.
 */
import { decodeValue, UnencodableValue } from '../checkpoint-codec';
import { CheckpointCorruptedError, InvalidOptionError } from '../errors';
import { CANCEL_EVENT, ownEvents } from './mailbox';
import { childrenKey, sortCommitted } from '../item-keys';
import { childEventStep, shownEventName } from './children/child-events';
import { isFlowId } from './flow/flow-store';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import type { AttemptFailure, LeaseHolder, StoredCompensation, StoredError, StrandedMark, VersionChange, WorkflowRecord, WorkflowStatus } from '../storage/records';
import { keyedStorage, StepKeys } from './versions/step-keys';

/** A stored step's state. */
export interface StoredStepInfo {
  /**
   * `'committed'`: its checkpoint is stored; `'skipped'`: its checkpoint says it was skipped (its
   * `when` said no, or every dependency was skipped); `'failed'`: the last run failed on it;
   * `'waiting'`: for its timer or event; `'pending'`: none of these.
   */
  readonly status: 'committed' | 'skipped' | 'failed' | 'waiting' | 'pending';
  /** Attempts of the committing run (committed), of the failing run (failed), else 0. */
  readonly attempts: number;
  /** ISO time of the commit. */
  readonly committedAt?: string;
  /** ISO time its successful attempt started, for a committed step (checkpoints written since 0.9). */
  readonly startedAt?: string;
  /** For a committed step that was retried: what the attempt before the successful one threw (its code and message). */
  readonly lastFailure?: AttemptFailure;
  /** ISO time its compensation committed, once it has. */
  readonly compensatedAt?: string;
  /** The steps it runs after, as the stored graph says (none for a committed step the graph no longer has). */
  readonly after: readonly string[];
  /** True when the step has a branch (`@Step({ when })`), as the stored graph says. */
  readonly when?: true;
  /** True when the step is a per-item fan-out (`@Step({ forEach })`), as the stored graph says. */
  readonly forEach?: true;
  /**
   * A fan-out's progress, once its item list is committed: items in the list, committed, failed
   * (tolerated ones of a committed step, or those of the last failed run), and the rest (running
   * or not started). Read from the record and the names of committed checkpoints: no item's output
   * is read.
   */
  readonly items?: { readonly total: number; readonly committed: number; readonly failed: number; readonly remaining: number };
  /** While `'waiting'`: its timer (ISO; for an event, when the wait times out) and the event it waits for. */
  readonly waitingFor?: { readonly wakeAt?: string; readonly event?: string };
  /**
   * For a step that will be called again (it answered "not yet", or its retry waits durably): its
   * "not yet" answers so far, when it is called next (ISO), and the attempts that failed before a
   * durable retry.
   */
  readonly calls?: { readonly polls: number; readonly next: string; readonly failedAttempts?: number };
  /** With `get(id, { outputs: true })`, for a committed step: its output, decoded. */
  readonly output?: unknown;
  /** With `get(id, { outputs: true })`, for a committed step that waited for an event: the event it consumed. */
  readonly consumedEvent?: { readonly name: string; readonly eventId?: string };
}

/** An event in a workflow's mailbox, as `get(id, { events: true })` returns it. */
export interface MailboxEvent {
  readonly eventId: string;
  readonly name: string;
  /** ISO time it was sent. */
  readonly sentAt: string;
  /** Its payload, decoded. */
  readonly payload: unknown;
  /** The committed step that consumed it, if one has. */
  readonly consumedBy?: string;
}

/** Options of `runner.get()`: what to read besides the record, checkpoints' metadata and the lease. */
export interface GetOptions {
  /** Also decode each committed step's output (and the event it consumed). */
  readonly outputs?: boolean;
  /** Also read the workflow's mailbox: every event sent to it, and which step consumed each. */
  readonly events?: boolean;
  /**
   * Also find which parts of the input its fingerprint ignores (`info.ignoredInput`), by asking the
   * workflow's fingerprint strategy: needs its class registered with the runner (option `workflows`).
   */
  readonly ignoredInput?: boolean;
}

/** One stored workflow, as `runner.get(workflowId)` returns it. */
export interface WorkflowInfo<I = unknown, O = unknown> {
  readonly workflowId: string;
  /** Undefined only when checkpoints exist without a record (a clear or first write that was interrupted). */
  readonly workflowName?: string;
  /** The version of the workflow the run is pinned to (`@Workflow({ version })`; 1 for records that name none). */
  readonly version?: number;
  readonly status: WorkflowStatus;
  /** Set when a process was asked to run it and had no class for its name and version (see `WorkflowRecord.stranded`). */
  readonly stranded?: StrandedMark;
  /** The migrations and restarts it went through, oldest first. */
  readonly history?: readonly VersionChange[];
  /** The latest run's input, decoded (undefined when none was stored, as by waymark 0.1). */
  readonly input?: I;
  /** ISO time the workflow was first stored (since it was last cleared or started over). */
  readonly createdAt?: string;
  /** ISO time of the record's last write. */
  readonly updatedAt?: string;
  /** Why it failed, while `status` is `'failed'`, `'compensating'` or `'compensated'`; why it was cancelled by id (`runner.cancel`), code `WAYMARK_CANCELLED`. */
  readonly error?: StoredError;
  /** Once a step failed for good in a workflow that compensates: the cause, the committed compensations and those that failed. */
  readonly compensation?: StoredCompensation;
  /** The final step's output, once completed. */
  readonly output?: O;
  /** Every step of the stored graph (and any committed step no longer in it), by name. */
  readonly steps: Readonly<Record<string, StoredStepInfo>>;
  /** While `'waiting'`: when its earliest timer is due (ISO), and the events it waits for. */
  readonly wakeAt?: string;
  readonly waitingFor?: readonly string[];
  /** Who holds its lease now (a run in some process), and until when (ISO); absent when nobody does. */
  readonly lease?: { readonly owner: string; readonly expiresAt: string };
  /** For a child workflow (started by a step's `spawn`): its parent, the step, and its index among the step's children. */
  readonly parent?: { readonly workflowId: string; readonly step: string; readonly index: number };
  /**
   * The child workflows its spawn steps started, in list order, with their statuses (read from
   * their records, for the first {@link CHILD_STATUSES_READ}; `status` is absent past those).
   */
  readonly children?: readonly ChildInfo[];
  /** With `get(id, { events: true })`: the events sent to it, in the order steps consume them. */
  readonly events?: readonly MailboxEvent[];
  /**
   * With `get(id, { ignoredInput: true })` and the class registered: the dotted paths of the input's
   * leaves its fingerprint ignores (a change there is not an input change).
   */
  readonly ignoredInput?: readonly string[];
}

/** A child workflow as its parent's `runner.get` lists it. */
export interface ChildInfo {
  readonly step: string;
  readonly index: number;
  readonly workflowId: string;
  readonly workflowName: string;
  /** Its status now; `'running'` for one cleared since is never shown: absent then, and past the first {@link CHILD_STATUSES_READ}. */
  readonly status?: WorkflowStatus;
}

/** How many children's statuses `runner.get` reads (one record each); the rest are listed without. */
export const CHILD_STATUSES_READ = 200;

/** A workflow's status in a listing: `'corrupted'` when its record cannot be read (see `error`). */
export type ListedStatus = WorkflowStatus | 'corrupted';

/** One line of `runner.list()`: the record's summary, without input, outputs or steps. */
export interface WorkflowSummary {
  readonly workflowId: string;
  readonly workflowName?: string;
  /** The version its run is pinned to. */
  readonly version?: number;
  readonly status: ListedStatus;
  /**
   * For an unfinished workflow no process could run: the record's mark (a process was asked and had
   * no class for `missing`), or, from `runner.list`, `missing` alone when this runner registers the
   * workflow's name but not its version.
   */
  readonly stranded?: Partial<StrandedMark> & { readonly missing: string };
  readonly createdAt?: string;
  readonly updatedAt?: string;
  readonly error?: StoredError;
  /** While `'waiting'`: when its earliest timer is due (ISO), and the events it waits for. */
  readonly wakeAt?: string;
  readonly waitingFor?: readonly string[];
  /**
   * With `list({ leases: true })`, for a `'running'` or `'compensating'` workflow: who holds its lease
   * and until when. Absent then means no run holds it: the run died (a worker or a resume finishes it).
   */
  readonly lease?: { readonly owner: string; readonly expiresAt: string };
}

/** Options of `runner.list()`. */
export interface ListOptions {
  /** Only workflows in this status (or these). */
  readonly status?: ListedStatus | readonly ListedStatus[];
  /** Only workflows of this workflow name. */
  readonly workflowName?: string;
  /** Only workflows pinned to this version (records that name none are version 1). */
  readonly version?: number;
  /** Only stranded workflows (see {@link WorkflowSummary.stranded}). */
  readonly stranded?: boolean;
  /** Most items per page, 1 to 1,000; default 100. */
  readonly limit?: number;
  /** The `cursor` of the previous page. */
  readonly cursor?: string;
  /** Only workflows whose id starts with this. */
  readonly idPrefix?: string;
  /** Also read the lease of each running or compensating workflow listed (one read each), as `lease`. */
  readonly leases?: boolean;
  /**
   * Most records to read for this page (default: as many as it takes). A filtered page that reaches
   * it ends early, with fewer than `limit` items and a cursor to go on from: what keeps one request
   * short in a large store where few workflows match.
   */
  readonly maxReads?: number;
}

/** A page of {@link WorkflowSummary}, in workflow id order. */
export interface WorkflowPage {
  readonly items: readonly WorkflowSummary[];
  /** Pass it back as `cursor` for the next page; absent on the last page. */
  readonly cursor?: string;
}

/** Every status `runner.list` can filter by. */
export const LISTED_STATUSES: readonly ListedStatus[] = ['running', 'waiting', 'completed', 'failed', 'cancelled', 'compensating', 'compensated', 'corrupted'];

/** Statuses whose record says why the workflow failed, or why it was cancelled by id (`record.error`). */
const FAILED: ReadonlySet<WorkflowStatus> = new Set(['failed', 'compensating', 'compensated', 'cancelled']);

/** True for a workflow that is not finished: a worker resumes it when its wake entry is due. */
export function isUnfinished(status: WorkflowStatus | undefined): boolean {
  return status === 'running' || status === 'waiting' || status === 'compensating';
}
/** Records read at once while listing or reading steps. */
const READS_AT_ONCE = 16;

/** A record's status; records written before statuses were stored say it by their completion. */
export function statusOf(record: WorkflowRecord | undefined): WorkflowStatus {
  return record?.status ?? (record?.completion === undefined ? 'running' : 'completed');
}

function decodeStored(workflowId: string, location: string, encoded: WorkflowRecord['input'], path: string): unknown {
  try {
    return decodeValue(encoded!, path);
  } catch (error) {
    if (!(error instanceof UnencodableValue)) throw error;
    throw new CheckpointCorruptedError(workflowId, location, error.message, { cause: error });
  }
}

/** The stored workflow `workflowId` in full, or undefined when nothing is stored under it. */
export async function readWorkflowInfo(storage: CheckpointStorage, workflowId: string, options: GetOptions = {}): Promise<WorkflowInfo | undefined> {
  checkGetOptions(options);
  const loaded = await storage.load(workflowId);
  if (loaded === undefined) return undefined;
  const { record } = loaded;
  // Steps renamed by a migration, or run again by a restart, are read under the record's keys.
  const keys = StepKeys.of(record);
  storage = keyedStorage(storage, workflowId, keys);
  const stored = { ...loaded, committedSteps: keys.live(loaded.committedSteps) };
  const status = statusOf(record);
  const sorted = sortCommitted(stored.committedSteps);
  const committed = new Set(sorted.steps);
  const defined = record?.steps.map((s) => s.name) ?? [];
  const names = [...defined, ...sorted.steps.filter((n) => !defined.includes(n))];
  const [checkpoints, holder, mailbox, children] = await Promise.all([
    mapLimited([...committed], (step) => storage.readCheckpoint(workflowId, step)),
    storage.readLease(workflowId),
    options.events === true ? storage.listEvents(workflowId) : undefined,
    sorted.children.size === 0 ? undefined : childrenOf(storage, workflowId, [...sorted.children]),
  ]);
  const steps: Record<string, StoredStepInfo> = {};
  const checkpointOf = new Map(checkpoints.map((c) => [c.step, c]));
  const definedOf = new Map((record?.steps ?? []).map((s) => [s.name, s]));
  for (const name of names) {
    const checkpoint = checkpointOf.get(name);
    const compensated = record?.compensation?.done[name];
    const definition = definedOf.get(name);
    const after = definition?.after ?? [];
    const branch = { ...(definition?.when === true ? { when: true as const } : {}), ...(definition?.forEach === true ? { forEach: true as const } : {}) };
    const total = record?.fanOuts?.[name];
    const itemsCommitted = sorted.items.get(name) ?? 0;
    const itemsOf = (failed: number) => (total === undefined ? {} : { items: { total, committed: itemsCommitted, failed, remaining: Math.max(0, total - itemsCommitted - failed) } });
    if (checkpoint !== undefined) {
      steps[name] = {
        status: checkpoint.status === 'skipped' ? 'skipped' : 'committed',
        attempts: checkpoint.attempts,
        committedAt: checkpoint.committedAt,
        ...(checkpoint.startedAt === undefined ? {} : { startedAt: checkpoint.startedAt }),
        ...(checkpoint.lastFailure === undefined ? {} : { lastFailure: checkpoint.lastFailure }),
        ...(compensated === undefined ? {} : { compensatedAt: compensated.committedAt }),
        after,
        ...branch,
        ...itemsOf(checkpoint.items?.failed?.length ?? 0),
        ...(options.outputs === true ? { output: decodeStored(workflowId, `the checkpoint of step '${name}'`, checkpoint.output, 'output') } : {}),
        ...(options.outputs === true && checkpoint.event !== undefined ? { consumedEvent: checkpoint.event } : {}),
      };
    } else if (FAILED.has(status) && record?.error?.step === name) steps[name] = { status: 'failed', attempts: record.error.attempts ?? 0, after, ...branch, ...itemsOf(record.error.items?.failed ?? 0), ...callsOf(record, name) };
    else if (status === 'waiting' && record?.waiting !== undefined && Object.hasOwn(record.waiting, name)) steps[name] = { status: 'waiting', attempts: 0, after, ...branch, ...itemsOf(0), waitingFor: shownWait(record.waiting[name]!), ...callsOf(record, name) };
    else steps[name] = { status: 'pending', attempts: 0, after, ...branch, ...itemsOf(0), ...callsOf(record, name) };
  }
  let events: MailboxEvent[] | undefined;
  if (mailbox !== undefined) {
    const consumers = new Map(checkpoints.filter((c) => c.event?.eventId !== undefined).map((c) => [c.event!.eventId!, c.step]));
    // A cancel request is stored as an event of its own; the record says the workflow was cancelled.
    events = ownEvents(mailbox, record?.createdAt).filter((e) => e.name !== CANCEL_EVENT && childEventStep(e.name) === undefined).map((e) => {
      const consumedBy = consumers.get(e.eventId);
      return { eventId: e.eventId, name: e.name, sentAt: e.sentAt, payload: decodeStored(workflowId, `the payload of event '${e.eventId}'`, e.payload, 'payload'), ...(consumedBy === undefined ? {} : { consumedBy }) };
    });
  }
  return {
    workflowId,
    ...(record === undefined ? {} : { workflowName: record.workflowName, version: record.version ?? 1, updatedAt: record.updatedAt }),
    status,
    ...(record?.stranded === undefined ? {} : { stranded: record.stranded }),
    ...(record?.history === undefined ? {} : { history: record.history }),
    ...(record?.input === undefined ? {} : { input: decodeStored(workflowId, 'the input in its record', record.input, 'input') }),
    ...(record?.createdAt === undefined ? {} : { createdAt: record.createdAt }),
    ...(FAILED.has(status) && record?.error !== undefined ? { error: record.error } : {}),
    ...(record?.compensation === undefined ? {} : { compensation: record.compensation }),
    ...(record?.completion === undefined ? {} : { output: decodeStored(workflowId, 'the completion in its record', record.completion.output, 'output') }),
    steps,
    ...(status === 'waiting' && record?.wakeAt !== undefined ? { wakeAt: record.wakeAt } : {}),
    ...(status === 'waiting' ? { waitingFor: (record?.waitingFor ?? []).map(shownEventName) } : {}),
    ...(record?.parent === undefined ? {} : { parent: { workflowId: record.parent.workflowId, step: record.parent.step, index: record.parent.index } }),
    ...(children === undefined ? {} : { children }),
    ...(holder === undefined ? {} : { lease: leaseInfo(holder) }),
    ...(events === undefined ? {} : { events }),
  };
}

function checkGetOptions(options: GetOptions): void {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('get options', options, '{ outputs?, events?, ignoredInput? }');
  for (const key of ['outputs', 'events', 'ignoredInput'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') throw new InvalidOptionError(key, options[key], 'true or false');
  }
}

/** Checks `runner.list()` options. */
function checkListOptions(options: ListOptions): { statuses?: ReadonlySet<ListedStatus>; limit: number; maxReads: number } {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('list options', options, '{ status?, workflowName?, version?, stranded?, idPrefix?, limit?, cursor?, maxReads?, leases? }');
  const { limit = 100, status, cursor, workflowName, idPrefix, maxReads = Infinity } = options;
  if (idPrefix !== undefined && typeof idPrefix !== 'string') throw new InvalidOptionError('idPrefix', idPrefix, 'a string');
  if (options.leases !== undefined && typeof options.leases !== 'boolean') throw new InvalidOptionError('leases', options.leases, 'true or false');
  if (maxReads !== Infinity && (!Number.isInteger(maxReads) || maxReads < 1)) throw new InvalidOptionError('maxReads', maxReads, 'a positive integer');
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InvalidOptionError('limit', limit, 'an integer from 1 to 1000');
  if (cursor !== undefined && typeof cursor !== 'string') throw new InvalidOptionError('cursor', cursor, "the cursor of the previous page's result");
  if (workflowName !== undefined && typeof workflowName !== 'string') throw new InvalidOptionError('workflowName', workflowName, 'a workflow name');
  if (options.version !== undefined && (!Number.isInteger(options.version) || options.version < 1)) throw new InvalidOptionError('version', options.version, 'an integer >= 1');
  if (options.stranded !== undefined && typeof options.stranded !== 'boolean') throw new InvalidOptionError('stranded', options.stranded, 'true or false');
  if (status === undefined) return { limit, maxReads };
  const statuses = typeof status === 'string' ? [status] : status;
  for (const s of Array.isArray(statuses) ? statuses : [statuses]) {
    if (!LISTED_STATUSES.includes(s as ListedStatus)) throw new InvalidOptionError('status', s, LISTED_STATUSES.map((x) => `'${x}'`).join(', '));
  }
  return { statuses: new Set(statuses as readonly ListedStatus[]), limit, maxReads };
}

async function summarize(storage: CheckpointStorage, workflowId: string): Promise<WorkflowSummary> {
  let record: WorkflowRecord | undefined;
  try {
    record = (await storage.readRecord(workflowId))?.record;
  } catch (error) {
    if (!(error instanceof CheckpointCorruptedError)) throw error;
    return { workflowId, status: 'corrupted', error: { code: error.code, message: error.message } };
  }
  if (record === undefined) return { workflowId, status: 'running' };
  const status = statusOf(record);
  return {
    workflowId,
    workflowName: record.workflowName,
    version: record.version ?? 1,
    status,
    ...(record.stranded === undefined || !isUnfinished(status) ? {} : { stranded: record.stranded }),
    ...(record.createdAt === undefined ? {} : { createdAt: record.createdAt }),
    updatedAt: record.updatedAt,
    ...(FAILED.has(status) && record.error !== undefined ? { error: record.error } : {}),
    ...(status === 'waiting' && record.wakeAt !== undefined ? { wakeAt: record.wakeAt } : {}),
    ...(status === 'waiting' ? { waitingFor: (record.waitingFor ?? []).map(shownEventName) } : {}),
  };
}

/** A waiting step's wait as people are shown it. */
function shownWait(wait: { readonly wakeAt?: string; readonly event?: string }): { readonly wakeAt?: string; readonly event?: string } {
  return wait.event === undefined ? wait : { ...wait, event: shownEventName(wait.event) };
}

/** The children the spawn steps `steps` committed, with the statuses of the first {@link CHILD_STATUSES_READ}. */
async function childrenOf(storage: CheckpointStorage, workflowId: string, steps: readonly string[]): Promise<ChildInfo[]> {
  const listed: { step: string; index: number; workflowId: string; workflowName: string }[] = [];
  for (const step of steps) {
    const list = decodeStored(workflowId, `the child workflows of step '${step}'`, (await storage.readCheckpoint(workflowId, childrenKey(step))).output, 'children') as { id: string; workflow: string }[];
    list.forEach((child, index) => listed.push({ step, index, workflowId: child.id, workflowName: child.workflow }));
  }
  const statuses = await mapLimited(listed.slice(0, CHILD_STATUSES_READ), async (child) => {
    const record = (await storage.readRecord(child.workflowId).catch(() => undefined))?.record;
    return record === undefined ? undefined : statusOf(record);
  });
  return listed.map((child, i) => (statuses[i] === undefined ? child : { ...child, status: statuses[i] }));
}

/**
 * A page of stored workflows in id order, filtered by status and name. Reads the id listing and
 * then one record per id examined: a filter that matches few workflows reads many records.
 */
export async function listWorkflows(storage: CheckpointStorage, options: ListOptions = {}, registered?: (workflowName: string) => readonly number[]): Promise<WorkflowPage> {
  const { statuses, limit, maxReads } = checkListOptions(options);
  const filtered = statuses !== undefined || options.workflowName !== undefined || options.version !== undefined || options.stranded !== undefined;
  const prefix = options.idPrefix;
  // A flow-control key's document is stored as a record, but is no workflow.
  const all = (await storage.list()).filter((id) => !isFlowId(id));
  const ids = prefix === undefined || prefix === '' ? all : all.filter((id) => id.startsWith(prefix));
  const cursor = options.cursor;
  let next = cursor === undefined ? 0 : ids.findIndex((id) => id > cursor);
  if (next < 0) next = ids.length;
  const items: WorkflowSummary[] = [];
  let reads = 0;
  while (next < ids.length && items.length < limit && reads < maxReads) {
    // Unfiltered, every record read is listed: read just what fills the page. Filtered, read ahead.
    const wanted = limit - items.length;
    const size = Math.min(maxReads - reads, filtered ? Math.max(wanted, READS_AT_ONCE) : wanted);
    const batch = ids.slice(next, next + size);
    reads += batch.length;
    const summaries = await mapLimited(batch, async (id) => withStranded(await summarize(storage, id), registered));
    for (const summary of summaries) {
      next++;
      const matches =
        (statuses === undefined || statuses.has(summary.status)) &&
        (options.workflowName === undefined || summary.workflowName === options.workflowName) &&
        (options.version === undefined || summary.version === options.version) &&
        (options.stranded === undefined || (summary.stranded !== undefined) === options.stranded);
      if (matches) items.push(summary);
      if (items.length === limit) break;
    }
  }
  const listed = options.leases === true ? await mapLimited(items, (item) => withLease(storage, item)) : items;
  // The cursor is the last id examined: the next page starts after it.
  return next < ids.length ? { items: listed, cursor: ids[next - 1]! } : { items: listed };
}

/**
 * `summary` marked stranded when it is unfinished and the listing runner registers its name in
 * other versions only (`registered` gives the versions it has; a name it lacks altogether is
 * another process's business, not a sign of a stranded run).
 */
function withStranded(summary: WorkflowSummary, registered: ((workflowName: string) => readonly number[]) | undefined): WorkflowSummary {
  if (summary.stranded !== undefined || registered === undefined || summary.workflowName === undefined || !isUnfinished(summary.status as WorkflowStatus)) return summary;
  const versions = registered(summary.workflowName);
  return versions.length === 0 || versions.includes(summary.version ?? 1) ? summary : { ...summary, stranded: { missing: `${summary.workflowName}@${summary.version ?? 1}` } };
}

/** `item` with its lease, when it is unfinished and a run holds it. */
async function withLease(storage: CheckpointStorage, item: WorkflowSummary): Promise<WorkflowSummary> {
  if (item.status !== 'running' && item.status !== 'compensating') return item;
  const holder = await storage.readLease(item.workflowId);
  return holder === undefined ? item : { ...item, lease: leaseInfo(holder) };
}

/** A lease holder as readers are shown it: who, and until when (ISO). */
function leaseInfo(holder: LeaseHolder): { readonly owner: string; readonly expiresAt: string } {
  return { owner: holder.owner, expiresAt: new Date(holder.expiresAt).toISOString() };
}

/** `map` over `items` with at most {@link READS_AT_ONCE} calls in flight, results in order. */
async function mapLimited<T, R>(items: readonly T[], map: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const work = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) results[i] = await map(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(READS_AT_ONCE, items.length) }, work));
  return results;
}

/** A step's stored next call, as `get()` shows it; nothing for a step that has none. */
function callsOf(record: WorkflowRecord | undefined, step: string): { calls?: StoredStepInfo['calls'] } {
  const poll = record?.polls?.[step];
  if (poll === undefined) return {};
  return { calls: { polls: poll.count, next: poll.next, ...(poll.attempts === undefined ? {} : { failedAttempts: poll.attempts }) } };
}
