/**
 * Holds a workflow's lease for the length of a run: takes it (or waits for it), renews it in the
 * background, and reports when it is lost so the runner stops committing.
 */
import { WorkflowBusyError } from '../errors';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import type { Lease } from '../storage/records';
import { sleep } from './sleep';

/** Lease settings of a run. */
export interface LeaseSettings {
  readonly owner: string;
  readonly ttlMs: number;
  readonly onBusy: 'throw' | 'wait';
  readonly busyTimeoutMs: number;
  readonly signal: AbortSignal;
  /** Called after each successful renewal (the run looks for a cancel request then). */
  readonly onRenewed?: () => void;
}

/** A held lease that renews itself every third of its TTL until released. */
export class LeaseKeeper {
  private timer?: NodeJS.Timeout;
  private released = false;
  /** The renewal under way, if any: release waits for it, so it gives up the lease as last renewed. */
  private renewing?: Promise<void>;

  private constructor(
    private readonly storage: CheckpointStorage,
    private current: Lease,
    private readonly ttlMs: number,
    private readonly onLost: () => void,
    private readonly onRenewed?: () => void,
  ) {}

  /** The lease as last renewed (pass it to storage writes for fencing). */
  get lease(): Lease {
    return this.current;
  }

  /** Takes the lease, waiting up to `busyTimeoutMs` when `onBusy` is `'wait'`; else {@link WorkflowBusyError}. */
  static async acquire(storage: CheckpointStorage, workflowId: string, settings: LeaseSettings, onLost: () => void): Promise<LeaseKeeper> {
    const deadline = Date.now() + settings.busyTimeoutMs;
    for (let pause = 25; ; pause = Math.min(pause * 2, 1000)) {
      const attempt = await storage.acquireLease(workflowId, settings.owner, settings.ttlMs);
      if (attempt.acquired) {
        const keeper = new LeaseKeeper(storage, attempt.lease, settings.ttlMs, onLost, settings.onRenewed);
        keeper.schedule();
        return keeper;
      }
      const remaining = deadline - Date.now();
      if (settings.onBusy === 'throw' || remaining <= 0 || settings.signal.aborted) throw new WorkflowBusyError(workflowId, attempt.holder, attempt.expiresAt);
      await sleep(Math.min(pause, remaining, Math.max(attempt.expiresAt - Date.now(), 1)), settings.signal);
    }
  }

  /**
   * Stops renewing and gives the lease up. A renewal in flight is waited for first: releasing the
   * version it replaces would fail its condition (an S3 ETag, say) and leave the lease behind.
   */
  async release(): Promise<void> {
    this.released = true;
    clearTimeout(this.timer);
    await this.renewing;
    await this.storage.releaseLease(this.current);
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.renewing = this.renew().finally(() => (this.renewing = undefined));
    }, Math.max(Math.floor(this.ttlMs / 3), 1));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.released) return;
    let renewed: Lease | undefined;
    try {
      renewed = await this.storage.renewLease(this.current, this.ttlMs);
    } catch {
      // A transient storage error: try again next period; the lease is lost only once it has expired.
      if (Date.now() < this.current.expiresAt) return this.schedule();
      renewed = undefined;
    }
    // Adopt a renewal even when release is waiting for it: the lease to give up is the renewed one.
    if (renewed !== undefined) this.current = renewed;
    if (this.released) return;
    if (renewed === undefined) return this.onLost();
    this.schedule();
    this.onRenewed?.();
  }
}
