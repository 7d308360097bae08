/**
 * Checkpoints in an S3 bucket, shared by workers on many machines.
 *
 * Key layout (names encoded with `encodeSegment`; the `/` after the id means no workflow's keys are a
 * prefix of another's):
 * ```
 * <prefix>/~workflows/<workflow id>/record.json        fingerprint + graph, written conditionally
 * <prefix>/~workflows/<workflow id>/steps/<step>.json  one object per committed step
 * <prefix>/~workflows/<workflow id>/lease.json         the exclusive-run lease, while a run holds it
 * <prefix>/~workflows/<workflow id>/events/<id>.json   events sent to it, created once (If-None-Match)
 * <prefix>/~wakes/<epoch ms, 16 digits>~<workflow id>  the wake index: keys sort by time, so a due scan
 *                                                      is one LIST from the start of the index per 1,000 due
 * <prefix>/~ended/<status>/<epoch ms>~<workflow id>    the index of ended workflows, one per status, laid out like wakes
 * ```
 * The `~workflows`, `~wakes` and `~ended` segments are ones no encoded id can be (encodings have no `~`), and a
 * prefix may not contain them: so stores at nested prefixes (`waymark` and `waymark/prod`) never see, list or clear
 * each other's workflows.
 * Loading a workflow is one LIST per 1,000 checkpoints plus one GET of the record; outputs are read
 * only when a step still to run needs them.
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CheckpointCorruptedError, InvalidOptionError, InvalidWorkflowIdError, LeaseLostError, RecordConflictError, StorageError } from '../../errors';
import { assertWorkflowId, decodeSegment, encodeSegment } from '../../workflow-id';
import type { CheckpointStorage, ClearOptions } from '../checkpoint-storage';
import { newLeaseToken } from '../lease-owner';
import { parseCheckpoint, parseEvent, parseRecordText, parseWakeName, sendOrder, wakeName } from '../record-format';
import type { Checkpoint, EndedEntry, Lease, LeaseAttempt, LeaseHolder, StoredEvent, StoredRecord, StoredWorkflow, WakeEntry, WorkflowRecord, WorkflowStatus } from '../records';
import { isConditionFailed, isNotFound } from './s3-faults';
import { withRetries, type S3RetryOptions } from './s3-retry';
import { honoursConditionalDelete } from './s3-conditional-delete';

/** Options of {@link S3Storage}. */
export interface S3StorageOptions {
  /** Your configured client (region, credentials, endpoint). */
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix of this store, e.g. `waymark/prod`; required and non-empty, so a clear can never reach the whole bucket. */
  readonly prefix: string;
  /** Retries of transient faults (5xx, SlowDown, resets, timeouts). */
  readonly retry?: S3RetryOptions;
  /**
   * Whether the server honours `If-Match` on DELETE, which a lease's release relies on: AWS S3 does;
   * some S3-compatible servers (Ceph 16's gateway) ignore it and delete anyway. Default: asked once,
   * by a probe on the first release (a PUT, a DELETE and a HEAD under `<prefix>/~probe/`). Where it
   * is not honoured, a release first marks the lease with a conditional PUT, which keeps others out
   * for {@link RELEASE_GRACE_MS}, and then deletes it at once; a release slower than a tenth of that
   * stores the lease expired instead, free for the next owner at once.
   */
  readonly conditionalDelete?: boolean;
}

/**
 * How long a lease marked released (on a server that ignores conditional DELETE) keeps others out:
 * the unconditional DELETE that follows is sent only within a tenth of it, so it can never remove a
 * successor's lease.
 */
export const RELEASE_GRACE_MS = 10_000;

const MAX_KEY_BYTES = 1024;
/** The segment between a store's prefix and its workflow ids. */
const WORKFLOWS = '~workflows';
/** The segment between a store's prefix and its wake index. */
const WAKES = '~wakes';
const ENDED = '~ended';
const PAGE = 1000;

interface StoredLease {
  readonly workflowId: string;
  readonly owner: string;
  readonly token: string;
  readonly expiresAt: number;
}

const CONFLICT = Symbol('conflict');
/** Lease object metadata read by the commit fence (S3 lowercases metadata keys). */
const TOKEN_META = 'waymark-token';
const EXPIRES_META = 'waymark-expires-at';

