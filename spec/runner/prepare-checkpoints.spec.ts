import { expect } from 'chai';
import sinon from 'sinon';
import { Step } from '../../decorators';
import { InvalidInputChangePolicyError, StorageError } from '../../lib/errors';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { sampleCheckpoint } from '../../lib/testing';

class Pair {
  @Step() a() {
    return 'a';
  }
  @Step() b() {
    return 'b';
  }
}

describe('preparing checkpoints', () => {
  afterEach(() => sinon.restore());

  it('a run that starts over replaces corrupted data, but never data it could not read for another reason', async () => {
    const storage = new MemoryStorage();
    sinon.stub(storage, 'load').rejects(new StorageError('wf', 'load', new Error('disk on fire')));
    const clear = sinon.spy(storage, 'clear');
    const error = await new WorkflowRunner({ storage }).run(new Pair(), { workflowId: 'wf' }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(StorageError);
    expect(clear.called).to.equal(false);
  });

  it('resumes checkpoints stored without a record (an interrupted first write): nobody else owns them', async () => {
    const storage = new MemoryStorage();
    await storage.commit('bare', sampleCheckpoint('a', 'a'));
    const changes: unknown[] = [];
    const runner = new WorkflowRunner({ storage, hooks: { 'input:changed': (e) => void changes.push([e.storedFingerprint, e.policy]) } });
    const warnings = sinon.stub(process, 'emitWarning');
    const result = await runner.run(new Pair(), { workflowId: 'bare', resume: true });
    expect(result.steps.a.status).to.equal('restored');
    expect(result.steps.b.status).to.equal('completed');
    expect(changes, 'no stored fingerprint reads as (none)').to.deep.equal([['(none)', 'reuse']]);
    expect(warnings.called, 'nothing to warn about: no input was stored').to.equal(false);
  });

  it('warns about an implicit reuse only when committed steps are reused', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage });
    class Fails {
      @Step() a() {
        throw new Error('before any commit');
      }
    }
    await runner.run(new Fails(), { workflowId: 'empty', input: { v: 1 } }).catch(() => undefined);
    const warnings = sinon.stub(process, 'emitWarning');
    await runner.run(new Fails(), { workflowId: 'empty', input: { v: 2 }, resume: true }).catch(() => undefined);
    expect(warnings.called).to.equal(false);
  });

  it("names the workflow when a policy function answers something that is not a policy", async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage });
    await runner.run(new Pair(), { workflowId: 'wf', input: { v: 1 } });
    const error = await runner.run(new Pair(), { workflowId: 'wf', input: { v: 2 }, resume: true, onInputChange: () => 'maybe' as never }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InvalidInputChangePolicyError);
    expect((error as Error).message).to.contain("input-change policy of workflow 'wf' (value returned by the policy function for workflow 'wf')");
  });
});
