/**
 * Typed lifecycle events of a runner. Listeners are called synchronously in order; one that throws
 * never breaks a run: its error is reported through `onListenerError` instead.
 */
import type { InputChangePolicyName } from '../input-change-policy';
import type { RunResult } from './run-result';

/** What every event carries: the workflow id, and an id unique to one run (to tell runs apart in logs and traces). */
export interface RunIds {
  readonly workflowId: string;
  readonly runId: string;
}

/** Every event and its payload, in the order a run emits them. */
export interface WorkflowEvents {
  'lease:acquired': RunIds & { owner: string; expiresAt: number };
  'input:changed': RunIds & { storedFingerprint: string; currentFingerprint: string; policy: InputChangePolicyName };
  'run:started': RunIds & { workflowName: string; resume: boolean; fingerprint: string };
  'step:restored': RunIds & { step: string };
  'step:started': RunIds & { step: string; attempt: number };
  /**
   * An attempt failed; `compensation: true` when it was an attempt of the step's compensation,
   * `branch: true` when it was an attempt to answer the step's `when`, `item` (its index) when it was
   * an attempt of one item of a fan-out (`@Step({ forEach })`).
   */
  'step:attempt-failed': RunIds & { step: string; attempt: number; error: unknown; willRetry: boolean; delayMs?: number; compensation?: true; branch?: true; item?: number };
  /** The step answered "not yet" (`ctx.retryAfter`, `RetryLater`): it is called again at `next` (ISO); `polls` counts its "not yet" answers. */
  'step:retry-later': RunIds & { step: string; attempt: number; next: string; polls: number };
  /** The step's `when` answered false, or every dependency was skipped (`reason`): it is committed as `'skipped'`. */
  'step:skipped': RunIds & { step: string; reason: 'when' | 'dependencies' };
  'step:committed': RunIds & { step: string; attempts: number; durationMs: number };
  'run:completed': RunIds & { result: RunResult };
  'run:failed': RunIds & { result: RunResult; error: unknown };
  'run:cancelled': RunIds & { result: RunResult };
  /** The run ended with steps waiting for a timer or an event; the lease is released. */
  'run:waiting': RunIds & { result: RunResult };
  /** A step is ready but waits: for its timer (`wakeAt`, ISO) and/or its event. */
  'step:waiting': RunIds & { step: string; wakeAt?: string; event?: string; children?: { ended: number; total: number } };
  /** An attempt of a step's compensation starts (a step failed for good; this step committed and declares `compensate`). */
  'step:compensating': RunIds & { step: string; attempt: number; item?: number };
  /** A step's compensation succeeded and is committed. */
  'step:compensated': RunIds & { step: string; attempts: number; durationMs: number };
  'lease:lost': RunIds;
}

/** Name of a lifecycle event. */
export type WorkflowEventName = keyof WorkflowEvents;

/** A listener of one event. */
export type WorkflowListener<E extends WorkflowEventName> = (payload: WorkflowEvents[E]) => void;

/** Listeners for any subset of events, as the runner's `hooks` option takes them. */
export type WorkflowHooks = { readonly [E in WorkflowEventName]?: WorkflowListener<E> };

/** An event's payload without the ids a {@link RunEmitter} adds. */
export type EventDetail<E extends WorkflowEventName> = Omit<WorkflowEvents[E], keyof RunIds>;

/** Emits the events of one run, adding its ids to each payload. */
export interface RunEmitter {
  readonly ids: RunIds;
  emit<E extends WorkflowEventName>(event: E, detail: EventDetail<E>): void;
  /** True when `event` has a listener: a hot path asks before it builds a payload nobody reads. */
  listens(event: WorkflowEventName): boolean;
}

/** A small typed event emitter. */
export class RunEvents {
  private readonly listeners = new Map<WorkflowEventName, Set<(payload: never) => void>>();

  constructor(private readonly onListenerError: (event: WorkflowEventName, error: unknown) => void) {}

  on<E extends WorkflowEventName>(event: E, listener: WorkflowListener<E>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set!.delete(listener as (payload: never) => void);
  }

  /** An emitter for one run. */
  forRun(ids: RunIds): RunEmitter {
    return {
      ids,
      emit: (event, detail) => {
        // Building the payload costs an allocation per event: skip it when nobody listens.
        if (this.listeners.get(event)?.size) this.emit(event, Object.assign({ workflowId: ids.workflowId, runId: ids.runId }, detail) as WorkflowEvents[typeof event]);
      },
      listens: (event) => (this.listeners.get(event)?.size ?? 0) > 0,
    };
  }

  emit<E extends WorkflowEventName>(event: E, payload: WorkflowEvents[E]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    // Iterating the Set itself (no copy per event): a listener removed meanwhile is skipped, one added meanwhile is called.
    for (const listener of set) {
      try {
        (listener as WorkflowListener<E>)(payload);
      } catch (error) {
        try {
          this.onListenerError(event, error);
        } catch {
          // A failing error reporter must not break the run either.
        }
      }
    }
  }
}
