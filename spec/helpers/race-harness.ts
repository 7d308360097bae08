/**
 * A race harness for leases, fences and commits: contenders run one workflow id through a storage
 * whose every call may be delayed, fail transiently, or be applied with its answer lost, per a
 * seeded schedule; providers add their own chaos below the interface (a stall between a fence and
 * its write, an S3 answer dropped after the write landed). After each round the log and the store
 * are checked against the invariants one-owner-per-workflow promises.
 */
import { Step } from '../../decorators';
import { StorageError, WorkflowBusyError } from '../../lib/errors';
import type { CheckpointStorage } from '../../lib/storage/checkpoint-storage';
import type { Checkpoint, Lease } from '../../lib/storage/records';
import { itemKey, listKey } from '../../lib/item-keys';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { StepContext } from '../../lib/runner/step-context';

/** A small seeded PRNG (mulberry32): the same seed gives the same schedule. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How wild a round is. */
export interface RaceSettings {
  /** Longest injected delay of a storage call, in ms (the schedule: 0-300). */
  readonly maxDelayMs: number;
  /** Lease TTL of the contenders, in ms: short, so delays outlast it and takeovers happen. */
  readonly leaseTtlMs: number;
}

type Entry =
  | { kind: 'acquired'; token: string; owner: string; start: number; end: number; expiresAt: number }
  | { kind: 'renewed'; token: string; end: number; expiresAt: number }
  | { kind: 'release'; token: string; owner: string; start: number }
  | { kind: 'released'; owner: string; end: number }
  | { kind: 'record'; expected: string | null; version: string }
  | { kind: 'cleared' }
  | { kind: 'lost'; owner: string; at: number }
  | { kind: 'dropped'; method: string; owner: string }
  | { kind: 'faulted'; method: string; owner: string }
  | { kind: 'refused'; owner: string; holder: string; start: number };

/** The step outputs: who computed it, and from whose output. */
interface Out {
  readonly by: string;
  readonly from?: string;
}

let executions = 0;

class RaceFlow {
  constructor(
    private readonly tag: string,
    private readonly pause: () => Promise<void>,
  ) {}
  @Step() async a() {
    await this.pause();
    return { by: `${this.tag}:a:${++executions}` };
  }
  @Step() async b(ctx: StepContext<unknown, Out>) {
    await this.pause();
    return { by: `${this.tag}:b:${++executions}`, from: ctx.previous.by };
  }
  @Step() async c(ctx: StepContext<unknown, Out>) {
    await this.pause();
    return { by: `${this.tag}:c:${++executions}`, from: ctx.previous.by };
  }
  /** A fan-out: its list is made from c's output, each item's output from its item (committed together where the store can). */
  @Step({ forEach: (ctx: StepContext<unknown, Out>) => Array.from({ length: 4 }, (_, i) => `${ctx.previous.by}#${i}`), concurrency: 4 })
  async d(ctx: StepContext) {
    await this.pause();
    return { by: `${this.tag}:d:${++executions}`, from: ctx.item as string };
  }
}

const QUIET = { info: () => undefined, warn: () => undefined, error: () => undefined };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const WRITES = new Set(['acquireLease', 'renewLease', 'releaseLease', 'writeRecord', 'commit']);

/**
 * `storage` seen through a seeded schedule: each call may wait (0 to maxDelayMs) before it is made,
 * fail transiently without being made, or be made and then fail as if its answer was lost; what the
 * runner learns is logged.
 */
