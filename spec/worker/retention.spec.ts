import { expect } from 'chai';
import { InvalidOptionError } from '../../lib/errors';
import type { PruneResult } from '../../lib/runner/prune';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import type { WorkflowStatus } from '../../lib/storage/records';
import { sampleRecord } from '../../lib/testing';
import { WorkflowWorker } from '../../lib/worker/workflow-worker';
import { deferred, within } from '../helpers/deferred';

const DAY = 86_400_000;

async function store(storage: MemoryStorage, workflowId: string, status: WorkflowStatus, ageDays: number): Promise<void> {
  const at = new Date(Date.now() - ageDays * DAY).toISOString();
  const ended = status === 'completed' || status === 'failed' || status === 'cancelled' || status === 'compensated';
  await storage.writeRecord(workflowId, { ...sampleRecord(workflowId), status, createdAt: at, updatedAt: at, ...(ended ? { endedAt: at } : {}) }, null);
  if (ended) await storage.addEnded({ workflowId, status, endedAt: Date.parse(at) });
}

describe('WorkflowWorker retention', () => {
  it('prunes each status after its own age, at start and then every interval, in batches; what it keeps stays', async () => {
    const storage = new MemoryStorage();
    await store(storage, 'done-40d', 'completed', 40);
    await store(storage, 'done-10d', 'completed', 10);
    await store(storage, 'failed-100d', 'failed', 100);
    await store(storage, 'failed-40d', 'failed', 40);
    await store(storage, 'cancelled-400d', 'cancelled', 400);
    await store(storage, 'running-400d', 'running', 400);
    for (let i = 0; i < 5; i++) await store(storage, `old-${i}`, 'completed', 60 + i);
    const rounds: (readonly PruneResult[])[] = [];
    const thirdRound = deferred();
    const runner = new WorkflowRunner({ storage, tracer: false });
    const worker = new WorkflowWorker({
      runner,
      pollIntervalMs: 60_000,
      retention: {
        completed: '30d',
        failed: 90 * DAY,
        intervalMs: 20,
        batch: 3,
        onPruned: (results) => {
          rounds.push(results);
          if (rounds.length === 3) thirdRound.resolve();
        },
      },
    });
    await worker.start();
    try {
      await within(thirdRound.promise, 10_000, 'three retention rounds did not happen');
    } finally {
      await worker.stop();
    }
    // First round: 3 of the 6 old completed (the batch) and the old failed one.
    expect(rounds[0]!.map((r) => r.workflowIds.length)).to.deep.equal([3, 1]);
    expect(rounds[1]!.map((r) => r.workflowIds.length)).to.deep.equal([3, 0]);
    expect(rounds[2]!.map((r) => r.workflowIds.length)).to.deep.equal([0, 0]);
    expect(await storage.list()).to.deep.equal(['cancelled-400d', 'done-10d', 'failed-40d', 'running-400d']);
  });

  it('stop() ends the current round after the workflow it is deleting, and no round starts after', async () => {
    const storage = new MemoryStorage();
    for (let i = 0; i < 50; i++) await store(storage, `old-${i}`, 'completed', 40);
    const clear = storage.clear.bind(storage);
    const firstClear = deferred();
    const letGo = deferred();
    let clears = 0;
    storage.clear = async (...args) => {
      if (++clears === 1) {
        firstClear.resolve();
        await letGo.promise;
      }
      return clear(...args);
    };
    let rounds = 0;
    const worker = new WorkflowWorker({ runner: new WorkflowRunner({ storage, tracer: false }), retention: { completed: '30d', intervalMs: 1, onPruned: () => rounds++ } });
    await worker.start();
    await firstClear.promise;
    const stopped = worker.stop();
    letGo.resolve();
    await stopped;
    expect(clears).to.equal(1);
    expect(await storage.list()).to.have.length(49);
    expect(rounds).to.equal(1);
  });

  it('refuses retention options it cannot honour, naming each', () => {
    const runner = new WorkflowRunner({ tracer: false });
    for (const [retention, message] of [
      [{ completed: '30 days' }, "option 'retention.completed' is '30 days'; expected a duration"],
      [{ running: '1d' }, "option 'retention.running' is '1d'; expected no such option (statuses: completed, failed, cancelled, compensated; running, waiting and compensating workflows are never pruned)"],
      [{ completed: '1d', intervalMs: 0 }, "option 'retention.intervalMs' is 0; expected an integer >= 1"],
      [{ completed: '1d', batch: 1.5 }, "option 'retention.batch' is 1.5; expected an integer >= 1"],
      [{ completed: '1d', onPruned: 'log' }, "option 'retention.onPruned' is 'log'"],
      [5, "option 'retention' is 5"],
    ] as const) {
      expect(() => new WorkflowWorker({ runner, retention: retention as never }), JSON.stringify(retention)).to.throw(InvalidOptionError, message);
    }
  });
});
