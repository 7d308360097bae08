/**
 * Every error waymark throws, in one flat hierarchy rooted at {@link WaymarkError}.
 *
 * Each class has a stable `code` (safe to switch on across versions) and carries the ids a
 * reader needs to find what went wrong: workflow id, step, path, file or key.
 */
import type { RunResult } from './runner/run-result';

/** Root of the hierarchy: `instanceof WaymarkError` catches everything waymark throws. */
export abstract class WaymarkError extends Error {
  /** Stable, machine-readable error code, e.g. `WAYMARK_INPUT_CHANGED`. */
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The workflow class is not a valid step graph: unknown dependency, cycle, duplicate name, no steps, bad step option. */
export class WorkflowDefinitionError extends WaymarkError {
  readonly code = 'WAYMARK_DEFINITION';
  constructor(
    message: string,
    readonly className: string,
    readonly step?: string,
  ) {
    super(`${className}${step === undefined ? '' : `.${step}`}: ${message}`);
  }
}

/** A resumed run's graph no longer matches the committed checkpoints (a committed step removed, renamed or re-wired). */
export class WorkflowDefinitionChangedError extends WaymarkError {
  readonly code = 'WAYMARK_DEFINITION_CHANGED';
  constructor(
    readonly workflowId: string,
    readonly differences: readonly string[],
  ) {
    super(
      `workflow '${workflowId}': the step graph changed since its checkpoints were committed: ${differences.join('; ')}. ` +
        `Run with resume: false (or clear the workflow) to start over.`,
    );
  }
}

/** An `@OnInputChange` value, run option or runner option is not a valid policy. */
export class InvalidInputChangePolicyError extends WaymarkError {
  readonly code = 'WAYMARK_INVALID_INPUT_CHANGE_POLICY';
  constructor(
    readonly policy: unknown,
    readonly where: string,
  ) {
    super(
      `${where}: invalid input-change policy ${describeValue(policy)}; ` +
        `expected 'reuse', 'reset', 'raise' or a function (change) => one of them`,
    );
  }
}

/** A runner or run option has an invalid value. */
export class InvalidOptionError extends WaymarkError {
  readonly code = 'WAYMARK_INVALID_OPTION';
  constructor(
    readonly option: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`option '${option}' is ${describeValue(value)}; expected ${expected}`);
  }
}

/** A resumed run's input fingerprint differs from the stored one and the policy is `raise`. Nothing was written. */
export class InputChangedError extends WaymarkError {
  readonly code = 'WAYMARK_INPUT_CHANGED';
  constructor(
    readonly workflowId: string,
    readonly storedFingerprint: string,
    readonly currentFingerprint: string,
  ) {
    super(
      `workflow '${workflowId}': input changed since the checkpoints were written ` +
        `(stored fingerprint ${storedFingerprint}, current ${currentFingerprint}); policy is 'raise', nothing was run or written`,
    );
  }
}

/** The input cannot be fingerprinted because it is not plain JSON data at `path`. */
export class UnfingerprintableInputError extends WaymarkError {
  readonly code = 'WAYMARK_UNFINGERPRINTABLE_INPUT';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`input at ${path} cannot be fingerprinted: ${reason}`);
  }
}

/** A fingerprint `exclude`/`include` path is malformed. */
export class InvalidFingerprintPathError extends WaymarkError {
  readonly code = 'WAYMARK_INVALID_FINGERPRINT_PATH';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`fingerprint path '${path}' is invalid: ${reason}`);
  }
}

/** One violated constraint of a workflow's input class. */
export interface InputViolation {
  /** Dotted property path, e.g. `customer.email` or `items.0.sku`. */
  readonly property: string;
  /** Constraint name to message, as class-validator reports them. */
  readonly constraints: Readonly<Record<string, string>>;
}

/** The input does not satisfy the workflow's `@Workflow({ input })` class. Nothing was read or written. */
export class WorkflowInputError extends WaymarkError {
  readonly code = 'WAYMARK_INVALID_INPUT';
  constructor(
    readonly workflowId: string,
    readonly inputClass: string,
    readonly violations: readonly InputViolation[],
    detail?: string,
  ) {
    super(
      `workflow '${workflowId}': input is not a valid ${inputClass}: ` +
        (detail ??
          violations.map((v) => `${v.property} (${Object.values(v.constraints).join(', ')})`).join('; ')),
    );
  }
}

/** A step's output cannot be stored as a checkpoint (function, symbol, class instance, cycle...). The step failed; nothing was written. */
export class CheckpointSerializationError extends WaymarkError {
  readonly code = 'WAYMARK_CHECKPOINT_SERIALIZATION';
  constructor(
    readonly workflowId: string,
    readonly step: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`workflow '${workflowId}', step '${step}': output at ${path} cannot be checkpointed: ${reason}`);
  }
}

/** A stored checkpoint or record cannot be read or parsed. It is never treated as "not done". */
export class CheckpointCorruptedError extends WaymarkError {
  readonly code = 'WAYMARK_CHECKPOINT_CORRUPTED';
  constructor(
    readonly workflowId: string,
    readonly location: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `workflow '${workflowId}': stored data at ${location} is corrupted: ${reason}. ` +
        `To recover, run it with resume: false (replaces what is stored) or clear it (storage.clear, or 'waymark clear ${workflowId}'); its committed steps will run again`,
      options,
    );
  }
}