function chaotic(storage: CheckpointStorage, random: () => number, settings: RaceSettings, owner: string, log: Entry[]): CheckpointStorage {
  const call = async <T>(method: keyof CheckpointStorage, workflowId: string, run: () => Promise<T>): Promise<T> => {
    if (random() < 0.3) await sleep(random() * settings.maxDelayMs);
    if (random() < 0.04) {
      log.push({ kind: 'faulted', method, owner });
      throw new StorageError(workflowId, method, new Error('injected transient fault'));
    }
    const result = await run();
    if (WRITES.has(method) && random() < 0.03) {
      log.push({ kind: 'dropped', method, owner });
      throw new StorageError(workflowId, method, new Error('injected: applied, answer lost'));
    }
    if (random() < 0.2) await sleep(random() * settings.maxDelayMs);
    return result;
  };
  return {
    load: (id) => call('load', id, () => storage.load(id)),
    readRecord: (id) => call('readRecord', id, () => storage.readRecord(id)),
    readCheckpoint: (id, step) => call('readCheckpoint', id, () => storage.readCheckpoint(id, step)),
    writeRecord: (id, record, expected, lease) =>
      call('writeRecord', id, async () => {
        const version = await storage.writeRecord(id, record, expected, lease);
        log.push({ kind: 'record', expected, version });
        return version;
      }),
    commit: (id, checkpoint, lease) => call('commit', id, () => storage.commit(id, checkpoint, lease)),
    ...(storage.commitMany === undefined ? {} : { commitMany: (id: string, checkpoints: readonly Checkpoint[], lease?: Lease) => call('commit', id, () => storage.commitMany!(id, checkpoints, lease)) }),
    clear: (id, options) =>
      call('clear', id, async () => {
        await storage.clear(id, options);
        log.push({ kind: 'cleared' });
      }),
    list: () => storage.list(),
    readLease: (id) => storage.readLease(id),
    addWake: (entry) => call('addWake', entry.workflowId, () => storage.addWake(entry)),
    removeWake: (entry) => call('removeWake', entry.workflowId, () => storage.removeWake(entry)),
    dueWakes: (now, limit) => storage.dueWakes(now, limit),
    addEnded: (entry) => call('addEnded', entry.workflowId, () => storage.addEnded(entry)),
    removeEnded: (entry) => call('removeEnded', entry.workflowId, () => storage.removeEnded(entry)),
    endedBefore: (status, before, limit) => storage.endedBefore(status, before, limit),
    putEvent: (id, event) => call('putEvent', id, () => storage.putEvent(id, event)),
    listEvents: (id) => call('listEvents', id, () => storage.listEvents(id)),
    acquireLease: (id, who, ttl) =>
      call('acquireLease', id, async () => {
        const start = Date.now();
        const attempt = await storage.acquireLease(id, who, ttl);
        if (!attempt.acquired) log.push({ kind: 'refused', owner: who, holder: attempt.holder, start });
        if (attempt.acquired) log.push({ kind: 'acquired', token: attempt.lease.token, owner: who, start, end: Date.now(), expiresAt: attempt.lease.expiresAt });
        return attempt;
      }),
    renewLease: (lease, ttl) =>
      call('renewLease', lease.workflowId, async () => {
        const renewed = await storage.renewLease(lease, ttl);
        if (renewed) log.push({ kind: 'renewed', token: renewed.token, end: Date.now(), expiresAt: renewed.expiresAt });
        return renewed;
      }),
    releaseLease: (lease: Lease) => {
      log.push({ kind: 'release', token: lease.token, owner, start: Date.now() });
      return call('releaseLease', lease.workflowId, async () => {
        await storage.releaseLease(lease);
        log.push({ kind: 'released', owner, end: Date.now() });
      });
    },
  };
}

/**
 * A store a provider can place next to the one under test, e.g. S3 at the nested prefix
 * `<prefix>/<workflow id>`: the round must never touch what it holds.
 */
export type Neighbour = (workflowId: string) => CheckpointStorage | undefined;

/**
 * One round: 2-8 contenders on workflow `race-<seed>`, one in four starting over (`resume: false`,
 * which clears), the others resuming; resolves with the invariants it broke (none, ideally).
 */
