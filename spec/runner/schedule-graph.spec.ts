import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { Step } from '../../decorators';
import { buildGraph, type StepNode } from '../../lib/graph';
import { scheduleGraph, type StepOutcome } from '../../lib/runner/schedule-graph';
import { deferred, type Deferred } from '../helpers/deferred';

/**
 *   a ─┬─ b ── d
 *      └─ c ─┘
 *   e (independent), f after e
 */
class Shape {
  @Step() a() {}
  @Step({ after: ['a'] }) b() {}
  @Step({ after: ['a'] }) c() {}
  @Step({ after: ['b', 'c'] }) d() {}
  @Step({ after: [] }) e() {}
  @Step({ after: ['e'] }) f() {}
}
const graph = buildGraph(Shape);

/** A scheduler whose steps finish when the spec says, recording what started when. */
function harness(options: { done?: string[]; concurrency?: number; failFast?: boolean; signal?: AbortSignal } = {}) {
  const started: string[] = [];
  const pending = new Map<string, Deferred<StepOutcome>>();
  let finished = false;
  const walk = scheduleGraph({
    graph,
    done: new Set(options.done ?? []),
    concurrency: options.concurrency ?? 10,
    failFast: options.failFast ?? true,
    signal: options.signal ?? new AbortController().signal,
    runStep: (node: StepNode, settle) => {
      started.push(node.name);
      const d = deferred<StepOutcome>();
      pending.set(node.name, d);
      return d.promise.then((outcome) => settle(node, outcome));
    },
  }).then(() => {
    finished = true;
  });
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  return {
    started,
    get finished() {
      return finished;
    },
    walk,
    async end(step: string, outcome: StepOutcome = 'done') {
      const d = pending.get(step);
      if (!d) expect.fail(`step ${step} was not started`);
      pending.delete(step);
      d.resolve(outcome);
      await flush();
    },
    flush,
  };
}

describe('scheduleGraph', () => {
  it('starts every ready step in declaration order, and each dependent once all it is after are done', async () => {
    const h = harness();
    await h.flush();
    expect(h.started).to.deep.equal(['a', 'e']);
    await h.end('a');
    expect(h.started).to.deep.equal(['a', 'e', 'b', 'c']);
    await h.end('b');
    expect(h.started, 'd waits for c too').to.deep.equal(['a', 'e', 'b', 'c']);
    await h.end('c');
    await h.end('e');
    expect(h.started).to.deep.equal(['a', 'e', 'b', 'c', 'd', 'f']);
    expect(h.finished).to.equal(false);
    await h.end('d');
    await h.end('f');
    await h.walk;
    expect(h.finished).to.equal(true);
  });

  it('runs at most `concurrency` steps at once, taking the earliest declared among the ready', async () => {
    const h = harness({ concurrency: 1 });
    await h.flush();
    expect(h.started).to.deep.equal(['a']);
    await h.end('a');
    expect(h.started).to.deep.equal(['a', 'b']);
    await h.end('b');
    expect(h.started).to.deep.equal(['a', 'b', 'c']);
    await h.end('c');
    expect(h.started).to.deep.equal(['a', 'b', 'c', 'd']);
    await h.end('d');
    await h.end('e');
    await h.end('f');
    await h.walk;
    expect(h.started).to.deep.equal(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('skips steps already done and counts them as done for their dependents', async () => {
    const h = harness({ done: ['a', 'b', 'e'] });
    await h.flush();
    expect(h.started).to.deep.equal(['c', 'f']);
    await h.end('c');
    expect(h.started).to.deep.equal(['c', 'f', 'd']);
    await h.end('d');
    await h.end('f');
    await h.walk;
  });

  it('finishes at once when everything is done', async () => {
    const h = harness({ done: ['a', 'b', 'c', 'd', 'e', 'f'] });
    await h.walk;
    expect(h.started).to.deep.equal([]);
  });

  it('starts nothing more after a failure with failFast, and finishes once the running steps end', async () => {
    const h = harness({ failFast: true });
    await h.flush();
    await h.end('a', 'failed');
    expect(h.finished).to.equal(false);
    await h.end('e');
    await h.walk;
    expect(h.started).to.deep.equal(['a', 'e']);
  });

  it('without failFast, keeps running what does not depend on the failure', async () => {
    const h = harness({ failFast: false });
    await h.flush();
    await h.end('a');
    await h.end('b', 'failed');
    await h.end('c');
    await h.end('e');
    await h.end('f');
    await h.walk;
    expect(h.started).to.deep.equal(['a', 'e', 'b', 'c', 'f']);
  });

  it('never starts the dependents of a cancelled step, whatever failFast says', async () => {
    const h = harness({ failFast: false });
    await h.flush();
    await h.end('a', 'cancelled');
    await h.end('e');
    await h.end('f');
    await h.walk;
    expect(h.started).to.deep.equal(['a', 'e', 'f']);
  });

  it('starts nothing once the signal aborted', async () => {
    const stop = new AbortController();
    const h = harness({ signal: stop.signal });
    await h.flush();
    stop.abort();
    await h.end('a');
    await h.end('e');
    await h.walk;
    expect(h.started).to.deep.equal(['a', 'e']);
    const already = harness({ signal: stop.signal });
    await already.walk;
    expect(already.started).to.deep.equal([]);
  });

  it('takes steps that settle before returning in its loop: a long chain runs in order without deepening the stack', async () => {
    // 20,000 steps in a chain, each settling synchronously: a pump nested per settle would overflow.
    class Chain {}
    for (let i = 0; i < 20_000; i++) {
      Object.defineProperty(Chain.prototype, `s${i}`, { value: () => undefined });
      Step()(Chain.prototype, `s${i}`, Object.getOwnPropertyDescriptor(Chain.prototype, `s${i}`)!);
    }
    const chain = buildGraph(Chain);
    const order: number[] = [];
    let depth = 0;
    let deepest = 0;
    await scheduleGraph({
      graph: chain,
      done: new Set(),
      concurrency: 4,
      failFast: true,
      signal: new AbortController().signal,
      runStep: (node, settle) => {
        depth++;
        deepest = Math.max(deepest, depth);
        order.push(node.index);
        const settled = settle(node, node.index === 19_999 ? 'failed' : 'done');
        depth--;
        return Promise.resolve(settled);
      },
    });
    expect(order).to.deep.equal(chain.steps.map((n) => n.index));
    expect(deepest).to.equal(1);
  });

  it("leaves no listener on the run's signal once the walk ends", async () => {
    const stop = new AbortController();
    const h = harness({ signal: stop.signal });
    expect(getEventListeners(stop.signal, 'abort')).to.have.length(1);
    await h.flush();
    for (const step of ['a', 'e', 'b', 'c', 'f', 'd']) await h.end(step);
    await h.walk;
    expect(getEventListeners(stop.signal, 'abort')).to.have.length(0);
  });
});
