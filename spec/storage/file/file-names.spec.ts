/**
 * Every workflow id, step name and event id FileStorage accepts works everywhere a file is named
 * after it (workflow folder, wake and ended entries, the trash of a clear): what would not fit is
 * refused at its first use, with a typed error, before anything runs or is stored.
 */
import { expect } from 'chai';
import { Step, Workflow } from '../../../decorators';
import { InvalidOptionError, InvalidWorkflowIdError } from '../../../lib/errors';
import type { StepContext } from '../../../lib/runner/step-context';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import { FileStorage } from '../../../lib/storage/file/file-storage';
import { encodeSegment } from '../../../lib/workflow-id';
import { tempDir } from '../../helpers/temp-dir';

@Workflow({ name: 'long-id' })
class Reminder {
  @Step() send() {
    return 'sent';
  }
  @Step({ waitFor: { event: 'paid', timeoutMs: 3_600_000, onTimeout: 'run' } }) settle(ctx: StepContext) {
    return ctx.event<number>() ?? 0;
  }
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('FileStorage file names', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let storage: FileStorage;
  let runner: WorkflowRunner;
  beforeEach(async () => {
    dir = await tempDir();
    storage = new FileStorage({ directory: dir.path });
    runner = new WorkflowRunner({ storage, workflows: [Reminder], tracer: false });
  });
  afterEach(() => dir.remove());

  for (const [what, id] of [
    ['25 CJK characters (225 encoded bytes)', '漢'.repeat(25)],
    ['the longest accepted id (238 encoded bytes)', `${'x'.repeat(13)}${'漢'.repeat(25)}`],
  ] as const) {
    it(`an id of ${what} waits, wakes, completes, is pruned, and is cleared`, async () => {
      expect(encodeSegment(id).length).to.be.at.most(238);
      expect((await runner.run(new Reminder(), { workflowId: id })).status).to.equal('waiting');
      expect((await storage.dueWakes(Number.MAX_SAFE_INTEGER, 10)).map((e) => e.workflowId)).to.include(id);
      await runner.sendEvent(id, 'paid', 1200, { eventId: '支払い-'.repeat(8) });
      expect((await runner.resume(id)).output).to.equal(1200);
      expect((await runner.prune({ olderThan: 0 })).workflowIds).to.deep.equal([id]);
      expect((await runner.run(new Reminder(), { workflowId: id })).status).to.equal('waiting');
      expect(await runner.clear(id)).to.deep.equal({ checkpoints: 1 });
      expect(await storage.list()).to.deep.equal([]);
    });
  }

  it('refuses an id one byte longer at its first use, storing nothing', async () => {
    const id = `${'x'.repeat(14)}${'漢'.repeat(25)}`;
    const error = await caught(runner.run(new Reminder(), { workflowId: id }));
    expect(error).to.be.instanceOf(InvalidWorkflowIdError);
    expect((error as Error).message).to.contain('239 bytes').and.contain('allows 238');
    expect(await storage.list()).to.deep.equal([]);
  });

  it('refuses a step name whose checkpoint file would not fit, before any step runs', async () => {
    const ran: string[] = [];
    class LongStep {
      @Step() first() {
        ran.push('first');
        return 1;
      }
      @Step({ name: '手順'.repeat(15) }) second() {
        ran.push('second');
        return 2;
      }
    }
    const error = await caught(runner.run(new LongStep(), { workflowId: 'long-step' }));
    expect(error).to.be.instanceOf(InvalidWorkflowIdError);
    expect((error as Error).message).to.contain('step name').and.contain('allows 250');
    expect(ran).to.deep.equal([]);
    expect(await storage.list()).to.deep.equal([]);
  });

  it('refuses an event id whose file would not fit, storing nothing', async () => {
    await runner.run(new Reminder(), { workflowId: 'r-1' });
    const error = await caught(runner.sendEvent('r-1', 'paid', 1, { eventId: '請求'.repeat(20) }));
    expect(error).to.be.instanceOf(InvalidOptionError);
    expect((error as Error).message).to.contain('eventId').and.contain('250 bytes');
    expect(await storage.listEvents('r-1')).to.deep.equal([]);
  });
});
