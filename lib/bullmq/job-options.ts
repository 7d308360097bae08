/**
 * The BullMQ job options waymark jobs get: the retry budget of a workflow (`attempts`, `backoff`)
 * and how long finished jobs stay in Redis. Checked once, with the option to change named.
 */
import type { BackoffOptions, JobsOptions } from 'bullmq';
import { InvalidOptionError } from '../errors';

/** The job options a {@link WorkflowQueue} sets on every job it adds. */
export interface WorkflowJobOptions {
  /**
   * Deliveries of a job before it fails for good, counting only failed runs (a delivery that finds
   * its workflow busy is delayed, not failed); default 3. A failed workflow's next delivery resumes it:
   * committed steps are kept, the failed step runs again with its own retry options.
   */
  readonly attempts?: number;
  /** BullMQ backoff between failed deliveries; default `{ type: 'exponential', delay: 1000 }`. */
  readonly backoff?: number | BackoffOptions;
  /** Finished jobs kept in Redis (the outcome stays in waymark's storage either way); default the last 1,000. */
  readonly removeOnComplete?: boolean | number;
  /** Failed jobs kept in Redis; default the last 10,000. */
  readonly removeOnFail?: boolean | number;
}

/** Defaults of {@link WorkflowJobOptions}. */
export const DEFAULT_JOB_OPTIONS = { attempts: 3, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: 1_000, removeOnFail: 10_000 } as const;

/** `options` over the defaults, checked. */
export function resolveJobOptions(options: WorkflowJobOptions | undefined, where: string): JobsOptions {
  if (options !== undefined && (options === null || typeof options !== 'object')) throw new InvalidOptionError(where, options, '{ attempts?, backoff?, removeOnComplete?, removeOnFail? }');
  const o = { ...DEFAULT_JOB_OPTIONS, ...stripUndefined(options ?? {}) };
  if (!Number.isInteger(o.attempts) || o.attempts < 1) throw new InvalidOptionError(`${where}.attempts`, o.attempts, 'an integer >= 1 (deliveries that may fail before the job fails for good)');
  const backoff = o.backoff as unknown;
  const backoffOk =
    (typeof backoff === 'number' && Number.isFinite(backoff) && backoff >= 0) ||
    (typeof backoff === 'object' && backoff !== null && typeof (backoff as BackoffOptions).type === 'string' && ((backoff as BackoffOptions).delay === undefined || ((backoff as BackoffOptions).delay as number) >= 0));
  if (!backoffOk) throw new InvalidOptionError(`${where}.backoff`, backoff, "a delay in ms >= 0 or { type: 'fixed' | 'exponential', delay }");
  for (const key of ['removeOnComplete', 'removeOnFail'] as const) {
    const value = o[key] as unknown;
    if (typeof value !== 'boolean' && !(Number.isInteger(value) && (value as number) >= 0)) throw new InvalidOptionError(`${where}.${key}`, value, 'true, false or a count of jobs to keep');
  }
  return { attempts: o.attempts, backoff: o.backoff as JobsOptions['backoff'], removeOnComplete: o.removeOnComplete, removeOnFail: o.removeOnFail };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
