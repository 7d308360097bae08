/**
 * Typed lifecycle events of a runner. Listeners are called synchronously in order; one that throws
 * never breaks a run: its error is reported through `onListenerError` instead.
 */
import type { InputChangePolicyName } from '../input-change-policy';
import type { RunResult } from './run-result';

/** Every event and its payload. All carry `workflowId`. */
export interface WorkflowEvents {
  'run:started': { workflowId: string; workflowName: string; resume: boolean; fingerprint: string };
  'input:changed': { workflowId: string; storedFingerprint: string; currentFingerprint: string; policy: InputChangePolicyName };
  'step:started': { workflowId: string; step: string; attempt: number };
  'step:attempt-failed': { workflowId: string; step: string; attempt: number; error: unknown; willRetry: boolean; delayMs?: number };
  'step:committed': { workflowId: string; step: string; attempts: number; durationMs: number };
  'step:restored': { workflowId: string; step: string };
  'run:completed': { workflowId: string; result: RunResult };
  'run:failed': { workflowId: string; result: RunResult; error: unknown };
  'run:cancelled': { workflowId: string; result: RunResult };
  'lease:acquired': { workflowId: string; owner: string; expiresAt: number };
  'lease:lost': { workflowId: string };
}

/** Name of a lifecycle event. */
export type WorkflowEventName = keyof WorkflowEvents;

/** A listener of one event. */
export type WorkflowListener<E extends WorkflowEventName> = (payload: WorkflowEvents[E]) => void;

/** Listeners for any subset of events, as the runner's `hooks` option takes them. */
export type WorkflowHooks = { readonly [E in WorkflowEventName]?: WorkflowListener<E> };

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

  emit<E extends WorkflowEventName>(event: E, payload: WorkflowEvents[E]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
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
