/**
 * The BullMQ settings a {@link QueueWorker} runs with, and the refusal of those that cannot work
 * with durable workflows, at construction, with the setting to change.
 *
 * What is not refused, and why: a lease TTL longer or shorter than the job lock, a stalled interval
 * longer than the lock, a small retry budget. A delivery that finds the workflow busy (its lease
 * still held by a worker that died, or by a duplicate) is delayed without consuming an attempt, so
 * none of these can make a workflow fail or be lost; they only set how soon a dead worker's
 * workflow goes on: after the later of its lease expiry and `lockDuration + stalledInterval`.
 */
import { InvalidOptionError } from '../errors';

/** The BullMQ worker settings a {@link QueueWorker} passes on (BullMQ's `WorkerOptions` of the same names). */
export interface QueueWorkerSettings {
  /** How long a job's lock lasts without renewal, ms; default 30,000 (BullMQ's). */
  readonly lockDuration?: number;
  /** How often the lock is renewed, ms; default half of `lockDuration` (BullMQ's). Must be shorter than `lockDuration`. */
  readonly lockRenewTime?: number;
  /** How often the stalled-job check runs, ms; default 30,000 (BullMQ's). */
  readonly stalledInterval?: number;
  /**
   * How many times a job may come back after its worker died before BullMQ fails it for good;
   * default 1,000 (BullMQ's is 1). A stalled job costs waymark nothing (the lease keeps one run at
   * a time, committed steps are kept), while a job failed by the stalled check leaves its workflow
   * unfinished with no job to resume it: keep it high. Lower it only to stop a step that crashes its
   * process every time (at the default 30 s stalled interval, 1,000 stalls take over 8 hours).
   */
  readonly maxStalledCount?: number;
  /** Seconds a worker blocks waiting for a job on an empty queue; default 5 (BullMQ's). */
  readonly drainDelay?: number;
  /** The worker's name, shown on the jobs it takes. */
  readonly name?: string;
}

/** The settings after defaults. */
export interface ResolvedQueueWorkerSettings {
  readonly lockDuration: number;
  readonly lockRenewTime: number;
  readonly stalledInterval: number;
  readonly maxStalledCount: number;
  readonly drainDelay: number;
  readonly name?: string;
}

/** Default {@link QueueWorkerSettings.maxStalledCount}. */
export const DEFAULT_MAX_STALLED_COUNT = 1_000;

const KNOWN = new Set(['lockDuration', 'lockRenewTime', 'stalledInterval', 'maxStalledCount', 'drainDelay', 'name']);
/** BullMQ worker options that would break waymark's guarantees, and why. */
const REFUSED: Record<string, string> = {
  skipLockRenewal: 'a run longer than lockDuration would lose its job lock and be stopped; leave lock renewal on',
  skipStalledCheck: "a job whose worker died would not be re-delivered, and its workflow would never finish; leave the stalled check on",
  autorun: 'the QueueWorker starts its BullMQ worker itself',
  concurrency: 'give concurrency to the QueueWorker itself',
  connection: 'give connection to the QueueWorker itself',
};

/** Applies defaults and refuses settings that cannot work, naming the setting to change. */
export function resolveWorkerSettings(settings: QueueWorkerSettings | undefined): ResolvedQueueWorkerSettings {
  if (settings !== undefined && (settings === null || typeof settings !== 'object')) throw new InvalidOptionError('settings', settings, 'an object of BullMQ worker settings');
  for (const key of Object.keys(settings ?? {})) {
    if (REFUSED[key] !== undefined) throw new InvalidOptionError(`settings.${key}`, (settings as Record<string, unknown>)[key], `not to be set: ${REFUSED[key]}`);
    if (!KNOWN.has(key)) throw new InvalidOptionError(`settings.${key}`, (settings as Record<string, unknown>)[key], `one of ${[...KNOWN].join(', ')}`);
  }
  const s = settings ?? {};
  const lockDuration = s.lockDuration ?? 30_000;
  positiveInteger('settings.lockDuration', lockDuration, 1_000, 'an integer >= 1000 (ms): a shorter lock is lost to any pause of the event loop');
  const lockRenewTime = s.lockRenewTime ?? Math.floor(lockDuration / 2);
  positiveInteger('settings.lockRenewTime', lockRenewTime, 1, 'an integer >= 1 (ms)');
  if (lockRenewTime >= lockDuration) {
    throw new InvalidOptionError('settings.lockRenewTime', lockRenewTime, `less than lockDuration (${lockDuration} ms): the lock would expire before it is renewed; leave it out (half of lockDuration)`);
  }
  const stalledInterval = s.stalledInterval ?? 30_000;
  positiveInteger('settings.stalledInterval', stalledInterval, 1, 'an integer >= 1 (ms)');
  const maxStalledCount = s.maxStalledCount ?? DEFAULT_MAX_STALLED_COUNT;
  positiveInteger(
    'settings.maxStalledCount',
    maxStalledCount,
    1,
    'an integer >= 1: with 0, the first crash of a worker fails its jobs for good and their workflows are never resumed',
  );
  const drainDelay = s.drainDelay ?? 5;
  positiveInteger('settings.drainDelay', drainDelay, 1, 'an integer >= 1 (seconds)');
  if (s.name !== undefined && (typeof s.name !== 'string' || s.name.length === 0)) throw new InvalidOptionError('settings.name', s.name, 'a non-empty string');
  return { lockDuration, lockRenewTime, stalledInterval, maxStalledCount, drainDelay, ...(s.name === undefined ? {} : { name: s.name }) };
}

function positiveInteger(option: string, value: unknown, min: number, expected: string): void {
  if (!Number.isInteger(value) || (value as number) < min) throw new InvalidOptionError(option, value, expected);
}
