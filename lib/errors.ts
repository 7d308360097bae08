/**
 * Every error waymark throws, in one flat hierarchy rooted at {@link WaymarkError}.
 *
 * Each class has a stable `code` (safe to switch on across versions) and carries the ids a
 * reader needs to find what went wrong: workflow id, step, path, file or key.
 */
import type { RunResult } from './runner/run-result';

/** Which workflow (and step) an error is about; its message then starts by naming them, once. */
export interface ErrorLocation {
  readonly workflowId: string;
  readonly step?: string;
}

/** Options of a {@link WaymarkError}. */
export interface WaymarkErrorOptions {
  readonly cause?: unknown;
  /** Prefixes the message with `workflow '<id>', step '<step>': `, and lets wrapping errors leave it out. */
  readonly where?: ErrorLocation;
}

/** Root of the hierarchy: `instanceof WaymarkError` catches everything waymark throws. */
export abstract class WaymarkError extends Error {
  /** Stable, machine-readable error code, e.g. `WAYMARK_INPUT_CHANGED`. */
  abstract readonly code: string;
  /** The message without the workflow and step it names (so an error wrapping it says them once). */
  readonly detail: string;
  /** The workflow and step the message names, if any. */
  readonly origin?: ErrorLocation;

  constructor(detail: string, options?: WaymarkErrorOptions) {
    const where = options?.where;
    super(where === undefined ? detail : `${locationText(where)}${detail.startsWith(' ') ? '' : ': '}${detail}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.detail = detail.trimStart();
    if (where !== undefined) this.origin = where;
  }
}

function locationText(where: ErrorLocation): string {
  return `workflow '${where.workflowId}'${where.step === undefined ? '' : `, step '${where.step}'`}`;
}

/**
 * `cause`'s message as seen from inside workflow `workflowId` (and `step`): the location it shares
 * with its wrapper is not repeated.
 */
function detailWithin(cause: unknown, workflowId: string, step?: string): string {
  if (!(cause instanceof WaymarkError) || cause.origin?.workflowId !== workflowId) return errorMessage(cause);
  const causeStep = cause.origin.step;
  if (causeStep === undefined || causeStep === step) return cause.detail;
  return `step '${causeStep}'${cause.message.slice(locationText(cause.origin).length)}`;
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
      `the step graph changed since its checkpoints were committed: ${differences.join('; ')}. ` + `Run with resume: false (or clear the workflow) to start over`,
      { where: { workflowId } },
    );
  }
}

/**
 * A run with `resume: true` was given an instance of another version than the stored run is pinned
 * to: nothing was run or changed. Resume it by id (`runner.resume`, which picks the run's own version),
 * migrate it (`runner.migrate`), or start it over with `resume: false`.
 */
export class WorkflowVersionMismatchError extends WaymarkError {
  readonly code = 'WAYMARK_VERSION_MISMATCH';
  constructor(
    readonly workflowId: string,
    readonly workflowName: string,
    /** The version the stored run is pinned to. */
    readonly storedVersion: number,
    /** The version of the instance given. */
    readonly version: number,
  ) {
    super(
      `its run is pinned to ${workflowName}@${storedVersion}, and this run was given ${workflowName}@${version}: nothing was run or changed. ` +
        `Resume it by id (runner.resume picks the run's own version), move it with runner.migrate(id, { to: ${version} }), or start it over with resume: false`,
      { where: { workflowId } },
    );
  }
}

/** A migration (`runner.migrate`) refused before writing anything: `reasons` name each step that stops it. */
export class MigrationRefusedError extends WaymarkError {
  readonly code = 'WAYMARK_MIGRATION_REFUSED';
  constructor(
    readonly workflowId: string,
    readonly from: number,
    readonly to: number,
    readonly reasons: readonly string[],
  ) {
    super(`cannot move from version ${from} to ${to}: ${reasons.join('; ')}. Nothing was changed; declare the move in @Workflow({ migrate }) or finish the run under version ${from}`, { where: { workflowId } });
  }
}

/** A restart from a step (`runner.restart`) refused before writing anything; the message says why and what to do. */
export class RestartRefusedError extends WaymarkError {
  readonly code = 'WAYMARK_RESTART_REFUSED';
  constructor(
    readonly workflowId: string,
    readonly step: string,
    reason: string,
  ) {
    super(`cannot restart from step '${step}': ${reason}. Nothing was changed`, { where: { workflowId } });
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
      `input changed since the checkpoints were written ` +
        `(stored fingerprint ${storedFingerprint}, current ${currentFingerprint}); policy is 'raise', nothing was run or written`,
      { where: { workflowId } },
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
    super(`input is not a valid ${inputClass}: ` + (detail ?? violations.map((v) => `${v.property} (${Object.values(v.constraints).join(', ')})`).join('; ')), {
      where: { workflowId },
    });
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
    super(`output at ${path} cannot be checkpointed: ${reason}`, { where: { workflowId, step } });
  }
}

/**
 * A run's input cannot be stored (function, symbol, class instance, cycle...). The input is stored
 * with the workflow so that any process can resume it by id; the run was refused before anything was
 * read or written.
 */
export class InputSerializationError extends WaymarkError {
  readonly code = 'WAYMARK_INPUT_SERIALIZATION';
  constructor(
    readonly workflowId: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(
      `input at ${path} cannot be stored: ${reason}. The input is stored so that any process can resume the workflow by its id: ` +
        'pass plain data (JSON values, Date, Map, Set, BigInt, Buffer) and keep clients and connections on the workflow instance',
      { where: { workflowId } },
    );
  }
}

/**
 * There is nothing to resume by this id: nothing is stored under it (never run here, or cleared), or
 * its record holds no input (written by waymark 0.1, before inputs were stored).
 */
export class WorkflowNotFoundError extends WaymarkError {
  readonly code = 'WAYMARK_WORKFLOW_NOT_FOUND';
  constructor(
    readonly workflowId: string,
    readonly reason: 'nothing stored' | 'no input stored' = 'nothing stored',
  ) {
    super(
      reason === 'nothing stored'
        ? 'nothing is stored under this id (it never ran with this storage, or was cleared or pruned): start it with runner.run(instance, { workflowId, input })'
        : 'its record holds no input (it was written before waymark stored inputs): resume it once with runner.run(instance, { workflowId, input, resume: true })',
      { where: { workflowId } },
    );
  }
}

/**
 * A stored workflow cannot be resumed by id: its class is not registered with the runner. Never
 * skipped silently.
 */
export class WorkflowNotRegisteredError extends WaymarkError {
  readonly code = 'WAYMARK_WORKFLOW_NOT_REGISTERED';
  constructor(
    readonly workflowId: string,
    readonly workflowName: string,
    /** The version the run is pinned to, when its name is registered in other versions only (or the record names one). */
    readonly version?: number,
    /** The versions of the name this runner has, if any. */
    readonly registered: readonly number[] = [],
  ) {
    super(
      registered.length > 0
        ? `its run is pinned to ${workflowName}@${version} and this runner has ${registered.map((v) => `${workflowName}@${v}`).join(', ')} only: ` +
            `nothing was run or changed. Register the class of version ${version} beside the new one (workflows: [...]), or move the run with runner.migrate(id, { to }) / waymark migrate`
        : `its workflow '${workflowName}'${version === undefined ? '' : ` (version ${version})`} is not registered with this runner: pass its class in new WorkflowRunner({ workflows: [...] }) ` + `(or a function (name, version) => instance, for a DI container)`,
      { where: { workflowId } },
    );
  }
}

/** An event's payload cannot be stored (function, symbol, class instance, cycle...); nothing was stored. */
export class EventSerializationError extends WaymarkError {
  readonly code = 'WAYMARK_EVENT_SERIALIZATION';
  constructor(
    readonly workflowId: string,
    readonly event: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`event '${event}': payload at ${path} cannot be stored: ${reason}. Send plain data (JSON values, Date, Map, Set, BigInt, Buffer)`, { where: { workflowId } });
  }
}