/** A workflow id (or step name used as a storage key) is empty, too long, or has characters that cannot be stored safely. */
export class InvalidWorkflowIdError extends WaymarkError {
  readonly code = 'WAYMARK_INVALID_WORKFLOW_ID';
  constructor(
    readonly workflowId: string,
    readonly reason: string,
  ) {
    super(`workflow id ${JSON.stringify(workflowId.length > 80 ? workflowId.slice(0, 80) + '…' : workflowId)} is invalid: ${reason}`);
  }
}

/** Throw this (or a subclass) from a step to stop retrying at once. */
export class NonRetryableError extends WaymarkError {
  readonly code: string = 'WAYMARK_NON_RETRYABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A step asked `ctx.previous` or `ctx.result(name)` for a step it does not declare in `after`. */
/** Not retried: asking for an undeclared dependency is a definition mistake, not a transient fault. */
export class StepDependencyError extends NonRetryableError {
  override readonly code = 'WAYMARK_STEP_DEPENDENCY';
  constructor(
    readonly workflowId: string,
    readonly step: string,
    message: string,
  ) {
    super(`workflow '${workflowId}', step '${step}': ${message}`);
  }
}

/** An attempt ran past the step's `timeoutMs`; `ctx.signal` was aborted. */
export class StepTimeoutError extends WaymarkError {
  readonly code = 'WAYMARK_STEP_TIMEOUT';
  constructor(
    readonly workflowId: string,
    readonly step: string,
    readonly attempt: number,
    readonly timeoutMs: number,
  ) {
    super(`workflow '${workflowId}', step '${step}': attempt ${attempt} timed out after ${timeoutMs} ms`);
  }
}

/** A step failed for good (after its last attempt); `cause` is the last attempt's error. */
export class StepFailedError extends WaymarkError {
  readonly code = 'WAYMARK_STEP_FAILED';
  constructor(
    readonly workflowId: string,
    readonly step: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(
      `workflow '${workflowId}', step '${step}' failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${errorMessage(cause)}`,
      { cause },
    );
  }
}

/** Storage failed (I/O, network, permission) during `operation`; for a commit, the step was not recorded as done. */
export class StorageError extends WaymarkError {
  readonly code: string = 'WAYMARK_STORAGE';
  constructor(
    readonly workflowId: string,
    readonly operation: string,
    cause: unknown,
    readonly step?: string,
    readonly location?: string,
  ) {
    super(
      `workflow '${workflowId}'${step === undefined ? '' : `, step '${step}'`}: storage ${operation} failed` +
        `${location === undefined ? '' : ` at ${location}`}: ${errorMessage(cause)}`,
      { cause },
    );
  }
}

/** A conditional write found the stored record changed by someone else (two writers without a lease). */
export class RecordConflictError extends WaymarkError {
  readonly code = 'WAYMARK_RECORD_CONFLICT';
  constructor(
    readonly workflowId: string,
    readonly location: string,
  ) {
    super(`workflow '${workflowId}': the record at ${location} was changed by another writer`);
  }
}

/** Another live owner holds the workflow's lease (`onBusy: 'throw'`, or the wait ran out). */
export class WorkflowBusyError extends WaymarkError {
  readonly code = 'WAYMARK_WORKFLOW_BUSY';
  constructor(
    readonly workflowId: string,
    readonly holder?: string,
    readonly expiresAt?: number,
  ) {
    const details = [
      ...(holder === undefined ? [] : [`lease held by ${holder}`]),
      ...(expiresAt === undefined || !Number.isFinite(expiresAt) ? [] : [`expires ${new Date(expiresAt).toISOString()}`]),
    ];
    super(`workflow '${workflowId}' is already running${details.length === 0 ? '' : ` (${details.join(', ')})`}`);
  }
}

/** The run's lease was lost (expired or taken over); nothing more is committed. */
export class LeaseLostError extends WaymarkError {
  readonly code = 'WAYMARK_LEASE_LOST';
  constructor(
    readonly workflowId: string,
    readonly step?: string,
  ) {
    super(
      `workflow '${workflowId}'${step === undefined ? '' : `, step '${step}'`}: the lease on this workflow was lost; nothing was committed`,
    );
  }
}

/** A run ended with a failed step. `result` is the full run result; `cause` is the first {@link StepFailedError}. */
export class WorkflowFailedError extends WaymarkError {
  readonly code = 'WAYMARK_WORKFLOW_FAILED';
  constructor(
    readonly result: RunResult,
    cause: unknown,
  ) {
    super(`workflow '${result.workflowId}' failed: ${errorMessage(cause)}`, { cause });
  }
}

/** A run was cancelled with `handle.cancel()`. Committed checkpoints stay for a later resume. */
export class WorkflowCancelledError extends WaymarkError {
  readonly code = 'WAYMARK_WORKFLOW_CANCELLED';
  constructor(readonly result: RunResult) {
    super(`workflow '${result.workflowId}' was cancelled`);
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
