/**
 * `runner.restart(workflowId, { from })`: runs a step again, and every step that depends on it
 * (transitively), keeping the other commits; the operator's answer to "a bug in step 5 failed 300
 * runs". Decided from the record's own graph, so it needs no class (the CLI and `waymark ui` do it
 * too). Under the lease, in one conditional write of the record: each step run again gets a fresh
 * stored name (`stepKeys`), its old checkpoints are no longer the run's, and the run is `'running'`
 * with a wake entry now, so a worker (or `runner.resume`) runs those steps with the stored input.
 *
 * Decided here: compensations of the discarded commits are not called (the steps run again, and are
 * expected to be idempotent, as every step is); an event a discarded `waitFor` step had consumed is
 * free again and the step consumes it again; a step that started child workflows is refused (its
 * children are runs of their own: restart or resume them by id).
 */
import { childrenKey } from '../../item-keys';
import { InvalidOptionError, RestartRefusedError } from '../../errors';
import { isoNow } from '../../iso-now';
import type { CheckpointStorage } from '../../storage/checkpoint-storage';
import type { StoredStep, VersionChange, WorkflowRecord, WorkflowStatus } from '../../storage/records';
import { assertWorkflowId } from '../../workflow-id';
import { statusOf } from '../workflow-info';
import { freshKey, StepKeys, storedBases } from './step-keys';
import { underLease } from './under-lease';

/** Options of `runner.restart`. */
export interface RestartOptions {
  /** The step to run again; every step that depends on it runs again too. */
  readonly from: string;
  /** Only say what would run again: nothing is written, and no lease is taken. */
  readonly dryRun?: boolean;
}

/** What `runner.restart` did (or, with `dryRun`, would do). */
export interface RestartResult {
  readonly workflowId: string;
  readonly from: string;
  /** The steps that run again: `from` and its dependents, in graph order. */
  readonly rerun: readonly string[];
  /** Those of them whose commits were discarded (the others had not run). */
  readonly discarded: readonly string[];
  /** The status the workflow had. */
  readonly status: WorkflowStatus;
  readonly dryRun: boolean;
}

/** Statuses a restart refuses: a run undone or cancelled is started afresh instead. */
const REFUSED: ReadonlySet<WorkflowStatus> = new Set(['compensating', 'compensated', 'cancelled']);

/** What a restart needs of the runner. */
export interface RestartDeps {
  readonly storage: CheckpointStorage;
  readonly owner: string;
  wake(workflowId: string): Promise<void>;
}

/** `from` and the steps that depend on it, transitively, in the graph's order. */
export function dependentsOf(steps: readonly StoredStep[], from: string): string[] {
  const rerun = new Set([from]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const step of steps) {
      if (!rerun.has(step.name) && step.after.some((dep) => rerun.has(dep))) {
        rerun.add(step.name);
        grew = true;
      }
    }
  }
  return steps.map((s) => s.name).filter((name) => rerun.has(name));
}

/** Restarts workflow `workflowId` from step `options.from` (see the module's comment). */
export async function restartWorkflow(d: RestartDeps, workflowId: string, options: RestartOptions): Promise<RestartResult> {
  assertWorkflowId(workflowId);
  if (options === null || typeof options !== 'object' || typeof options.from !== 'string') throw new InvalidOptionError('restart options', options, "{ from: 'stepName', dryRun? }");
  if (options.dryRun !== undefined && typeof options.dryRun !== 'boolean') throw new InvalidOptionError('dryRun', options.dryRun, 'true or false');
  const { from } = options;
  const plan = (record: WorkflowRecord, storedNames: readonly string[]) => {
    const status = statusOf(record);
    if (REFUSED.has(status)) throw new RestartRefusedError(workflowId, from, `it is ${status}: its steps were undone or cancelled; start it afresh with resume: false instead`);
    if (!record.steps.some((s) => s.name === from)) throw new RestartRefusedError(workflowId, from, `no such step in its graph (${record.workflowName}@${record.version ?? 1}: ${record.steps.map((s) => s.name).join(', ')})`);
    const rerun = dependentsOf(record.steps, from);
    const keys = StepKeys.of(record);
    const live = new Set(keys.live(storedNames));
    for (const step of rerun) {
      if (live.has(childrenKey(step))) throw new RestartRefusedError(workflowId, from, `step '${step}' started child workflows, which are runs of their own: restart or resume those by id`);
    }
    const liveBases = new Set([...live].map((n) => n.split('\u001f')[0]!));
    const discarded = rerun.filter((step) => liveBases.has(step));
    return { status, rerun, discarded, keys };
  };
  if (options.dryRun === true) {
    const stored = await d.storage.load(workflowId);
    if (stored?.record === undefined) throw new RestartRefusedError(workflowId, from, 'nothing is stored under this id');
    const { status, rerun, discarded } = plan(stored.record, stored.committedSteps);
    return { workflowId, from, rerun, discarded, status, dryRun: true };
  }
  const result = await underLease(d.storage, workflowId, `restart (${d.owner})`, async ({ lease, stored }) => {
    const { record, recordVersion } = stored;
    const { status, rerun, discarded, keys } = plan(record, stored.committedSteps);
    // Each discarded step commits under a name no stored checkpoint has; the others keep theirs.
    const used = storedBases(stored.committedSteps);
    const stepKeys: Record<string, string> = {};
    for (const s of record.steps) {
      const key = keys.key(s.name);
      if (discarded.includes(s.name)) {
        const fresh = freshKey(s.name, used);
        used.add(fresh);
        stepKeys[s.name] = fresh;
      } else if (key !== s.name) stepKeys[s.name] = key;
    }
    const drop = <T>(fields: Readonly<Record<string, T>> | undefined) => (fields === undefined ? undefined : Object.fromEntries(Object.entries(fields).filter(([step]) => !rerun.includes(step))));
    const change: VersionChange = { kind: 'restarted', at: isoNow(), discarded, status };
    const now = isoNow();
    const next: WorkflowRecord = {
      ...record,
      status: 'running',
      stepKeys,
      branches: drop(record.branches),
      timers: drop(record.timers),
      polls: drop(record.polls),
      fanOuts: drop(record.fanOuts),
      children: drop(record.children),
      waiting: undefined,
      waitingFor: undefined,
      error: undefined,
      completion: undefined,
      endedAt: undefined,
      stranded: undefined,
      wakeAt: now,
      history: [...(record.history ?? []), change].slice(-20),
      updatedAt: now,
    };
    // The wake entry first: a crash between leaves an entry a worker drops, never a run nobody resumes.
    await d.storage.addWake({ workflowId, wakeAt: Date.parse(now) });
    await d.storage.writeRecord(workflowId, next, recordVersion, lease);
    if (record.wakeAt !== undefined && record.wakeAt !== now) await d.storage.removeWake({ workflowId, wakeAt: Date.parse(record.wakeAt) }).catch(() => undefined);
    return { workflowId, from, rerun, discarded, status, dryRun: false };
  });
  await d.wake(workflowId);
  return result;
}