/** A step's `waitFor` ran out of time with `onTimeout: 'fail'` (the default). Not retried. */
export class EventTimeoutError extends WaymarkError {
  readonly code = 'WAYMARK_EVENT_TIMEOUT';
  constructor(
    readonly workflowId: string,
    readonly step: string,
    readonly event: string,
    readonly timeoutMs: number,
  ) {
    super(`no '${event}' event arrived within ${timeoutMs} ms of the step becoming ready (waitFor.timeoutMs); use onTimeout: 'run' to run it anyway`, { where: { workflowId, step } });
  }
}

/**
 * Thrown by a step (or by `ctx.retryAfter(...)`) to say "not yet, look again later": the attempt
 * ends without failing, the time to look again is stored, and the step waits like a timer (no lease
 * held while it waits longer than `maxInlineWaitMs`). `at` is epoch ms.
 */
export class RetryLater extends WaymarkError {
  readonly code = 'WAYMARK_RETRY_LATER';
  /** When to look again, epoch ms. */
  readonly at: number;
  constructor(after: number | Date) {
    const at = after instanceof Date ? after.getTime() : typeof after === 'number' && after >= 0 && Number.isFinite(after) ? Date.now() + after : NaN;
    if (!Number.isFinite(at) || Math.abs(at) > 8.64e15) {
      throw new InvalidOptionError('retryAfter', after, 'a delay in ms (>= 0) or a valid Date');
    }
    super(`not ready yet; look again at ${new Date(at).toISOString()}`);
    this.at = at;
  }
}

