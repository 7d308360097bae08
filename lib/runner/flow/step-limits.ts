/**
 * The gate of a step with a limit or a rate limit (`@Step({ limit, rateLimit })`): each attempt
 * takes a slot (given back when the attempt settles) and a token before it calls the method. The
 * first attempt of a step asks before it starts, and waits durably when none comes within the
 * runner's `maxInlineWaitMs`; retries and a fan-out's items wait in the run.
 */
import { InvalidFlowKeyError } from '../../errors';
import { flowKeyProblem, type FlowKeySource, type StepLimits } from '../../graph-limits';
import type { HeldSlot } from './flow-control';
import { slotHolder } from './flow-control';
import type { RunSlots } from './run-slots';
import { flowWaitName } from './wait-name';

/** The first attempt may start; or the step waits durably until `retryAt` for `waitingFor`; or the run stopped. */
export type LimitGate = { readonly kind: 'go' } | { readonly kind: 'wait'; readonly retryAt: number; readonly waitingFor: string } | { readonly kind: 'cancelled' };

/** Computes a key: the name, or what its function answers for `arg` (checked: a bad key fails the step). */
export function flowKey(source: FlowKeySource, arg: unknown, workflowId: string, step?: string): string {
  const key = typeof source === 'string' ? source : source(arg);
  const problem = flowKeyProblem(key);
  if (problem !== undefined) throw new InvalidFlowKeyError(workflowId, step, problem);
  return key;
}

/** One step's (or one item's) limits in one run. */
export class StepLimiter {
  /** The first attempt's slot and token, taken before it started. */
  private ready?: { slot?: HeldSlot };
  private readonly concurrencyKey?: string;
  private readonly rateKey?: string;

  constructor(
    private readonly slots: RunSlots,
    private readonly limits: StepLimits,
    private readonly workflowId: string,
    private readonly step: string,
    ctx: unknown,
    private readonly signal: AbortSignal,
    private readonly item?: number,
  ) {
    if (limits.concurrency !== undefined) this.concurrencyKey = flowKey(limits.concurrency.key, ctx, workflowId, step);
    if (limits.rate !== undefined) this.rateKey = flowKey(limits.rate.key, ctx, workflowId, step);
  }

  /** Takes the slot and token of the first attempt, waiting up to `maxWaitMs` in the run. */
  async first(attempt: number, maxWaitMs: number): Promise<LimitGate> {
    const slot = await this.takeSlot(attempt, maxWaitMs);
    if (slot.kind !== 'go') return slot;
    const token = await this.takeToken(maxWaitMs);
    if (token.kind !== 'go') {
      // No call starts: its slot goes back at once.
      if (slot.slot !== undefined) await this.slots.release(slot.slot);
      return token;
    }
    this.ready = { slot: slot.slot };
    return { kind: 'go' };
  }

  /** Calls `call` holding a slot and a token (the first attempt's, or ones taken now), and gives the slot back when it settles. */
  async around<T>(attempt: number, call: () => T): Promise<Awaited<T>> {
    let held: HeldSlot | undefined;
    if (this.ready !== undefined) {
      held = this.ready.slot;
      this.ready = undefined;
    } else {
      const slot = await this.takeSlot(attempt, Infinity);
      if (slot.kind !== 'go') throw this.signal.reason;
      held = slot.slot;
      const token = await this.takeToken(Infinity);
      if (token.kind !== 'go') {
        if (held !== undefined) await this.slots.release(held);
        throw this.signal.reason;
      }
    }
    try {
      return await call();
    } finally {
      if (held !== undefined) await this.slots.release(held);
    }
  }

  private async takeSlot(attempt: number, maxWaitMs: number): Promise<{ kind: 'go'; slot?: HeldSlot } | Exclude<LimitGate, { kind: 'go' }>> {
    const { concurrency } = this.limits;
    if (concurrency === undefined) return { kind: 'go' };
    const key = this.concurrencyKey!;
    const holder = `${slotHolder(this.workflowId, this.step, this.item)}\u001f${attempt}`;
    const outcome = await this.slots.flow.acquire({ kind: 'limit', key, scope: key, limit: concurrency.limit, holder, holdUntil: this.slots.holdUntil, maxWaitMs, signal: this.signal });
    if (outcome.kind === 'cancelled') return outcome;
    if (outcome.kind === 'wait') {
      this.slots.waiting({ kind: 'limit', key, scope: key, holder, limit: concurrency.limit });
      return { kind: 'wait', retryAt: outcome.retryAt, waitingFor: flowWaitName('limit', key) };
    }
    this.slots.hold(outcome.slot);
    return { kind: 'go', slot: outcome.slot };
  }

  private async takeToken(maxWaitMs: number): Promise<LimitGate> {
    const { rate } = this.limits;
    if (rate === undefined) return { kind: 'go' };
    const outcome = await this.slots.flow.token(this.rateKey!, rate.limit, rate.perMs, maxWaitMs, this.signal);
    if (outcome.kind === 'granted') return { kind: 'go' };
    if (outcome.kind === 'cancelled') return outcome;
    return { kind: 'wait', retryAt: outcome.retryAt, waitingFor: flowWaitName('rate', this.rateKey!) };
  }
}

/** What {@link passLimits} needs of a step about to make its first attempt. */
export interface LimitedStep {
  readonly slots: RunSlots;
  readonly limits: StepLimits;
  readonly workflowId: string;
  readonly step: string;
  /** The step's context (`attempt` 0), for key functions. */
  readonly ctx: unknown;
  /** The number of the attempt about to start. */
  readonly attempt: number;
  readonly maxWaitMs: number;
  readonly signal: AbortSignal;
  /** Marks the step waiting durably (`RunState.wait`), and says so (`step:waiting`). */
  readonly wait: (wakeAt: string, waitingFor: string) => void;
}

/**
 * Takes the first attempt's slot and token: the limiter its attempts call through, or `'waiting'`
 * (the step waits durably, marked so) or `'cancelled'`.
 */
export async function passLimits(step: LimitedStep): Promise<StepLimiter | 'waiting' | 'cancelled'> {
  const limiter = new StepLimiter(step.slots, step.limits, step.workflowId, step.step, step.ctx, step.signal);
  const gate = await limiter.first(step.attempt, step.maxWaitMs);
  if (gate.kind === 'go') return limiter;
  if (gate.kind === 'cancelled') return 'cancelled';
  step.wait(new Date(gate.retryAt).toISOString(), gate.waitingFor);
  return 'waiting';
}

/** A fan-out's call of one item's attempt, through the item's limits (its context names the item). */
export function limitedItemCall<C extends { readonly attempt: number; readonly index?: number }>(slots: RunSlots, limits: StepLimits, workflowId: string, step: string, signal: AbortSignal, call: (ctx: C) => unknown): (ctx: C) => unknown {
  return (ctx) => new StepLimiter(slots, limits, workflowId, step, ctx, signal, ctx.index).around(ctx.attempt, () => call(ctx));
}
