/**
 * One parent with 5,000 children: starting them costs O(children) writes, waking the parent at most
 * one wake per child (coalesced while it runs), and the parent reads its children's outcomes from
 * its own events, never from their checkpoints. Counted at the storage interface.
 */
import { expect } from 'chai';
import { Step, Workflow } from '../../../decorators';
import type { StepContext } from '../../../lib/runner/step-context';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../../lib/storage/memory-storage';
import { WorkflowWorker } from '../../../lib/worker/workflow-worker';

const N = 5_000;

@Workflow({ name: 'customer-report' })
class CustomerReport {
  @Step() build(ctx: StepContext<{ customer: number }>) {
    return ctx.input.customer % 7;
  }
}

@Workflow({ name: 'nightly' })
class Nightly {
  @Step({ spawn: () => Array.from({ length: N }, (_, customer) => ({ workflow: CustomerReport, input: { customer } })) })
  report(ctx: StepContext) {
    return (ctx.children as number[]).reduce((a, b) => a + b, 0);
  }
}

describe('child workflows at scale', function () {
  this.timeout(120_000);

  it(`a parent with ${N.toLocaleString('en')} children: O(children) writes, at most one wake of the parent per child, no child checkpoint read by the parent`, async () => {
    const storage = new MemoryStorage();
    const calls = new Map<string, { parent: number; children: number }>();
    for (const method of ['writeRecord', 'commit', 'addWake', 'readCheckpoint', 'listEvents', 'putEvent', 'readRecord'] as const) {
      const original = (storage[method] as (...a: unknown[]) => Promise<unknown>).bind(storage);
      calls.set(method, { parent: 0, children: 0 });
      (storage as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        const id = typeof args[0] === 'string' ? args[0] : (args[0] as { workflowId: string }).workflowId;
        calls.get(method)![id === 'nightly' ? 'parent' : 'children']++;
        return original(...args);
      };
    }
    const runner = new WorkflowRunner({ storage, workflows: [Nightly, CustomerReport] });
    let parentRuns = 0;
    runner.on('run:started', (e) => e.workflowId === 'nightly' && parentRuns++);
    const done = new Promise<unknown>((resolve) => runner.on('run:completed', (e) => e.workflowId === 'nightly' && resolve(e.result.output)));
    const started = Date.now();
    expect((await runner.run(new Nightly(), { workflowId: 'nightly' })).status).to.equal('waiting');
    const startMs = Date.now() - started;
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 100, concurrency: 50 });
    worker.start();
    try {
      const expected = Array.from({ length: N }, (_, c) => c % 7).reduce((a, b) => a + b, 0);
      expect(await done).to.equal(expected);
    } finally {
      await worker.stop();
    }
    const perChild = (method: string) => calls.get(method)!.children / N;
    // Each child: its record created, marked running, ended; its one step committed.
    expect(perChild('writeRecord'), 'record writes per child').to.be.at.most(4);
    expect(perChild('commit'), 'commits per child').to.equal(1);
    expect(calls.get('readCheckpoint')!.children, "children's checkpoints read").to.equal(0);
    expect(calls.get('putEvent')!.parent, 'one outcome event per child').to.equal(N);
    expect(calls.get('addWake')!.parent, 'wakes of the parent').to.be.at.most(2 * N + 10);
    expect(parentRuns, 'parent runs (coalesced while it runs)').to.be.at.most(N + 2);
    // The parent's own writes do not grow with its children (its list is one checkpoint).
    expect(calls.get('commit')!.parent, "the parent's commits: its list and its step").to.equal(2);
    console.log(`      ${N} children started in ${startMs} ms; the parent ran ${parentRuns} times; ${calls.get('addWake')!.parent} wake entries for it`);
  });
});