function leaseMetadata(lease: StoredLease): Record<string, string> {
  return { [TOKEN_META]: lease.token, [EXPIRES_META]: String(lease.expiresAt) };
}

/** Stores records, checkpoints and leases as S3 objects; conditional writes guard the record and the lease. */
export class S3Storage implements CheckpointStorage {
  readonly bucket: string;
  readonly prefix: string;
  /** `<prefix>/~workflows/`: where this store's workflows are. */
  private readonly root: string;
  /** `<prefix>/~wakes/`: this store's wake index. */
  private readonly wakes: string;
  private readonly client: S3Client;
  private readonly retry: S3RetryOptions;
  /** Whether DELETE honours `If-Match` on this server, once known. */
  private conditionalDelete?: Promise<boolean>;
  /** `<prefix>/~probe/`: where the conditional-DELETE probe writes its object. */
  private readonly probeAt: string;

  constructor(options: S3StorageOptions) {
    if (!options?.client || typeof options.client.send !== 'function') throw new InvalidOptionError('S3Storage client', options?.client, 'an S3Client');
    if (typeof options.bucket !== 'string' || options.bucket.length === 0) throw new InvalidOptionError('S3Storage bucket', options.bucket, 'a bucket name');
    const prefix = typeof options.prefix === 'string' ? options.prefix.replace(/\/+$/, '') : '';
    if (prefix.length === 0) throw new InvalidOptionError('S3Storage prefix', options.prefix, "a non-empty key prefix such as 'waymark' (an empty prefix would let clear() reach the whole bucket)");
    this.client = options.client;
    this.bucket = options.bucket;
    for (const reserved of [WORKFLOWS, WAKES, ENDED]) {
      if (prefix.split('/').includes(reserved)) {
        throw new InvalidOptionError('S3Storage prefix', options.prefix, `a key prefix without a '${reserved}' segment (that segment holds a store's workflows or one of its indexes; this prefix would sit inside another store)`);
      }
    }
    this.prefix = prefix;
    this.root = `${prefix}/${WORKFLOWS}/`;
    this.wakes = `${prefix}/${WAKES}/`;
    this.retry = options.retry ?? {};
    if (options.conditionalDelete !== undefined && typeof options.conditionalDelete !== 'boolean') throw new InvalidOptionError('S3Storage conditionalDelete', options.conditionalDelete, 'true or false (default: asked once, by a probe)');
    if (options.conditionalDelete !== undefined) this.conditionalDelete = Promise.resolve(options.conditionalDelete);
    this.probeAt = `${prefix}/~probe/`;
  }

  /** Whether DELETE honours `If-Match` here: as configured, else probed once (a failed probe is asked again next time). */
  private honoursConditionalDelete(): Promise<boolean> {
    this.conditionalDelete ??= honoursConditionalDelete(this.client, this.bucket, this.probeAt, this.retry).catch((error: unknown) => {
      this.conditionalDelete = undefined;
      throw error;
    });
    return this.conditionalDelete;
  }

  async load(workflowId: string): Promise<StoredWorkflow | undefined> {
    const base = this.base(workflowId);
    const [stepKeys, record] = await Promise.all([
      this.io(workflowId, 'load', `${base}steps/`, () => this.listKeys(`${base}steps/`)),
      this.io(workflowId, 'load', `${base}record.json`, () => this.getText(`${base}record.json`)),
    ]);
    const committedSteps = stepKeys.filter((k) => k.endsWith('.json')).flatMap((k) => decodeSegment(k.slice(`${base}steps/`.length, -5)) ?? []);
    if (record === undefined && committedSteps.length === 0) return undefined;
    return {
      record: record === undefined ? undefined : parseRecordText(workflowId, this.url(`${base}record.json`), record.text),
      recordVersion: record?.etag,
      committedSteps,
    };
  }

  async readRecord(workflowId: string): Promise<StoredRecord | undefined> {
    const key = `${this.base(workflowId)}record.json`;
    const found = await this.io(workflowId, 'read record', key, () => this.getText(key));
    if (found === undefined) return undefined;
    return { record: parseRecordText(workflowId, this.url(key), found.text), version: found.etag };
  }

