/**
 * waymark: durable workflows for TypeScript.
 *
 * Decorate a class's methods with `@Step()`, run an instance with a {@link WorkflowRunner}, and a
 * crashed run resumes where it stopped; a changed input is detected by its fingerprint.
 */
import { assertSupportedNode } from './node-version';

// Loading waymark on a Node.js it does not support fails here, saying which it needs.
assertSupportedNode();

export { Step, Workflow, OnInputChange, Fingerprint, type StepDecorator, type WorkflowClassDecorator } from '../decorators';
export type { StepOptions, WaitForOptions, PollOptions, WorkflowOptions, Migration, Constructor, ChildSpec, StepLimit, StepRateLimit, WorkflowConcurrency } from './metadata';
export type { RetryOptions } from './retry-options';
export type { InputChangePolicy, InputChangePolicyName, InputChange } from './input-change-policy';
export { WorkflowRunner, type ResumeOptions } from './runner/workflow-runner';
export type { SendEventOptions, SendEventResult } from './runner/send-event';
export type { CancelOptions, CancelResult } from './runner/cancel';
export type { ClearWorkflowOptions } from './runner/clear';
export type { MigrateOptions, MigrationResult } from './runner/versions/migrate';
export type { RestartOptions, RestartResult } from './runner/versions/restart';
export type { VersionCount, VersionCounts } from './runner/versions/version-counts';
export type { ResumeRequestResult } from './runner/resume-request';
export { WorkflowWorker, type WorkflowWorkerOptions, type WorkerStopOptions, type WorkerState, type ScheduleOptions, type RetentionOptions } from './worker/workflow-worker';
export type { WorkflowRegistration } from './runner/workflow-registry';
export type { WorkflowInfo, StoredStepInfo, WorkflowSummary, WorkflowPage, ListOptions, ListedStatus, GetOptions, MailboxEvent, ChildInfo } from './runner/workflow-info';
export { CHILD_STATUSES_READ } from './runner/workflow-info';
export {
  DEFAULT_CONCURRENCY,
  DEFAULT_LEASE_TTL_MS,
  DEFAULT_BUSY_TIMEOUT_MS,
  DEFAULT_MAX_INLINE_WAIT_MS,
  type WorkflowRunnerOptions,
  type RunOptions,
} from './runner/runner-options';
export type { StepContext } from './runner/step-context';
export type { StepName, StepOutput, StepNames, MissingSteps, RunOutput, WorkflowInput } from './workflow-types';
export type { PruneOptions, PruneResult, PruneFailure, PrunableStatus } from './runner/prune';
export type { CompensationContext } from './runner/compensation-context';
export type { RunResult, StepResult, StepStatus, RunStatus, CompensationResult } from './runner/run-result';
export type { RunHandle, RunHandleStatus } from './runner/run-handle';
export type { WorkflowEvents, WorkflowEventName, WorkflowListener, WorkflowHooks } from './runner/run-events';
export type { WaymarkLogger } from './runner/logger';
export { CanonicalFingerprint, type CanonicalFingerprintOptions, type FingerprintStrategy } from './fingerprint';
export type { CheckpointStorage } from './storage/checkpoint-storage';
export type { AttemptFailure, Checkpoint, WorkflowRecord, WorkflowStatus, StoredError, StoredCompensation, StoredPoll, StoredItemFailure, EndedEntry, WakeEntry, StoredEvent, WorkflowCompletion, StoredRecord, StoredWorkflow, StoredStep, ParentLink, StrandedMark, VersionChange, Lease, LeaseAttempt, LeaseHolder } from './storage/records';
export { MemoryStorage } from './storage/memory-storage';
export { FileStorage, type FileStorageOptions } from './storage/file/file-storage';
export { SqliteStorage, type SqliteStorageOptions } from './storage/sqlite';
export { MAX_WORKFLOW_ID_LENGTH } from './workflow-id';
export * from './errors';
