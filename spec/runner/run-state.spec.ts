import { expect } from 'chai';
import sinon from 'sinon';
import { RunState } from '../../lib/runner/run-state';
import { MemoryStorage } from '../../lib/storage/memory-storage';

describe('RunState', () => {
  it('is plain state: assigning outputs and statuses does no I/O', () => {
    const storage = sinon.createStubInstance(MemoryStorage);
    const state = new RunState(['a', 'b', 'c']);
    state.complete('a', { rows: 1 }, 2);
    state.restore('b', { value: undefined });
    state.fail('c', new Error('x'), 3);
    state.abandon('c', 3);
    for (const method of Object.values(storage) as sinon.SinonStub[]) if (typeof method?.called === 'boolean') expect(method.called).to.equal(false);
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
