import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Step, Workflow } from '../../decorators';
import { InvalidOptionError, WorkflowNotRegisteredError } from '../../lib/errors';
import type { StepContext } from '../../lib/runner/step-context';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { CronSlots, slotWorkflowId } from '../../lib/worker/cron-slots';
import { WorkflowWorker } from '../../lib/worker/workflow-worker';
import { runTs } from '../helpers/child';
import { tempDir } from '../helpers/temp-dir';

const fired: string[] = [];

@Workflow({ name: 'report' })
class Report {
  @Step() build(ctx: StepContext<{ day: string }>) {
    fired.push(`${ctx.workflowId} ${ctx.input.day}`);
    return ctx.input.day;
  }
}

/** Resolves when `runner` has completed `n` runs. */
function completions(runner: WorkflowRunner, n: number): Promise<string[]> {
  const ids: string[] = [];
  return new Promise((resolve) => {
    const off = runner.on('run:completed', ({ workflowId }) => {
      ids.push(workflowId);
      if (ids.length === n) {
        off();
        resolve(ids);
      }
    });
  });
}

describe('schedules', () => {
  const workers: WorkflowWorker[] = [];
  beforeEach(() => (fired.length = 0));
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ deadlineMs: 0 })));
  });

  it("catchUp 'latest' runs the most recent slot missed while no worker was up, once; 'none' runs none", async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Report] });
    const done = completions(runner, 1);
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 60_000 });
    worker.schedule(Report, { cron: '0 6 * * *', timezone: 'UTC', input: (slot) => ({ day: slot.toISOString().slice(0, 10) }) });
    workers.push(worker);
    await worker.start();
    const [id] = await done;
    const latest = new CronSlots('0 6 * * *', 'UTC').latest(Date.now())!;
    expect(id).to.equal(slotWorkflowId('report', latest));
    expect(fired).to.deep.equal([`${id} ${new Date(latest).toISOString().slice(0, 10)}`]);

    // Another worker starting now finds the slot's record: it runs nothing.
    const again = new WorkflowWorker({ runner, pollIntervalMs: 60_000 });
    again.schedule(Report, { cron: '0 6 * * *', timezone: 'UTC', input: (slot) => ({ day: slot.toISOString().slice(0, 10) }) });
    workers.push(again);
    await again.start();
    await again.stop(); // waits for whatever it started
    const lazy = new WorkflowWorker({ runner: new WorkflowRunner({ storage: new MemoryStorage(), workflows: [Report] }), pollIntervalMs: 60_000 });
    lazy.schedule(Report, { cron: '0 6 * * *', catchUp: 'none', input: () => ({ day: 'x' }) });
    workers.push(lazy);
    await lazy.start();
    expect(lazy.running()).to.deep.equal([]);
    expect(fired).to.have.length(1);
  });

  it("overlap 'skip' skips a slot while the previous slot's run is unfinished; 'allow' runs it", async () => {
    for (const overlap of ['skip', 'allow'] as const) {
      fired.length = 0;
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, workflows: [Report] });
      const slots = new CronSlots('0 * * * *', 'UTC');
      const latest = slots.latest(Date.now())!;
      const previous = slots.latest(latest - 1)!;
      const previousId = slotWorkflowId('report', previous);
      await storage.writeRecord(previousId, { formatVersion: 1, workflowId: previousId, workflowName: 'report', fingerprint: 'x', steps: [{ name: 'build', after: [] }], updatedAt: 'now', input: { day: 'p' }, status: 'running' }, null);
      const worker = new WorkflowWorker({ runner, pollIntervalMs: 60_000, onError: () => undefined });
      worker.schedule(Report, { cron: '0 * * * *', timezone: 'UTC', overlap, input: () => ({ day: 'd' }) });
      workers.push(worker);
      await worker.start();
      await worker.stop();
      expect(fired, overlap).to.deep.equal(overlap === 'skip' ? [] : [`${slotWorkflowId('report', latest)} d`]);
    }
  });

  it("overlap 'skip' never lets two runs of a schedule overlap, across two workers, however many slots pass meanwhile", async function () {
    this.timeout(30_000);
    let inFlight = 0;
    let most = 0;
    const started: string[] = [];
    @Workflow({ name: 'long-report' })
    class LongReport {
      @Step() async build(ctx: StepContext) {
        started.push(ctx.workflowId);
        most = Math.max(most, ++inFlight);
        // Longer than two slots of the 1 s cron.
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        inFlight--;
        return 'built';
      }
    }
    const storage = new MemoryStorage();
    const pair = [0, 1].map(() => {
      const worker = new WorkflowWorker({ runner: new WorkflowRunner({ storage, workflows: [LongReport] }), pollIntervalMs: 50 });
      worker.schedule(LongReport, { cron: '* * * * * *', catchUp: 'none' });
      workers.push(worker);
      return worker;
    });
    await Promise.all(pair.map((w) => w.start()));
    while (started.length < 2) await new Promise((resolve) => setTimeout(resolve, 100));
    await Promise.all(pair.map((w) => w.stop({ deadlineMs: 10_000 })));
    expect(most, 'runs in flight at once').to.equal(1);
    // The slots in between were skipped, each for the run then unfinished, and say so.
    const ids = await storage.list();
    const skipped = [];
    for (const id of ids) {
      const record = (await storage.readRecord(id))!.record;
      if (record.skippedFor === undefined) continue;
      skipped.push(id);
      expect(record).to.deep.include({ status: 'cancelled', skippedFor: started.find((s) => s < id && record.skippedFor === s) });
      expect(record.error!.code).to.equal('WAYMARK_SLOT_SKIPPED');
    }
    expect(skipped.length, 'at least the two slots during the first run').to.be.at.least(2);
    expect(await storage.endedBefore('cancelled', Infinity, 100)).to.have.length(skipped.length);
  });

  it("overlap 'skip' waits for a previous slot that is running or waiting, not for one that finished", async () => {
    for (const status of ['running', 'waiting', 'completed', 'failed'] as const) {
      fired.length = 0;
      const storage = new MemoryStorage();
      const slots = new CronSlots('0 * * * *', 'UTC');
      const latest = slots.latest(Date.now())!;
      const previousId = slotWorkflowId('report', slots.latest(latest - 1)!);
      await storage.writeRecord(previousId, { formatVersion: 1, workflowId: previousId, workflowName: 'report', fingerprint: 'x', steps: [{ name: 'build', after: [] }], updatedAt: 'now', input: { day: 'p' }, status }, null);
      const worker = new WorkflowWorker({ runner: new WorkflowRunner({ storage, workflows: [Report] }), pollIntervalMs: 60_000 });
      worker.schedule(Report, { cron: '0 * * * *', timezone: 'UTC', input: () => ({ day: 'd' }) });
      workers.push(worker);
      await worker.start();
      await worker.stop({ deadlineMs: 10_000 });
      expect(fired, status).to.have.length(status === 'running' || status === 'waiting' ? 0 : 1);
    }
  });

  it('never runs a slot again once its record exists, even one that failed', async () => {
    const storage = new MemoryStorage();
    const latest = new CronSlots('0 * * * *', 'UTC').latest(Date.now())!;
    const id = slotWorkflowId('report', latest);
    await storage.writeRecord(id, { formatVersion: 1, workflowId: id, workflowName: 'report', fingerprint: 'x', steps: [{ name: 'build', after: [] }], updatedAt: 'now', input: { day: 'd' }, status: 'failed', error: { code: 'C', message: 'm' } }, null);
    const worker = new WorkflowWorker({ runner: new WorkflowRunner({ storage, workflows: [Report] }), pollIntervalMs: 60_000 });
    worker.schedule(Report, { cron: '0 * * * *', timezone: 'UTC', overlap: 'allow', input: () => ({ day: 'd' }) });
    workers.push(worker);
    await worker.start();
    await worker.stop({ deadlineMs: 10_000 });
    expect(fired).to.deep.equal([]);
    expect((await storage.readRecord(id))!.record.status).to.equal('failed');
  });

  it("keeps a slot run's failure in its record, telling nobody; reports an input function that throws, with the slot's id", async () => {
    @Workflow({ name: 'flaky-report' })
    class FlakyReport {
      @Step() build(): never {
        throw new Error('no data today');
      }
    }
    const storage = new MemoryStorage();
    const errors: [unknown, string | undefined][] = [];
    const runner = new WorkflowRunner({ storage, workflows: [FlakyReport, Report] });
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 60_000, onError: (error, id) => errors.push([error, id]) });
    worker.schedule(FlakyReport, { cron: '0 * * * *', timezone: 'UTC' });
    worker.schedule(Report, {
      cron: '0 * * * *',
      timezone: 'UTC',
      input: () => {
        throw new Error('no day');
      },
    });
    workers.push(worker);
    await worker.start();
    await worker.stop({ deadlineMs: 10_000 });
    const latest = new CronSlots('0 * * * *', 'UTC').latest(Date.now())!;
    expect((await runner.get(slotWorkflowId('flaky-report', latest)))!.status).to.equal('failed');
    expect(errors.map(([error, id]) => [(error as Error).message, id])).to.deep.equal([['no day', slotWorkflowId('report', latest)]]);
  });

  it('checks a schedule when it is added: the class registered, the options, before start', async () => {
    const runner = new WorkflowRunner({ workflows: [Report] });
    const worker = new WorkflowWorker({ runner });
    @Workflow({ name: 'unknown' })
    class Unknown {
      @Step() only() {
        return 1;
      }
    }
    expect(() => worker.schedule(Unknown, { cron: '* * * * *' })).to.throw(WorkflowNotRegisteredError, "'unknown'");
    expect(() => worker.schedule(Report, { cron: 'soon' })).to.throw(InvalidOptionError, 'cron');
    expect(() => worker.schedule(Report, { cron: '* * * * *', overlap: 'queue' as never })).to.throw(InvalidOptionError, 'overlap');
    expect(() => worker.schedule(Report, { cron: '* * * * *', catchUp: 'all' as never })).to.throw(InvalidOptionError, 'catchUp');
    expect(() => worker.schedule(Report, { cron: '* * * * *', input: {} as never })).to.throw(InvalidOptionError, 'input');
    expect(() => worker.schedule(Report, null as never)).to.throw(InvalidOptionError, 'schedule options');
    await worker.start();
    expect(() => worker.schedule(Report, { cron: '* * * * *' })).to.throw(InvalidOptionError, 'before start()');
    await worker.stop();
  });

  it('three worker processes on a 1-second cron for 5 seconds run each slot exactly once', async function () {
    this.timeout(60_000);
    const dir = await tempDir();
    try {
      const env = { STORE: join(dir.path, 'store'), EVENTS: join(dir.path, 'events.log'), DURATION_MS: '5000' };
      const exits = await Promise.all([runTs('spec/fixtures/schedule-worker.ts', env), runTs('spec/fixtures/schedule-worker.ts', env), runTs('spec/fixtures/schedule-worker.ts', env)]);
      for (const exit of exits) expect(exit.code, exit.stderr).to.equal(0);
      const lines = readFileSync(env.EVENTS, 'utf8').trim().split('\n').map((l) => l.split(' '));
      const ids = lines.map(([, id]) => id!);
      expect(new Set(ids).size, 'no slot ran twice').to.equal(ids.length);
      const seconds = ids.map((id) => Date.parse(id.slice('tick@'.length))).sort((a, b) => a - b);
      expect(seconds.length).to.be.at.least(4);
      for (let i = 1; i < seconds.length; i++) expect(seconds[i]! - seconds[i - 1]!, 'no slot missed while workers were up').to.equal(1000);
      for (const [, id, second] of lines) expect(Number(second)).to.equal(new Date(Date.parse(id!.slice(5))).getUTCSeconds());
      expect(new Set(lines.map(([pid]) => pid)).size, 'the slots were shared out').to.be.at.least(1);
    } finally {
      await dir.remove();
    }
  });
});
