/**
 * Options of the runner and of one run, their defaults, and their validation at run start.
 */
import { InvalidOptionError, InvalidWorkflowIdError } from '../errors';
import { resolveFingerprintStrategy } from '../fingerprint/fingerprint-options';
import type { FingerprintStrategy } from '../fingerprint/fingerprint-strategy';
import { CanonicalFingerprint, type CanonicalFingerprintOptions } from '../fingerprint/canonical-fingerprint';
import { assertInputChangePolicy, type InputChangePolicy } from '../input-change-policy';
import { readFingerprint, readInputChangePolicy, type Constructor } from '../metadata';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import { defaultLeaseOwner } from '../storage/lease-owner';
import { MemoryStorage } from '../storage/memory-storage';
import { assertWorkflowId, FLOW_ID } from '../workflow-id';
import type { WorkflowHooks } from './run-events';
import { isLogger, type WaymarkLogger } from './logger';
import type { SpanTracer } from './tracing';
import type { WorkflowRegistration } from './workflow-registry';

/** The methods every {@link CheckpointStorage} has. */
const STORAGE_METHODS = ['load', 'readRecord', 'readCheckpoint', 'writeRecord', 'commit', 'clear', 'list', 'acquireLease', 'renewLease', 'releaseLease', 'readLease', 'addWake', 'removeWake', 'dueWakes', 'addEnded', 'removeEnded', 'endedBefore', 'putEvent', 'listEvents'] as const;

/** Default number of steps that run at once. */
export const DEFAULT_CONCURRENCY = 10;
/** Default lease time-to-live; renewed every third of it. */
export const DEFAULT_LEASE_TTL_MS = 30_000;
/** Default longest timer slept in-process (see `maxInlineWaitMs`). */
export const DEFAULT_MAX_INLINE_WAIT_MS = 1_000;
/** Default bound on waiting for a busy workflow with `onBusy: 'wait'`. */
export const DEFAULT_BUSY_TIMEOUT_MS = 60_000;

/** Options of a {@link WorkflowRunner}. */
export interface WorkflowRunnerOptions {
  /** Where checkpoints go; default a new {@link MemoryStorage}. */
  readonly storage?: CheckpointStorage;
  /**
   * The workflow classes this runner can resume by id (`runner.resume(workflowId)`), each constructed
   * with no arguments; or a function that returns an instance for a workflow name (a DI container),
   * or undefined for a name it does not know.
   */
  readonly workflows?: WorkflowRegistration;
  /** Most steps running at once; default {@link DEFAULT_CONCURRENCY} (10). */
  readonly concurrency?: number;
  /** Stop starting steps after the first failure (default true); false lets independent branches finish. */
  readonly failFast?: boolean;
  /** Input-change policy when neither the run nor `@OnInputChange` sets one; default `'reuse'`. */
  readonly onInputChange?: InputChangePolicy;
  /** Fingerprint strategy (or default-strategy paths) when neither the run nor `@Fingerprint` sets one. */
  readonly fingerprint?: FingerprintStrategy | CanonicalFingerprintOptions;
  /** When another live owner runs the same workflow id: throw `WorkflowBusyError` (default) or wait. */
  readonly onBusy?: 'throw' | 'wait';
  /** Longest wait with `onBusy: 'wait'`, in ms; default 60,000. */
  readonly busyTimeoutMs?: number;
  /** Lease time-to-live in ms; default 30,000. A crashed owner's lease is taken over after it. */
  readonly leaseTtlMs?: number;
  /**
   * Timers due within this many ms are slept in-process, holding the lease; longer waits end the
   * run `'waiting'` and release it. Default {@link DEFAULT_MAX_INLINE_WAIT_MS} (1,000); 0 never sleeps.
   */
  readonly maxInlineWaitMs?: number;
  /** Lease owner description; default `pid <pid> on <host>`. */
  readonly owner?: string;
  /** Listeners for lifecycle events (same as `runner.on`). */
  readonly hooks?: WorkflowHooks;
  /** Structured logging of lifecycle events (console, pino, Nest's Logger...); silent by default. */
  readonly logger?: WaymarkLogger;
  /**
   * OpenTelemetry tracer for run and step spans. Default: `@opentelemetry/api`'s global tracer when
   * that package is installed (a no-op until an SDK is registered); `false` turns tracing off.
   */
  readonly tracer?: SpanTracer | false;
}

/** Options of one run. */
export interface RunOptions<I = unknown> {
  /** The workflow id: the namespace of its checkpoints, lease and fingerprint. */
  readonly workflowId: string;
  /** The run's input, handed to every step as `ctx.input`. */
  readonly input?: I;
  /** Skip steps committed by earlier runs (default false: start fresh, replacing old checkpoints). */
  readonly resume?: boolean;
  /** Input-change policy for this run (highest precedence). */
  readonly onInputChange?: InputChangePolicy;
  /** A fingerprint string to store instead of computing one, or a strategy for this run. */
  readonly fingerprint?: string | FingerprintStrategy;
  /** Overrides the runner's concurrency for this run. */
  readonly concurrency?: number;
  /** Overrides the runner's failFast for this run. */
  readonly failFast?: boolean;
  /** Overrides the runner's onBusy for this run. */
  readonly onBusy?: 'throw' | 'wait';
  /** Cancels the run when aborted (like `handle.cancel()`). */
  readonly signal?: AbortSignal;
}

