/**
 * In-memory state of one run: each step's status, attempts and output.
 *
 * Plain state: assigning does no I/O. Commits are the runner's job, made explicitly, once per step.
 *
 * Kept in arrays by step index, not in an object per step: a run of 10,000 steps starts with a
 * handful of array allocations instead of 10,000 entries in a Map (3 ms a run, measured), and the
 * runner's hot path addresses steps by the index its graph gives them. Every method takes a step's
 * name or its index.
 */
import type { ItemFailureInfo } from '../errors';
import type { StepResult, StepStatus } from './run-result';

/** A step, by name or by declaration index. */
export type StepRef = string | number;

/** Status, attempts and outputs of a run's steps. */
export class RunState {
  private readonly statuses: StepStatus[];
  private readonly attemptCounts: Int32Array;
  private readonly outputs: unknown[];
  private readonly held: Uint8Array;
  /** Epoch ms of each commit, when known (committed in this run, or its checkpoint was read); NaN otherwise. */
  private readonly commitTimes: Float64Array;
  /** Errors of failed steps, and what waiting steps wait for: few, so kept by index on the side. */
  private readonly errors = new Map<number, unknown>();
  private readonly waits = new Map<number, { wakeAt?: string; waitingFor?: string }>();
  /** Fan-outs' tolerated item failures, by step index: only steps that had some. */
  private readonly itemFailures = new Map<number, readonly ItemFailureInfo[]>();
  private readonly indexOf: ReadonlyMap<string, number | { readonly index: number }>;

  /**
   * @param names the steps in declaration order.
   * @param indexOf each name's index (or a node carrying it), when the caller has it already (a graph's `byName`).
   */
  constructor(private readonly names: readonly string[], indexOf?: ReadonlyMap<string, number | { readonly index: number }>) {
    const n = names.length;
    this.statuses = new Array<StepStatus>(n).fill('not-run');
    this.attemptCounts = new Int32Array(n);
    this.outputs = new Array<unknown>(n).fill(undefined);
    this.held = new Uint8Array(n);
    this.commitTimes = new Float64Array(n).fill(NaN);
    this.indexOf = indexOf ?? new Map(names.map((name, i) => [name, i]));
  }

  /** Marks a step committed earlier, with its output and commit time when they were loaded. */
  restore(step: StepRef, output?: { value: unknown }, committedAt?: number): void {
    const i = this.index(step);
    this.statuses[i] = 'restored';
    this.attemptCounts[i] = 0;
    this.held[i] = output === undefined ? 0 : 1;
    this.outputs[i] = output?.value;
    this.commitTimes[i] = committedAt ?? NaN;
  }

  /** Marks a step completed in this run. */
  complete(step: StepRef, output: unknown, attempts: number, committedAt: number = Date.now()): void {
    const i = this.index(step);
    this.statuses[i] = 'completed';
    this.attemptCounts[i] = attempts;
    this.held[i] = 1;
    this.outputs[i] = output;
    this.errors.delete(i);
    this.commitTimes[i] = committedAt;
  }

  /** Marks a step skipped (its `when` said no, or every dependency was skipped), now or by an earlier run: its output is `undefined`. */
  skip(step: StepRef, attempts: number, committedAt: number = NaN): void {
    const i = this.index(step);
    this.statuses[i] = 'skipped';
    this.attemptCounts[i] = attempts;
    this.held[i] = 1;
    this.outputs[i] = undefined;
    this.errors.delete(i);
    this.commitTimes[i] = committedAt;
  }

  /** Records a fan-out's tolerated item failures (completed now or restored), for its dependents' `ctx.failures()`. */
  setItemFailures(step: StepRef, failures: readonly ItemFailureInfo[]): void {
    if (failures.length > 0) this.itemFailures.set(this.index(step), failures);
  }

  /** A fan-out's tolerated item failures, undefined when it had none. */
  failuresOf(step: StepRef): readonly ItemFailureInfo[] | undefined {
    return this.itemFailures.get(this.index(step));
  }