  async readCheckpoint(workflowId: string, step: string): Promise<Checkpoint> {
    const key = this.stepKey(workflowId, step);
    const found = await this.io(workflowId, 'read checkpoint', key, () => this.getText(key), step);
    if (found === undefined) throw new StorageError(workflowId, 'read checkpoint', new Error('no such checkpoint'), step, this.url(key));
    return parseCheckpoint(workflowId, step, this.url(key), found.text);
  }

  async writeRecord(workflowId: string, record: WorkflowRecord, expectedVersion: string | null, lease?: Lease): Promise<string> {
    const key = `${this.base(workflowId)}record.json`;
    await this.fence(workflowId, lease);
    const condition = expectedVersion === null ? { IfNoneMatch: '*' } : { IfMatch: expectedVersion };
    const etag = await this.io(workflowId, 'write record', key, () => this.putConditional(key, JSON.stringify(record), condition));
    if (etag === CONFLICT) throw new RecordConflictError(workflowId, this.url(key));
    return etag;
  }

  async commit(workflowId: string, checkpoint: Checkpoint, lease?: Lease): Promise<void> {
    const key = this.stepKey(workflowId, checkpoint.step);
    await this.fence(workflowId, lease, checkpoint.step);
    await this.io(workflowId, 'commit', key, () => this.put(key, JSON.stringify(checkpoint)), checkpoint.step);
  }

  async clear(workflowId: string, options: ClearOptions = {}): Promise<void> {
    const base = this.base(workflowId);
    await this.fence(workflowId, options.lease);
    // The wake entry the record names goes too; a record that cannot be read names none (a stale
    // entry is harmless: a worker finds nothing stored and drops it).
    const wakeAt = (await this.readRecord(workflowId).catch(() => undefined))?.record.wakeAt;
    if (wakeAt !== undefined) await this.removeWake({ workflowId, wakeAt: Date.parse(wakeAt) });
    const keys = (await this.io(workflowId, 'clear', base, () => this.listKeys(base))).filter((k) => k !== `${base}lease.json`);
    for (let i = 0; i < keys.length; i += PAGE) {
      const batch = keys.slice(i, i + PAGE);
      const out = await this.io(workflowId, 'clear', base, () =>
        withRetries(this.retry, () =>
          this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
        ),
      );
      const failed = out.Errors ?? [];
      if (failed.length > 0) {
        const detail = failed.map((e) => `${e.Key}: ${e.Code ?? 'error'} ${e.Message ?? ''}`.trim()).join('; ');
        throw new StorageError(workflowId, 'clear', new Error(`${failed.length} of ${batch.length} deletes failed: ${detail}`), undefined, this.url(base));
      }
      options.onProgress?.(i + batch.length, keys.length);
    }
  }

