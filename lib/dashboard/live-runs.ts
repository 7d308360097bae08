/**
 * What the store cannot say about the runs of this process: which steps are running now, which were
 * restored from their checkpoints, how long each committed one took. Learnt from the runner's
 * events, so it knows only the runs of the runner the dashboard is mounted with; the page falls
 * back to what the store says for every other run.
 */
import type { WorkflowRunner } from '../runner/workflow-runner';

/** One workflow's latest run in this process, as its events told it. */
export interface LiveRun {
  readonly runId: string;
  /** False once the run ended (completed, failed, waiting, cancelled). */
  running: boolean;
  readonly runningSteps: Set<string>;
  readonly restoredSteps: Set<string>;
  /** Duration of the successful attempt of each step it committed (ms), and of each compensation. */
  readonly durations: Map<string, number>;
}

/** Workflows remembered at most; the oldest is forgotten first. */
const REMEMBERED = 1000;

/** Listens to a runner's events and keeps the latest run of each workflow. */
export class LiveRuns {
  private readonly runs = new Map<string, LiveRun>();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(runner: WorkflowRunner) {
    const on = this.unsubscribe;
    on.push(runner.on('run:started', (e) => this.start(e.workflowId, e.runId)));
    on.push(runner.on('step:restored', (e) => this.current(e.workflowId, e.runId)?.restoredSteps.add(e.step)));
    on.push(runner.on('step:started', (e) => this.current(e.workflowId, e.runId)?.runningSteps.add(e.step)));
    on.push(runner.on('step:compensating', (e) => this.current(e.workflowId, e.runId)?.runningSteps.add(e.step)));
    on.push(runner.on('step:attempt-failed', (e) => this.current(e.workflowId, e.runId)?.runningSteps.delete(e.step)));
    for (const event of ['step:committed', 'step:compensated'] as const) {
      on.push(
        runner.on(event, (e) => {
          const run = this.current(e.workflowId, e.runId);
          run?.runningSteps.delete(e.step);
          run?.durations.set(e.step, e.durationMs);
        }),
      );
    }
    for (const event of ['run:completed', 'run:failed', 'run:cancelled', 'run:waiting'] as const) {
      on.push(
        runner.on(event, (e) => {
          const run = this.current(e.workflowId, e.runId);
          if (run === undefined) return;
          run.running = false;
          run.runningSteps.clear();
        }),
      );
    }
  }

  /** The latest run of `workflowId` in this process, if this process ran it. */
  get(workflowId: string): LiveRun | undefined {
    return this.runs.get(workflowId);
  }

  /** Stops listening. */
  close(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  private start(workflowId: string, runId: string): void {
    this.runs.delete(workflowId);
    this.runs.set(workflowId, { runId, running: true, runningSteps: new Set(), restoredSteps: new Set(), durations: new Map() });
    if (this.runs.size > REMEMBERED) this.runs.delete(this.runs.keys().next().value!);
  }

  private current(workflowId: string, runId: string): LiveRun | undefined {
    const run = this.runs.get(workflowId);
    return run?.runId === runId ? run : undefined;
  }
}
