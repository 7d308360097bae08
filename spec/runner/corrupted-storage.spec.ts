import { expect } from 'chai';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Step } from '../../decorators';
import { CheckpointCorruptedError } from '../../lib/errors';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { sampleCheckpoint } from '../../lib/testing';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { tempDir } from '../helpers/temp-dir';

class Pair {
  @Step() first() {
    return 1;
  }
  @Step() second() {
    return 2;
  }
}

describe('a workflow whose stored record is corrupted', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let storage: FileStorage;
  let recordPath: string;
  beforeEach(async () => {
    dir = await tempDir();
    storage = new FileStorage({ directory: dir.path });
    await new WorkflowRunner({ storage }).run(new Pair(), { workflowId: 'job' });
    const workflowDir = join(dir.path, 'workflows', (await readdir(join(dir.path, 'workflows')))[0]);
    recordPath = join(workflowDir, (await readdir(workflowDir)).find((name) => /^record\.\d+\.json$/.test(name))!);
    await writeFile(recordPath, '{"revision": 3, "rec');
  });
  afterEach(() => dir.remove());

  it('a resume fails with CheckpointCorruptedError naming the file and saying how to recover', async () => {
    const error = await new WorkflowRunner({ storage }).run(new Pair(), { workflowId: 'job', resume: true }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CheckpointCorruptedError).and.include({ workflowId: 'job', location: recordPath });
    expect((error as Error).message).to.contain(recordPath).and.contain('resume: false').and.contain('waymark clear job');
  });

  it('resume: false replaces it and runs every step', async () => {
    const result = await new WorkflowRunner({ storage }).run(new Pair(), { workflowId: 'job' });
    expect(result.steps.first.status).to.equal('completed');
    expect((await storage.load('job'))?.record?.workflowName).to.equal('Pair');
  });

  it('clear() deletes it', async () => {
    await storage.clear('job');
    expect(await storage.load('job')).to.equal(undefined);
    expect(await storage.list()).to.deep.equal([]);
  });
});

describe('a stored output that cannot be decoded', () => {
  class Chain {
    @Step() first() {
      return 1;
    }
    @Step() second(ctx: { previous: number }) {
      return ctx.previous + 1;
    }
  }

  it('a resume that needs it fails with CheckpointCorruptedError naming the step, and runs nothing', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage });
    let runs = 0;
    class Stops {
      @Step() first() {
        return 1;
      }
      @Step() second(ctx: { previous: number }) {
        runs++;
        if (runs === 1) throw new Error('stop');
        return ctx.previous + 1;
      }
    }
    await runner.run(new Stops(), { workflowId: 'job' }).catch(() => undefined);
    await storage.commit('job', { ...sampleCheckpoint('first'), output: { $wm: 'no-such-tag' } });
    const error = await runner.run(new Stops(), { workflowId: 'job', resume: true }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CheckpointCorruptedError).and.include({ workflowId: 'job' });
    expect((error as Error).message).to.contain("checkpoint of step 'first'").and.contain('no-such-tag');
    expect((error as Error).cause, 'the decoding error is kept as the cause').to.be.instanceOf(Error).and.have.property('message').that.contains('no-such-tag');
    expect(runs, 'second never ran with a value it could not have').to.equal(1);
  });

  it("a late duplicate whose stored completion cannot be decoded fails with CheckpointCorruptedError naming the record's completion", async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage });
    await runner.run(new Chain(), { workflowId: 'job' });
    const stored = (await storage.readRecord('job'))!;
    await storage.writeRecord('job', { ...stored.record, completion: { ...stored.record.completion!, output: { $wm: 'no-such-tag' } } }, stored.version);
    const error = await runner.run(new Chain(), { workflowId: 'job', resume: true }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CheckpointCorruptedError);
    expect((error as Error).message).to.contain('the completion in its record').and.contain('no-such-tag');
    expect((error as Error).cause).to.be.instanceOf(Error).and.have.property('message').that.contains('no-such-tag');
  });
});
