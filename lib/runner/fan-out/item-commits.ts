/**
 * Group commit of a fan-out's items: where the store commits several checkpoints in one request
 * (`commitMany`), the items that finish while a commit is under way are committed together by the
 * next one. Each item still counts as done only once its own checkpoint is stored.
 */
import type { CheckpointStorage } from '../../storage/checkpoint-storage';
import type { Checkpoint, Lease } from '../../storage/records';

/** Most checkpoints in one request. */
const MAX_BATCH = 500;

interface Waiting {
  readonly checkpoint: Checkpoint;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Commits one workflow's checkpoints, batched where the store can. */
export class ItemCommits {
  private readonly waiting: Waiting[] = [];
  private flushing = false;

  constructor(
    private readonly storage: CheckpointStorage,
    private readonly workflowId: string,
    private readonly lease: () => Lease,
  ) {}

  /** Resolves once `checkpoint` is stored; rejects with what the store threw (`LeaseLostError` when fenced out). */
  commit(checkpoint: Checkpoint): Promise<void> {
    if (this.storage.commitMany === undefined) return this.storage.commit(this.workflowId, checkpoint, this.lease());
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ checkpoint, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Commits what waits, batch after batch, until nothing does; one request in flight at a time. */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_BATCH);
        try {
          await this.storage.commitMany!(this.workflowId, batch.map((w) => w.checkpoint), this.lease());
          for (const w of batch) w.resolve();
        } catch (error) {
          for (const w of batch) w.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