export async function raceRound(storage: CheckpointStorage, seed: number, settings: RaceSettings, neighbour?: Neighbour): Promise<string[]> {
  const random = seeded(seed);
  const workflowId = `race-${seed}`;
  const contenders = 2 + Math.floor(random() * 7);
  const log: Entry[] = [];
  const nextDoor = neighbour?.(workflowId);
  await nextDoor?.commit('neighbour', { formatVersion: 1, step: 'n', status: 'completed', attempts: 1, committedAt: new Date(0).toISOString(), output: 'untouched' });
  const outcomes = await Promise.all(
    Array.from({ length: contenders }, async (_, i) => {
      const owner = `c${i}`;
      const own = seeded(seed * 31 + i);
      await sleep(own() * 50);
      const runner = new WorkflowRunner({
        storage: chaotic(storage, own, settings, owner, log),
        owner,
        leaseTtlMs: settings.leaseTtlMs,
        onBusy: 'wait',
        busyTimeoutMs: 20 * settings.leaseTtlMs,
        tracer: false,
        // Injected faults make warnings by the hundred; the invariants below are what is checked.
        logger: QUIET,
      });
      runner.on('lease:lost', () => log.push({ kind: 'lost', owner, at: Date.now() }));
      const flow = new RaceFlow(owner, async () => {
        if (own() < 0.5) await sleep(own() * settings.maxDelayMs * 0.5);
      });
      try {
        await runner.run(flow, { workflowId, resume: own() >= 0.25, onInputChange: 'reuse' });
        return { owner, outcome: 'completed' as const };
      } catch (error) {
        return { owner, outcome: error as Error };
      }
    }),
  );
  // Then writers without a lease race to replace the record from the version they all read: exactly
  // one may win (compare-and-swap), which the fork check below sees.
  const current = await storage.readRecord(workflowId);
  if (current !== undefined) {
    const writers = 2 + Math.floor(random() * 7);
    await Promise.all(
      Array.from({ length: writers }, async (_, i) => {
        await sleep(random() * 5);
        const version = await storage.writeRecord(workflowId, { ...current.record, updatedAt: new Date(i).toISOString() }, current.version).catch(() => undefined);
        if (version !== undefined) log.push({ kind: 'record', expected: current.version, version });
      }),
    );
  }
  const violations: string[] = [];

  // The stored steps are one consistent history: each was computed from the stored output before it.
  const stored = await storage.load(workflowId);
  const outputs = new Map<string, Out>();
  for (const step of stored?.committedSteps ?? []) outputs.set(step, (await storage.readCheckpoint(workflowId, step)).output as unknown as Out);
  for (const [step, dependency] of [['b', 'a'], ['c', 'b']] as const) {
    const out = outputs.get(step);
    if (out && outputs.get(dependency)?.by !== out.from) violations.push(`stored ${step} (${out.by}) was computed from ${out.from}, but the stored ${dependency} is ${outputs.get(dependency)?.by}`);
  }
  // The fan-out's list was made from the stored c, each stored item from its place in that list, and
  // the step's output is the stored items (none was committed again after the step was).
  const list = outputs.get(listKey('d')) as unknown as string[] | undefined;
  if (list !== undefined && list[0] !== `${outputs.get('c')?.by}#0`) violations.push(`the stored list of d (${list[0]}, ...) was not made from the stored c (${outputs.get('c')?.by})`);
  for (let i = 0; i < 4; i++) {
    const item = outputs.get(itemKey('d', i));
    if (item && item.from !== list?.[i]) violations.push(`stored item ${i} of d (${item.by}) was computed from ${item.from}, but the stored list says ${list?.[i]}`);
    const inStep = (outputs.get('d') as unknown as Out[] | undefined)?.[i];
    if (inStep && inStep.by !== item?.by) violations.push(`d's output holds item ${i} from ${inStep.by}, but the stored item is ${item?.by}`);
  }

  // At most one live lease at any instant: a lease surely granted while another was surely live.
  const acquired = log.filter((e): e is Extract<Entry, { kind: 'acquired' }> => e.kind === 'acquired');
  /** Until when a lease was surely live: its last known expiry, or its release, whichever came first. */
  const endOf = (token: string, expiresAt: number): number => {
    let expiry = expiresAt;
    for (const e of log) if (e.kind === 'renewed' && e.token === token) expiry = Math.max(expiry, e.expiresAt);
    const release = log.find((e): e is Extract<Entry, { kind: 'release' }> => e.kind === 'release' && e.token === token);
    return Math.min(expiry, release?.start ?? Infinity);
  };
  for (const first of acquired) {
    const liveUntil = endOf(first.token, first.expiresAt);
    for (const second of acquired) {
      if (second === first || second.start <= first.end) continue;
      if (second.end < liveUntil - 5) violations.push(`two holders: ${second.owner} took the lease at ${second.end} while ${first.owner}'s (taken at ${first.end}) was live until ${liveUntil}`);
    }
  }

  // No fork in the record's versions: one successor per version (a clear starts a new history).
  let successors = new Map<string, string[]>();
  const forks = (): void => {
    for (const [from, to] of successors) if (to.length > 1) violations.push(`record version ${from} forked into ${to.join(', ')}`);
  };
  for (const e of log) {
    if (e.kind === 'cleared') {
      forks();
      successors = new Map();
    } else if (e.kind === 'record') successors.set(String(e.expected), [...(successors.get(String(e.expected)) ?? []), e.version]);
  }
  forks();

  // A contender refused by a lease held in its own name, or told it lost a lease nobody took and
  // that had not expired, saw a failed write of its own taken for someone else's.
  const dropped = new Set(log.filter((e) => e.kind === 'dropped').map((e) => (e as { owner: string }).owner));
  for (const { owner, outcome } of outcomes) {
    if (outcome instanceof WorkflowBusyError && outcome.holder === owner && !dropped.has(owner)) violations.push(`${owner} was refused by a lease held by itself`);
  }
  for (const e of log) if (e.kind === 'refused' && e.holder === e.owner && !dropped.has(e.owner)) violations.push(`${e.owner} was refused by a lease held by itself`);
  for (const lost of log.filter((e): e is Extract<Entry, { kind: 'lost' }> => e.kind === 'lost')) {
    const mine = acquired.filter((a) => a.owner === lost.owner && a.end <= lost.at).at(-1);
    if (!mine || dropped.has(lost.owner)) continue;
    const takenBy = acquired.find((a) => a.owner !== lost.owner && a.start >= mine.start && a.end <= lost.at + 5);
    if (!takenBy && endOf(mine.token, mine.expiresAt) > lost.at + 5) violations.push(`${lost.owner} was told it lost a lease that nobody took and that had not expired`);
  }

  // A store next door is never reached, whatever this one lists or clears.
  if (nextDoor) {
    const kept = await nextDoor.readCheckpoint('neighbour', 'n').then((c) => c.output, () => undefined);
    if (kept !== 'untouched') violations.push(`the store next door lost its data (now ${JSON.stringify(kept)})`);
    if ((await storage.list()).some((id) => id !== workflowId && !id.startsWith('race-'))) violations.push(`this store lists a workflow of the store next door`);
  }

  // A lease given up stays given up: nobody is refused in the name of an owner that released it
  // (and has not taken it again) before the refused attempt began.
  for (const refusal of log.filter((e): e is Extract<Entry, { kind: 'refused' }> => e.kind === 'refused')) {
    const released = log.filter((e): e is Extract<Entry, { kind: 'released' }> => e.kind === 'released' && e.owner === refusal.holder && e.end < refusal.start).at(-1);
    if (!released || dropped.has(refusal.holder)) continue;
    const again = acquired.some((a) => a.owner === refusal.holder && a.start >= released.end - 1 && a.start <= refusal.start);
    if (!again) violations.push(`${refusal.owner} was refused by ${refusal.holder}'s lease after ${refusal.holder} had released it`);
  }

  // Nothing left behind: once every contender has settled, the lease is free, unless a release
  // failed or an acquisition's answer was lost (its lease was orphaned): those may only expire.
  const leaseFaults = log.some((e) => (e.kind === 'faulted' || e.kind === 'dropped') && (e.method === 'releaseLease' || (e.kind === 'dropped' && e.method === 'acquireLease')));
  if (!leaseFaults && outcomes.some((o) => o.outcome === 'completed')) {
    const check = await storage.acquireLease(workflowId, 'checker', 1_000);
    if (!check.acquired) violations.push(`a lease was left behind after every run settled (held by ${check.holder})`);
    else await storage.releaseLease(check.lease);
  }
  return violations;
}

/** Runs `rounds` seeded rounds, `parallel` at a time (each on its own workflow id); resolves with every violation, by seed. */
export async function raceRounds(storage: CheckpointStorage, firstSeed: number, rounds: number, parallel: number, settings: RaceSettings, neighbour?: Neighbour): Promise<string[]> {
  const failures: string[] = [];
  for (let n = 0; n < rounds; n += parallel) {
    const seeds = Array.from({ length: Math.min(parallel, rounds - n) }, (_, k) => firstSeed + n + k);
    const results = await Promise.all(seeds.map((seed) => raceRound(storage, seed, settings, neighbour).catch((error: unknown) => [`the round threw: ${String(error)}`])));
    results.forEach((violations, k) => violations.forEach((v) => failures.push(`seed ${seeds[k]}: ${v}`)));
  }
  return failures;
}