/** Everything a run needs, resolved and checked. */
export interface ResolvedRun {
  readonly workflowId: string;
  readonly input: unknown;
  readonly resume: boolean;
  readonly policy: InputChangePolicy;
  /** False when the policy is the default, chosen by nobody. */
  readonly policyChosen: boolean;
  readonly fingerprint: string | FingerprintStrategy;
  readonly concurrency: number;
  readonly failFast: boolean;
  readonly onBusy: 'throw' | 'wait';
  readonly busyTimeoutMs: number;
  readonly leaseTtlMs: number;
  readonly owner: string;
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new InvalidOptionError(name, value, 'an integer >= 1');
  return value;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new InvalidOptionError(name, value, allowed.map((a) => `'${a}'`).join(' or '));
  return value as T;
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(name, value, 'true or false');
  return value;
}

/** Checks runner options at construction. */
export function checkRunnerOptions(options: WorkflowRunnerOptions): void {
  positiveInteger('concurrency', options.concurrency, 1);
  bool('failFast', options.failFast, true);
  oneOf('onBusy', options.onBusy, ['throw', 'wait'], 'throw');
  positiveInteger('busyTimeoutMs', options.busyTimeoutMs, 1);
  positiveInteger('leaseTtlMs', options.leaseTtlMs, 1);
  if (options.maxInlineWaitMs !== undefined && !(Number.isInteger(options.maxInlineWaitMs) && options.maxInlineWaitMs >= 0)) {
    throw new InvalidOptionError('maxInlineWaitMs', options.maxInlineWaitMs, 'an integer >= 0');
  }
  if (options.onInputChange !== undefined) assertInputChangePolicy(options.onInputChange, 'runner option onInputChange');
  if (options.fingerprint !== undefined) resolveFingerprintStrategy(options.fingerprint, 'runner option fingerprint');
  if (options.logger !== undefined && !isLogger(options.logger)) throw new InvalidOptionError('logger', options.logger, 'an object with warn, error, and info or log methods');
  if (options.hooks !== undefined && (options.hooks === null || typeof options.hooks !== 'object')) throw new InvalidOptionError('hooks', options.hooks, 'an object of event listeners');
  if (options.tracer !== undefined && options.tracer !== false && typeof options.tracer?.startSpan !== 'function') throw new InvalidOptionError('tracer', options.tracer, 'an OpenTelemetry Tracer or false');
  if (options.storage !== undefined) {
    // A provider written against an older interface fails here, naming what it lacks, not mid-run.
    const missing = STORAGE_METHODS.filter((method) => typeof (options.storage as unknown as Record<string, unknown> | null)?.[method] !== 'function');
    if (missing.length > 0) throw new InvalidOptionError('storage', options.storage, `a CheckpointStorage (missing ${missing.join(', ')})`);
  }
}

/** Default storage when none is given. */
export function defaultStorage(options: WorkflowRunnerOptions): CheckpointStorage {
  return options.storage ?? new MemoryStorage();
}

/**
 * Resolves one run's options with precedence run option > class decorator > runner option > default,
 * checking each (an invalid policy fails here, whether or not the input changed).
 */
export function resolveRun(target: Constructor, runner: WorkflowRunnerOptions, run: RunOptions): ResolvedRun {
  if (run === null || typeof run !== 'object') throw new InvalidOptionError('run options', run, '{ workflowId, input?, resume?, ... }');
  assertWorkflowId(run.workflowId);
  if (FLOW_ID.test(run.workflowId)) throw new InvalidWorkflowIdError(run.workflowId, "it is the id of a flow-control key's document, which no workflow may have");
  const chosen = run.onInputChange ?? readInputChangePolicy(target) ?? runner.onInputChange;
  const policy = chosen ?? 'reuse';
  assertInputChangePolicy(policy, run.onInputChange !== undefined ? `run option onInputChange of workflow '${run.workflowId}'` : `input-change policy of ${target.name}`);
  let fingerprint: string | FingerprintStrategy;
  if (typeof run.fingerprint === 'string') {
    if (run.fingerprint.length === 0) throw new InvalidOptionError('fingerprint', run.fingerprint, 'a non-empty string or a FingerprintStrategy');
    fingerprint = run.fingerprint;
  } else {
    const record = run.fingerprint ?? readFingerprint(target) ?? runner.fingerprint;
    fingerprint = record === undefined ? new CanonicalFingerprint() : resolveFingerprintStrategy(record, `fingerprint of workflow '${run.workflowId}'`);
  }
  if (run.signal !== undefined && !(run.signal instanceof AbortSignal)) throw new InvalidOptionError('signal', run.signal, 'an AbortSignal');
  return {
    workflowId: run.workflowId,
    input: run.input,
    resume: bool('resume', run.resume, false),
    policy,
    policyChosen: chosen !== undefined,
    fingerprint,
    concurrency: positiveInteger('concurrency', run.concurrency ?? runner.concurrency, DEFAULT_CONCURRENCY),
    failFast: bool('failFast', run.failFast ?? runner.failFast, true),
    onBusy: oneOf('onBusy', run.onBusy ?? runner.onBusy, ['throw', 'wait'], 'throw'),
    busyTimeoutMs: positiveInteger('busyTimeoutMs', runner.busyTimeoutMs, DEFAULT_BUSY_TIMEOUT_MS),
    leaseTtlMs: positiveInteger('leaseTtlMs', runner.leaseTtlMs, DEFAULT_LEASE_TTL_MS),
    owner: runner.owner ?? defaultLeaseOwner(),
  };
}
