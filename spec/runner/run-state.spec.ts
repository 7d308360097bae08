import { expect } from 'chai';
import { RunState } from '../../lib/runner/run-state';

describe('RunState', () => {
  // That assigning state does no I/O is proven at the runner: with a spied storage, a run's storage
  // calls are exactly lease, load, record, one commit per step, release (workflow-runner.spec, "commits").
  it('holds statuses, attempts and outputs as plain data', () => {
    const state = new RunState(['a', 'b', 'c']);
    state.complete('a', { rows: 1 }, 2);
    state.restore('b', { value: undefined });
    state.fail('c', new Error('x'), 3);
    state.abandon('c', 3);
    expect(state.results()).to.deep.equal({
      a: { status: 'completed', attempts: 2, output: { rows: 1 } },
      b: { status: 'restored', attempts: 0, output: undefined },
      c: { status: 'not-run', attempts: 3 },
    });
  });

  it('knows a restored step whose output was undefined is done', () => {
    const state = new RunState(['a']);
    state.restore('a', { value: undefined });
    expect(state.isDone('a')).to.equal(true);
    expect(state.hasOutput('a')).to.equal(true);
    expect(state.output('a')).to.equal(undefined);
  });

  it('reports a failed step with its error, and a restored step not loaded without an output', () => {
    const state = new RunState(['a', 'b', 'c']);
    const error = new Error('boom');
    state.fail('a', error, 2);
    state.restore('b');
    const results = state.results();
    expect(results).to.deep.equal({ a: { status: 'failed', attempts: 2, error }, b: { status: 'restored', attempts: 0 }, c: { status: 'not-run', attempts: 0 } });
    expect(results.a.error).to.equal(error);
    expect('output' in results.b).to.equal(false);
    expect('error' in results.c).to.equal(false);
  });

  it('knows which steps are done: completed or restored, not failed, abandoned or not run', () => {
    const state = new RunState(['done', 'restored', 'failed', 'abandoned', 'idle']);
    state.complete('done', 1, 1);
    state.restore('restored');
    state.fail('failed', new Error('x'), 1);
    state.abandon('abandoned', 1);
    expect(['done', 'restored', 'failed', 'abandoned', 'idle'].map((s) => state.isDone(s))).to.deep.equal([true, true, false, false, false]);
    expect(['done', 'restored', 'failed', 'abandoned', 'idle'].map((s) => state.status(s))).to.deep.equal(['completed', 'restored', 'failed', 'not-run', 'not-run']);
    expect(['done', 'restored', 'failed', 'abandoned', 'idle'].map((s) => state.attempts(s))).to.deep.equal([1, 0, 1, 1, 0]);
  });

  it('a step completed after a failed attempt carries no error', () => {
    const state = new RunState(['a']);
    state.fail('a', new Error('first'), 1);
    state.complete('a', 'ok', 2);
    expect(state.results()).to.deep.equal({ a: { status: 'completed', attempts: 2, output: 'ok' } });
  });

  it('refuses to hand out an output it does not hold, and a step it does not know', () => {
    const state = new RunState(['a']);
    expect(state.hasOutput('a')).to.equal(false);
    expect(() => state.output('a')).to.throw("internal: output of step 'a' is not loaded");
    state.restore('a');
    expect(() => state.output('a')).to.throw("internal: output of step 'a' is not loaded");
    expect(() => state.status('zz')).to.throw("internal: unknown step 'zz'");
  });
});