  async list(): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.io('*', 'list', this.root, () =>
        withRetries(this.retry, () =>
          this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.root, Delimiter: '/', ContinuationToken: token, MaxKeys: PAGE })),
        ),
      );
      for (const p of page.CommonPrefixes ?? []) {
        const id = decodeSegment((p.Prefix ?? '').slice(this.root.length, -1));
        if (id !== undefined) ids.push(id);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return ids.sort();
  }

  async addWake(entry: WakeEntry): Promise<void> {
    const key = this.wakeKey(entry);
    await this.io(entry.workflowId, 'add wake', key, () => this.put(key, JSON.stringify(entry)));
  }

  async removeWake(entry: WakeEntry): Promise<void> {
    const key = this.wakeKey(entry);
    await this.io(entry.workflowId, 'remove wake', key, () => withRetries(this.retry, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))));
  }

  async dueWakes(now: number, limit: number): Promise<WakeEntry[]> {
    return this.scanTimes(this.wakes, 'scan wakes', now, limit);
  }

  // The index of ended workflows is a wake index per status: the same keys, the same time-ordered scan.
  async addEnded(entry: EndedEntry): Promise<void> {
    const key = this.endedKey(entry);
    await this.io(entry.workflowId, 'add ended entry', key, () => this.put(key, JSON.stringify(entry)));
  }

  async removeEnded(entry: EndedEntry): Promise<void> {
    const key = this.endedKey(entry);
    await this.io(entry.workflowId, 'remove ended entry', key, () => withRetries(this.retry, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))));
  }

  async endedBefore(status: WorkflowStatus, before: number, limit: number): Promise<EndedEntry[]> {
    const entries = await this.scanTimes(this.endedPrefix(status), 'scan ended', before, limit);
    return entries.map((e) => ({ workflowId: e.workflowId, status, endedAt: e.wakeAt }));
  }

  private endedPrefix(status: WorkflowStatus): string {
    return `${this.prefix}/${ENDED}/${encodeSegment(status)}/`;
  }

  private endedKey(entry: EndedEntry): string {
    this.base(entry.workflowId);
    return `${this.endedPrefix(entry.status)}${wakeName({ workflowId: entry.workflowId, wakeAt: entry.endedAt }, encodeSegment(entry.workflowId))}`;
  }

  /** The entries under `prefix` (keys made by `wakeName`) at or before `now`, earliest first, at most `limit`. */
  private async scanTimes(prefix: string, operation: string, now: number, limit: number): Promise<WakeEntry[]> {
    const due: WakeEntry[] = [];
    let token: string | undefined;
    // Keys sort by time: the first page holds the earliest entries, and the scan stops at the first
    // entry not yet due.
    do {
      const page = await this.io('*', operation, prefix, () =>
        withRetries(this.retry, () =>
          this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: Math.min(PAGE, limit - due.length) })),
        ),
      );
      for (const object of page.Contents ?? []) {
        const parsed = parseWakeName((object.Key ?? '').slice(prefix.length));
        const workflowId = parsed === undefined ? undefined : decodeSegment(parsed.encodedId);
        if (parsed === undefined || workflowId === undefined) continue;
        if (parsed.wakeAt > now) return due;
        due.push({ workflowId, wakeAt: parsed.wakeAt });
        if (due.length === limit) return due;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return due;
  }

  async putEvent(workflowId: string, event: StoredEvent): Promise<boolean> {
    const key = `${this.base(workflowId)}events/${encodeSegment(event.eventId)}.json`;
    const etag = await this.io(workflowId, 'store event', key, () => this.putConditional(key, JSON.stringify(event), { IfNoneMatch: '*' }));
    return etag !== CONFLICT;
  }

  async listEvents(workflowId: string): Promise<StoredEvent[]> {
    const prefix = `${this.base(workflowId)}events/`;
    const keys = (await this.io(workflowId, 'list events', prefix, () => this.listKeys(prefix))).filter((k) => k.endsWith('.json'));
    const events = await Promise.all(
      keys.map(async (key) => {
        const found = await this.io(workflowId, 'read event', key, () => this.getText(key));
        return found === undefined ? undefined : parseEvent(workflowId, this.url(key), found.text);
      }),
    );
    return events.filter((e): e is StoredEvent => e !== undefined).sort(sendOrder);
  }

  async acquireLease(workflowId: string, owner: string, ttlMs: number): Promise<LeaseAttempt> {
    const key = `${this.base(workflowId)}lease.json`;
    const token = newLeaseToken();
    return this.io(workflowId, 'acquire lease', key, async () => {
      for (let round = 0; round < 8; round++) {
        const lease: StoredLease = { workflowId, owner, token, expiresAt: Date.now() + ttlMs };
        const created = await this.putConditional(key, JSON.stringify(lease), { IfNoneMatch: '*' }, leaseMetadata(lease));
        if (created !== CONFLICT) return { acquired: true as const, lease: { ...lease, version: created, ttlMs } };
        const current = await this.getText(key);
        if (current === undefined) continue; // released in between: try to create again
        const held = parseLease(current.text);
        if (held !== undefined && held.expiresAt > Date.now()) return { acquired: false as const, holder: held.owner, expiresAt: held.expiresAt };
        // Expired (or unreadable): take it over only if it is still the object we judged stale.
        const takeover: StoredLease = { ...lease, expiresAt: Date.now() + ttlMs };
        const taken = await this.putConditional(key, JSON.stringify(takeover), { IfMatch: current.etag }, leaseMetadata(takeover));
        if (taken !== CONFLICT) return { acquired: true as const, lease: { ...takeover, version: taken, ttlMs } };
      }
      throw new Error('the lease changed hands too often to decide; try again');
    });
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    const key = `${this.base(lease.workflowId)}lease.json`;
    if (lease.version === undefined) return undefined;
    return this.io(lease.workflowId, 'renew lease', key, async () => {
      let version = lease.version!;
      // A renewal whose response was lost changed the ETag without our knowing it: the stored lease
      // still carries our token, so renew that version (once) instead of calling the lease lost.
      for (let round = 0; round < 2; round++) {
        const renewed: StoredLease = { workflowId: lease.workflowId, owner: lease.owner, token: lease.token, expiresAt: Date.now() + ttlMs };
        const etag = await this.putConditional(key, JSON.stringify(renewed), { IfMatch: version }, leaseMetadata(renewed));
        if (etag !== CONFLICT) return { ...lease, expiresAt: renewed.expiresAt, version: etag, ttlMs };
        const current = await this.ownLease(key, lease.token);
        if (current === undefined) return undefined;
        version = current.etag;
      }
      return undefined;
    });
  }

  async readLease(workflowId: string): Promise<LeaseHolder | undefined> {
    const key = `${this.base(workflowId)}lease.json`;
    const found = await this.io(workflowId, 'read lease', key, () => this.getText(key));
    const lease = found === undefined ? undefined : parseLease(found.text);
    return lease !== undefined && lease.expiresAt > Date.now() ? { owner: lease.owner, expiresAt: lease.expiresAt } : undefined;
  }

  async releaseLease(lease: Lease): Promise<void> {
    const key = `${this.base(lease.workflowId)}lease.json`;
    if (lease.version === undefined) return;
    await this.io(lease.workflowId, 'release lease', key, async () => {
      let version = lease.version!;
      const conditional = await this.honoursConditionalDelete();
      for (let round = 0; round < 2; round++) {
        if (conditional ? await this.deleteIfStill(key, version) : await this.releaseMarked(key, lease, version)) return;
        // Another version: still ours (a renewal whose response was lost), or taken over (not ours to release).
        const current = await this.ownLease(key, lease.token);
        if (current === undefined) return;
        version = current.etag;
      }
    });
  }

  /** Deletes `key` if it is still at `version`: false when it is not, true when deleted or gone already. */
  private async deleteIfStill(key: string, version: string): Promise<boolean> {
    try {
      await withRetries(this.retry, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: version })));
      return true;
    } catch (error) {
      if (isNotFound(error)) return true; // gone already: nothing of ours to release
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /**
   * A release where DELETE ignores `If-Match`: marks the lease released with a conditional PUT (it
   * keeps others out for {@link RELEASE_GRACE_MS}), then deletes it, only while well within that
   * grace, so the unconditional DELETE can only ever remove this lease. False when `version` is not
   * the stored lease's any more.
   */
  private async releaseMarked(key: string, lease: Lease, version: string): Promise<boolean> {
    const started = Date.now();
    const marked: StoredLease = { workflowId: lease.workflowId, owner: lease.owner, token: lease.token, expiresAt: started + RELEASE_GRACE_MS };
    const markedVersion = await this.putConditional(key, JSON.stringify(marked), { IfMatch: version }, leaseMetadata(marked));
    if (markedVersion === CONFLICT) return false;
    if (Date.now() - started < RELEASE_GRACE_MS / 10) {
      await withRetries(this.retry, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
      return true;
    }
    // Past a tenth of the grace (a slow server, a stalled process) an unconditional DELETE is no longer
    // safe: the lease is left expired instead, free at once for the next owner to take over (with a
    // conditional PUT), rather than keeping everyone out for the rest of the grace.
    const expired: StoredLease = { ...marked, expiresAt: Date.now() };
    await this.putConditional(key, JSON.stringify(expired), { IfMatch: markedVersion }, leaseMetadata(expired));
    return true;
  }

  /** The stored lease object if it still carries `token`, else undefined. */
  private async ownLease(key: string, token: string): Promise<{ etag: string } | undefined> {
    const current = await this.getText(key);
    return current !== undefined && parseLease(current.text)?.token === token ? current : undefined;
  }

  /**
   * Throws LeaseLostError unless `lease` has at least a third of its TTL left and its token is still
   * the stored lease's. The token (not the ETag, which every renewal changes) is compared, read from
   * the object's metadata with one HEAD, so a commit that overlaps its own lease's renewal is not
   * fenced out. S3 cannot make the check and the write one step: the margin means a takeover can slip
   * between them only if this worker freezes for longer than a third of the TTL right there.
   */
  private async fence(workflowId: string, lease: Lease | undefined, step?: string): Promise<void> {
    if (lease === undefined) return;
    if (lease.expiresAt - Date.now() <= (lease.ttlMs ?? 0) / 3) throw new LeaseLostError(workflowId, step);
    const key = `${this.base(workflowId)}lease.json`;
    const held = await this.io(
      workflowId,
      'check lease',
      key,
      async () => {
        try {
          const head = await withRetries(this.retry, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
          return head.Metadata?.[TOKEN_META] === lease.token && Number(head.Metadata?.[EXPIRES_META]) > Date.now();
        } catch (error) {
          if (isNotFound(error)) return false;
          throw error;
        }
      },
      step,
    );
    if (!held) throw new LeaseLostError(workflowId, step);
  }

  private base(workflowId: string): string {
    assertWorkflowId(workflowId);
    const base = `${this.root}${encodeSegment(workflowId)}/`;
    if (Buffer.byteLength(base) > MAX_KEY_BYTES - 320) throw new InvalidWorkflowIdError(workflowId, `its S3 keys would exceed ${MAX_KEY_BYTES} bytes`);
    return base;
  }

  private wakeKey(entry: WakeEntry): string {
    this.base(entry.workflowId);
    return `${this.wakes}${wakeName(entry, encodeSegment(entry.workflowId))}`;
  }

  private stepKey(workflowId: string, step: string): string {
    return `${this.base(workflowId)}steps/${encodeSegment(step)}.json`;
  }

  private url(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  private async listKeys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await withRetries(this.retry, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: PAGE })),
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  private async getText(key: string): Promise<{ text: string; etag: string } | undefined> {
    try {
      return await withRetries(this.retry, async () => {
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        return { text: (await out.Body?.transformToString('utf8')) ?? '', etag: out.ETag ?? '' };
      });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async put(key: string, body: string): Promise<string> {
    const out = await withRetries(this.retry, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/json' })));
    return out.ETag ?? '';
  }

  /**
   * A conditional PUT; CONFLICT when the condition failed. Any failed condition may be meeting this
   * very write's earlier try, retried by waymark or inside the SDK after the connection dropped once
   * S3 had stored it: if the stored body is ours (bodies carry a unique token or timestamp), that is
   * success. Costs one GET, only on a failed condition.
   */
  private async putConditional(
    key: string,
    body: string,
    condition: { IfNoneMatch: string } | { IfMatch: string },
    metadata?: Record<string, string>,
  ): Promise<string | typeof CONFLICT> {
    try {
      return await withRetries(this.retry, async () => {
        const out = await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/json', Metadata: metadata, ...condition }));
        return out.ETag ?? '';
      });
    } catch (error) {
      if (!isConditionFailed(error) && !('IfMatch' in condition && isNotFound(error))) throw error;
      const current = await this.getText(key);
      if (current?.text === body) return current.etag;
      return CONFLICT;
    }
  }

  /** Wraps S3 and network errors in StorageError; waymark's own errors pass through. */
  private async io<T>(workflowId: string, operation: string, key: string, run: () => Promise<T>, step?: string): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof RecordConflictError || error instanceof CheckpointCorruptedError || error instanceof LeaseLostError || error instanceof InvalidWorkflowIdError) throw error;
      throw new StorageError(workflowId, operation, error, step, this.url(key));
    }
  }
}

function parseLease(text: string): StoredLease | undefined {
  try {
    const lease = JSON.parse(text) as StoredLease;
    return typeof lease.token === 'string' && typeof lease.expiresAt === 'number' ? lease : undefined;
  } catch {
    return undefined;
  }
}
