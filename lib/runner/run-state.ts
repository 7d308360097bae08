/**
 * In-memory state of one run: each step's status, attempts and output.
 *
 * Plain state: assigning does no I/O. Commits are the runner's job, made explicitly, once per step.
 */
import type { StepResult, StepStatus } from './run-result';

interface Entry {
  status: StepStatus;
  attempts: number;
  hasOutput: boolean;
  output?: unknown;
  error?: unknown;
  /** Epoch ms of the commit, when known (committed in this run, or its checkpoint was read). */
  committedAt?: number;
  wakeAt?: string;
  waitingFor?: string;
}

/** Status, attempts and outputs of a run's steps. */
export class RunState {
  private readonly entries = new Map<string, Entry>();

  constructor(stepNames: readonly string[]) {
    // Every field from the start: one object shape for every entry, whatever happens to it later.
    for (const name of stepNames) {
      this.entries.set(name, { status: 'not-run', attempts: 0, hasOutput: false, output: undefined, error: undefined, committedAt: undefined, wakeAt: undefined, waitingFor: undefined });
    }
  }

  /** Marks a step committed earlier, with its output and commit time when they were loaded. */
  restore(step: string, output?: { value: unknown }, committedAt?: number): void {
    Object.assign(this.entry(step), { status: 'restored', attempts: 0, hasOutput: output !== undefined, output: output?.value, committedAt });
  }

  /** Marks a step completed in this run. */
  complete(step: string, output: unknown, attempts: number, committedAt: number = Date.now()): void {
    const entry = this.entry(step);
    entry.status = 'completed';
    entry.attempts = attempts;
    entry.hasOutput = true;
    entry.output = output;
    entry.error = undefined;
    entry.committedAt = committedAt;
  }

  /** Marks a ready step that waits for its timer (`wakeAt`) and/or an event. */
  wait(step: string, wakeAt: string | undefined, waitingFor: string | undefined): void {
    Object.assign(this.entry(step), { status: 'waiting', attempts: 0, wakeAt, waitingFor });
  }

  /** Epoch ms the step committed, when known. */
  committedAt(step: string): number | undefined {
    return this.entry(step).committedAt;
  }

  /** Steps waiting, with their wake time and event. */
  waiting(): { step: string; wakeAt?: string; waitingFor?: string }[] {
    return [...this.entries]
      .filter(([, e]) => e.status === 'waiting')
      .map(([step, e]) => ({ step, ...(e.wakeAt === undefined ? {} : { wakeAt: e.wakeAt }), ...(e.waitingFor === undefined ? {} : { waitingFor: e.waitingFor }) }));
  }

  /** Marks a step failed for good. */
  fail(step: string, error: unknown, attempts: number): void {
    Object.assign(this.entry(step), { status: 'failed', attempts, error });
  }

  /** Marks a step that did not finish (cancelled mid-attempt). */
  abandon(step: string, attempts: number): void {
    Object.assign(this.entry(step), { status: 'not-run', attempts });
  }

  /** Attempts the step made in this run. */
  attempts(step: string): number {
    return this.entry(step).attempts;
  }

  status(step: string): StepStatus {
    return this.entry(step).status;
  }

  /** True when the step is done (completed now or restored). */
  isDone(step: string): boolean {
    const { status } = this.entry(step);
    return status === 'completed' || status === 'restored';
  }

  /** The step's output; throws if it is not held in memory (a restored step not loaded). */
  output(step: string): unknown {
    const entry = this.entry(step);
    if (!entry.hasOutput) throw new Error(`internal: output of step '${step}' is not loaded`);
    return entry.output;
  }

  hasOutput(step: string): boolean {
    return this.entry(step).hasOutput;
  }

  /** Snapshot for the run result. */
  results(): Record<string, StepResult> {
    const out: Record<string, StepResult> = {};
    for (const [name, e] of this.entries) {
      const result: { -readonly [K in keyof StepResult]: StepResult[K] } = { status: e.status, attempts: e.attempts };
      if (e.hasOutput) result.output = e.output;
      if (e.status === 'failed') result.error = e.error;
      if (e.status === 'waiting' && e.wakeAt !== undefined) result.wakeAt = e.wakeAt;
      if (e.status === 'waiting' && e.waitingFor !== undefined) result.waitingFor = e.waitingFor;
      out[name] = result;
    }
    return out;
  }

  private entry(step: string): Entry {
    const entry = this.entries.get(step);
    if (!entry) throw new Error(`internal: unknown step '${step}'`);
    return entry;
  }
}