/** A polling step (`@Step({ poll: { timeoutMs } })`) was still not ready when its time ran out. Not retried. */
export class PollTimeoutError extends WaymarkError {
  readonly code = 'WAYMARK_POLL_TIMEOUT';
  constructor(
    readonly workflowId: string,
    readonly step: string,
    readonly polls: number,
    readonly timeoutMs: number,
  ) {
    super(`still not ready after ${polls} ${polls === 1 ? 'poll' : 'polls'} and ${timeoutMs} ms (poll.timeoutMs); raise it, or use onTimeout: 'run' to let the step decide on its last call`, { where: { workflowId, step } });
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
      `stored data at ${location} is corrupted: ${reason}. ` +
        `To recover, run it with resume: false (replaces what is stored) or clear it (storage.clear, or 'waymark clear ${workflowId}'); its committed steps will run again`,
      { cause: options?.cause, where: { workflowId } },
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

/** waymark was loaded on a Node.js it does not support (what `engines` in its package.json says). */
export class UnsupportedNodeError extends WaymarkError {
  readonly code = 'WAYMARK_UNSUPPORTED_NODE';
  constructor(
    /** The Node.js version that loaded waymark. */
    readonly version: string,
    /** The versions waymark supports, as a semver range. */
    readonly supported: string,
  ) {
    super(`waymark needs Node.js ${supported}; this is Node.js ${version}. Install a supported long-term-support line (22 or 24), or run with one: npx --package node@24 -- node your-app.js`);
  }
}

/** Throw this (or a subclass) from a step to stop retrying at once. */
export class NonRetryableError extends WaymarkError {
  readonly code: string = 'WAYMARK_NON_RETRYABLE';
  constructor(message: string, options?: WaymarkErrorOptions) {
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
    super(message, { where: { workflowId, step } });
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
    super(`attempt ${attempt} timed out after ${timeoutMs} ms`, { where: { workflowId, step } });
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
    // A leading space joins the location without a colon: "workflow 'w', step 's' failed after ...".
    // A step that failed before any attempt of its own (its children failed, say) says no count.
    const after = attempts === 0 ? '' : ` after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
    super(` failed${after}: ${detailWithin(cause, workflowId, step)}`, { cause, where: { workflowId, step } });
  }
}

/** A fan-out's `forEach` (`@Step({ forEach })`) gave something other than an array: the step fails, no item runs. */
export class FanOutListError extends NonRetryableError {
  override readonly code = 'WAYMARK_FAN_OUT_LIST';
  constructor(
    readonly workflowId: string,
    readonly step: string,
    readonly got: string,
  ) {
    super(`forEach returned ${got}; it must return an array of the items to run the step for (or a promise of one)`, { where: { workflowId, step } });
  }
}

/** One item of a fan-out that failed for good: its index in the committed list, its error's code and message, its attempts. */
export interface ItemFailureInfo {
  readonly index: number;
  readonly code: string;
  readonly message: string;
  readonly attempts: number;
}

/**
 * More items of a fan-out (`@Step({ forEach })`) failed for good than its `toleratedFailures` allows.
 * Committed items stay committed: a resume runs only the items that are not (the failed ones
 * included), and a compensating workflow undoes the committed ones.
 */
export class FanOutFailedError extends WaymarkError {
  readonly code = 'WAYMARK_FAN_OUT_FAILED';
  constructor(
    readonly workflowId: string,
    readonly step: string,
    /** Items in the committed list. */
    readonly total: number,
    /** How many failures the step tolerates. */
    readonly tolerated: number,
    /** The items that failed, in the order they failed. */
    readonly failures: readonly ItemFailureInfo[],
  ) {
    const shown = failures.slice(0, 3).map((f) => `item ${f.index} (${f.code}: ${f.message})`);
    const more = failures.length > shown.length ? `, and ${failures.length - shown.length} more` : '';
    super(
      `${failures.length} of ${total} items failed, more than the ${tolerated} its toleratedFailures allows: ${shown.join('; ')}${more}. ` +
        `Committed items are kept: a resume runs only the items not committed`,
      { where: { workflowId, step } },
    );
  }
}

/**
 * A step's `spawn` (`@Step({ spawn })`) returned something that cannot start child workflows: not a
 * `{ workflow, input?, id? }` (or an array of them), a class that is no registered workflow, an id
 * that is not valid, two children with one id, or an input the child's input class refuses. Nothing
 * was started or committed: fix the spawn and resume.
 */
export class ChildSpawnError extends NonRetryableError {
  override readonly code = 'WAYMARK_CHILD_SPAWN_INVALID';
  constructor(
    readonly workflowId: string,
    readonly step: string,
    /** What was wrong, and where (`children[2].workflow` ...). */
    readonly reason: string,
  ) {
    super(`spawn cannot start its child workflows: ${reason}`, { where: { workflowId, step } });
  }
}

/**
 * A child workflow's id is taken by a workflow that is not that child (another parent's, or one
 * started by hand) and has not ended: the child is not started over it. Give the child another `id`
 * in the spawn, or cancel or clear the workflow holding it, then resume the parent.
 */
export class ChildIdTakenError extends NonRetryableError {
  override readonly code = 'WAYMARK_CHILD_ID_TAKEN';
  constructor(
    readonly workflowId: string,
    readonly step: string,
    readonly childId: string,
    /** Who holds the id: `workflow 'order' (status running)`, or `parent 'o-1', step 'ship'`. */
    readonly holder: string,
  ) {
    super(`child workflow id '${childId}' is taken by ${holder}, which has not ended; give the child another id in spawn, or cancel or clear '${childId}', then resume`, { where: { workflowId, step } });
  }
}

/** A child workflow that ended without completing, as its parent saw it. */
export interface ChildFailureInfo {
  /** Its index among the step's children. */
  readonly index: number;
  readonly childId: string;
  /** How it ended: `'failed'`, `'cancelled'` or `'compensated'`. */
  readonly status: string;
  readonly code: string;
  readonly message: string;
}

/**
 * Child workflows a step started ended without completing (`@Step({ spawn })`, `childFailure:
 * 'fail'`, the default). Every child ended before this is raised. A resume of the parent resumes
 * its failed children (each from its failed step) and waits for them again; cancelled and
 * compensated children end that way for good.
 */
export class ChildWorkflowFailedError extends WaymarkError {
  readonly code = 'WAYMARK_CHILD_FAILED';
  constructor(
    readonly workflowId: string,
    readonly step: string,
    /** The children it started. */
    readonly total: number,
    readonly failures: readonly ChildFailureInfo[],
  ) {
    const shown = failures.slice(0, 3).map((f) => `child '${f.childId}' ${f.status} (${f.code}: ${f.message})`);
    const more = failures.length > shown.length ? `, and ${failures.length - shown.length} more` : '';
    super(`${failures.length} of ${total} child workflows did not complete: ${shown.join('; ')}${more}. A resume of this workflow resumes its failed children and waits for them again`, { where: { workflowId, step } });
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
    super(`storage ${operation} failed${location === undefined ? '' : ` at ${location}`}: ${errorMessage(cause)}`, { cause, where: { workflowId, step } });
  }
}

/** A conditional write found the stored record changed by someone else (two writers without a lease). */
export class RecordConflictError extends WaymarkError {
  readonly code = 'WAYMARK_RECORD_CONFLICT';
  constructor(
    readonly workflowId: string,
    readonly location: string,
  ) {
    super(`the record at ${location} was changed by another writer`, { where: { workflowId } });
  }
}

/**
 * A flow-control key function (`@Workflow({ concurrency: { key } })`, `@Step({ limit: { key } })`,
 * `@Step({ rateLimit: { key } })`) returned something that is not a key. The run (or the step) fails
 * and holds no slot; fix the function and resume the workflow.
 */
export class InvalidFlowKeyError extends NonRetryableError {
  override readonly code = 'WAYMARK_INVALID_FLOW_KEY';
  constructor(
    readonly workflowId: string,
    readonly step: string | undefined,
    readonly problem: string,
  ) {
    super(`its ${step === undefined ? 'concurrency' : 'limit'} key function returned no key (${problem}): return a name of 1-100 characters, then resume the workflow`, { where: { workflowId, step } });
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
    const until = expiresAt === undefined || !Number.isFinite(expiresAt) ? undefined : new Date(expiresAt).toISOString();
    const lease = holder === undefined ? (until === undefined ? '' : `: its lease runs until ${until}`) : `: its lease is held by ${holder}${until === undefined ? '' : ` until ${until}`}`;
    super(`workflow '${workflowId}' is already running${lease}`);
  }
}

/** The run's lease was lost (expired or taken over); nothing more is committed. */
export class LeaseLostError extends WaymarkError {
  readonly code = 'WAYMARK_LEASE_LOST';
  constructor(
    readonly workflowId: string,
    readonly step?: string,
  ) {
    super(`the lease on this workflow was lost; nothing was committed`, { where: { workflowId, step } });
  }
}

/**
 * A step's compensation failed for good (`@Step({ compensate })`). The workflow's record says
 * `'failed'`; a resume tries the compensations that are not committed yet again.
 */
export class CompensationFailedError extends WaymarkError {
  readonly code = 'WAYMARK_COMPENSATION_FAILED';
  constructor(
    readonly workflowId: string,
    /** The step whose compensation failed. */
    readonly step: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(` compensation failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${detailWithin(cause, workflowId, step)}; resume the workflow to try it again`, { cause, where: { workflowId, step } });
  }
}

/**
 * Stands in for a step's error that an earlier run stored (a resume of a workflow that compensates
 * has only the record): the stored `code` and message. Not a `WaymarkError`: the code is the step
 * error's own (`CARD_DECLINED`), or `WAYMARK_STEP_FAILED` when it had none.
 */
export class StoredStepError extends Error {
  constructor(
    /** The failed step's error code, as stored. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'StoredStepError';
  }
}

/**
 * A run ended with a failed step. `result` is the full run result; `cause` is the first
 * {@link StepFailedError}. In a workflow that compensates, `result.status` is `'compensated'`
 * when every compensation succeeded, else `'failed'` with `compensationErrors` listing the
 * compensations that failed.
 */
export class WorkflowFailedError extends WaymarkError {
  readonly code = 'WAYMARK_WORKFLOW_FAILED';
  constructor(
    readonly result: RunResult,
    cause: unknown,
    /** Compensations that failed for good in this run (none when it compensated, or nothing compensates). */
    readonly compensationErrors: readonly CompensationFailedError[] = [],
  ) {
    super(` failed: ${detailWithin(cause, result.workflowId)}${compensationText(result, compensationErrors)}`, { cause, where: { workflowId: result.workflowId } });
  }
}

function compensationText(result: RunResult, errors: readonly CompensationFailedError[]): string {
  if (result.status === 'compensated') return '; compensated';
  if (errors.length === 0) return '';
  return `; compensation failed for ${errors.map((e) => `'${e.step}' (${errorMessage(e.cause)})`).join(', ')}`;
}

/**
 * The reason a {@link WorkflowWorker} aborts the runs it started when it stops: a run aborted with it
 * stores no outcome (the workflow stays `'running'`, for the next worker), unlike a cancel.
 */
export class RunInterruptedError extends WaymarkError {
  readonly code = 'WAYMARK_RUN_INTERRUPTED';
  constructor(readonly why: string) {
    super(`interrupted: ${why}; the workflow stays running and another worker resumes it`);
  }
}

/** A run was cancelled with `handle.cancel()`. Committed checkpoints stay for a later resume. */
export class WorkflowCancelledError extends WaymarkError {
  readonly code = 'WAYMARK_WORKFLOW_CANCELLED';
  constructor(readonly result: RunResult) {
    super(`workflow '${result.workflowId}' was cancelled`);
  }
}

/**
 * The reason a run's steps see on `ctx.signal` when their workflow is cancelled by id
 * (`runner.cancel`): stop, nothing this attempt returns is committed.
 */
export class WorkflowCancelRequestedError extends WaymarkError {
  readonly code = 'WAYMARK_CANCEL_REQUESTED';
  constructor(
    readonly workflowId: string,
    readonly reason: string,
  ) {
    super(`cancelled by id: ${reason}`, { where: { workflowId } });
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