  /** True when some step had tolerated item failures (the hot path then looks no further). */
  get anyItemFailures(): boolean {
    return this.itemFailures.size > 0;
  }

  /** True when the step was skipped. */
  isSkipped(step: StepRef): boolean {
    return this.statuses[this.index(step)] === 'skipped';
  }

  /** Marks a ready step that waits for its timer (`wakeAt`) and/or an event. */
  wait(step: StepRef, wakeAt: string | undefined, waitingFor: string | undefined): void {
    const i = this.index(step);
    this.statuses[i] = 'waiting';
    this.attemptCounts[i] = 0;
    this.waits.set(i, { wakeAt, waitingFor });
  }

  /** Epoch ms the step committed, when known. */
  committedAt(step: StepRef): number | undefined {
    const at = this.commitTimes[this.index(step)]!;
    return Number.isNaN(at) ? undefined : at;
  }

  /** Steps waiting, with their wake time and event, in declaration order. */
  waiting(): { step: string; wakeAt?: string; waitingFor?: string }[] {
    return [...this.waits.keys()]
      .filter((i) => this.statuses[i] === 'waiting')
      .sort((a, b) => a - b)
      .map((i) => {
        const { wakeAt, waitingFor } = this.waits.get(i)!;
        return { step: this.names[i]!, ...(wakeAt === undefined ? {} : { wakeAt }), ...(waitingFor === undefined ? {} : { waitingFor }) };
      });
  }

  /** Marks a step failed for good. */
  fail(step: StepRef, error: unknown, attempts: number): void {
    const i = this.index(step);
    this.statuses[i] = 'failed';
    this.attemptCounts[i] = attempts;
    this.errors.set(i, error);
  }

  /** Marks a step that did not finish (cancelled mid-attempt). */
  abandon(step: StepRef, attempts: number): void {
    const i = this.index(step);
    this.statuses[i] = 'not-run';
    this.attemptCounts[i] = attempts;
  }

  /** Attempts the step made in this run. */
  attempts(step: StepRef): number {
    return this.attemptCounts[this.index(step)]!;
  }

  status(step: StepRef): StepStatus {
    return this.statuses[this.index(step)]!;
  }

  /** True when the step is done (completed now, restored, or skipped). */
  isDone(step: StepRef): boolean {
    const status = this.statuses[this.index(step)];
    return status === 'completed' || status === 'restored' || status === 'skipped';
  }

  /** True when every step is done. */
  allDone(): boolean {
    for (const status of this.statuses) if (status !== 'completed' && status !== 'restored' && status !== 'skipped') return false;
    return true;
  }

  /** The step's output; throws if it is not held in memory (a restored step not loaded). */
  output(step: StepRef): unknown {
    const i = this.index(step);
    if (this.held[i] === 0) throw new Error(`internal: output of step '${this.names[i]}' is not loaded`);
    return this.outputs[i];
  }

  hasOutput(step: StepRef): boolean {
    return this.held[this.index(step)] === 1;
  }

  /** Snapshot for the run result. */
  results(): Record<string, StepResult> {
    const out: Record<string, StepResult> = {};
    const { names, statuses, attemptCounts, outputs, held } = this;
    for (let i = 0; i < names.length; i++) {
      const status = statuses[i]!;
      const attempts = attemptCounts[i]!;
      let result: StepResult;
      if (held[i] === 1) result = { status, attempts, output: outputs[i] };
      else result = { status, attempts };
      if (status === 'failed') (result as { error?: unknown }).error = this.errors.get(i);
      else if (status === 'waiting') {
        const { wakeAt, waitingFor } = this.waits.get(i)!;
        if (wakeAt !== undefined) (result as { wakeAt?: string }).wakeAt = wakeAt;
        if (waitingFor !== undefined) (result as { waitingFor?: string }).waitingFor = waitingFor;
      }
      out[names[i]!] = result;
    }
    return out;
  }

  private index(step: StepRef): number {
    if (typeof step === 'number') return step;
    const found = this.indexOf.get(step);
    if (found === undefined) throw new Error(`internal: unknown step '${step}'`);
    return typeof found === 'number' ? found : found.index;
  }
}
