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
});
