import { expect } from 'chai';
import { Fingerprint, Step, Workflow } from '../../decorators';
import { CheckpointCorruptedError, InvalidOptionError, LeaseLostError, WorkflowBusyError, WorkflowCancelledError, WorkflowFailedError } from '../../lib/errors';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { StepContext } from '../../lib/runner/step-context';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import type { WorkflowRecord } from '../../lib/storage/records';

interface Order {
  readonly id: string;
  readonly at: Date;
  readonly tags: Set<string>;
}

const behaviour = { failCharge: 0, chargeError: (): unknown => new Error('card declined'), onShip: async (_ctx: StepContext<Order>): Promise<void> => undefined };

// The fingerprint takes JSON data; the stored input takes what the codec does (Date, Set...).
@Fingerprint({ exclude: ['at', 'tags'] })
@Workflow({ name: 'order' })
class OrderFlow {
  @Step() reserve(ctx: StepContext<Order>) {
    return { held: ctx.input.id };
  }
  @Step({ retry: { attempts: 2 } }) charge() {
    if (behaviour.failCharge-- > 0) throw behaviour.chargeError();
    return { charged: true };
  }
  @Step() async ship(ctx: StepContext<Order>) {
    await behaviour.onShip(ctx);
    return 'shipped';
  }
}

const input: Order = { id: 'o-1', at: new Date('2026-12-01T10:00:00.000Z'), tags: new Set(['gift']) };

/** A workflow that fails at `charge`: both attempts throw. */
async function failAtCharge(runner: WorkflowRunner, workflowId: string, error: () => unknown = () => new Error('card declined')): Promise<void> {
  behaviour.failCharge = 2;
  behaviour.chargeError = error;
  await runner.run(new OrderFlow(), { workflowId, input }).then(
    () => expect.fail('the run should fail'),
    (e: unknown) => expect(e).to.be.instanceOf(WorkflowFailedError),
  );
  behaviour.failCharge = 0;
}

describe('stored workflows: get and list', () => {
  afterEach(() => {
    behaviour.failCharge = 0;
    behaviour.onShip = async () => undefined;
  });

  describe('get', () => {
    it('says when each committed step’s successful attempt started, so any reader can time it (a retry starts after its backoff)', async () => {
      let firstAttemptAt = 0;
      class Flaky {
        @Step({ retry: { attempts: 2, delayMs: 30 } }) fetch(ctx: StepContext) {
          if (ctx.attempt === 1) {
            firstAttemptAt = Date.now();
            throw new Error('timeout');
          }
          return 'ok';
        }
      }
      const runner = new WorkflowRunner({ storage: new MemoryStorage() });
      await runner.run(new Flaky(), { workflowId: 'f-1' });
      const step = (await runner.get('f-1'))!.steps.fetch!;
      expect(step).to.include({ status: 'committed', attempts: 2 });
      expect(Date.parse(step.startedAt!), 'the second attempt, after the backoff').to.be.at.least(firstAttemptAt + 28);
      expect(Date.parse(step.startedAt!)).to.be.at.most(Date.parse(step.committedAt!));
      expect(step.lastFailure, 'what the retried attempt threw').to.deep.equal({ code: 'WAYMARK_RUN_FAILED', message: 'timeout' });
    });

    it('keeps what a retried step threw before it succeeded: retried in the run, or after a retry that waited durably (and a resume)', async () => {
      class Retried {
        @Step({ retry: { attempts: 3, delayMs: 5 } }) inline(ctx: StepContext) {
          if (ctx.attempt < 3) throw Object.assign(new Error(`busy ${ctx.attempt}`), { code: 'PARTNER_BUSY' });
          return 'ok';
        }
        @Step({ retry: { attempts: 2, delayMs: 60_000 } }) durable(ctx: StepContext) {
          if (ctx.attempt === 1) throw Object.assign(new Error('rate limited'), { code: 'RATE_LIMITED' });
          return 'ok';
        }
        @Step() once() {
          return 'ok';
        }
      }
      const storage = new MemoryStorage();
      // Retries up to a second are slept holding the lease; the minute-long one waits durably.
      const runner = new WorkflowRunner({ storage, maxInlineWaitMs: 1_000 });
      expect((await runner.run(new Retried(), { workflowId: 'r-1' })).status).to.equal('waiting');
      // The durable retry is due: a resume (a worker, in production) runs its second attempt.
      const stored = (await storage.readRecord('r-1'))!;
      const polls = stored.record.polls!;
      expect(polls.durable!.lastFailure).to.deep.equal({ code: 'RATE_LIMITED', message: 'rate limited' });
      await storage.writeRecord('r-1', { ...stored.record, polls: { durable: { ...polls.durable!, next: new Date(Date.now() - 1).toISOString() } } }, stored.version);
      expect((await runner.run(new Retried(), { workflowId: 'r-1', resume: true })).status).to.equal('completed');
      const { steps } = (await runner.get('r-1'))!;
      expect(steps.inline).to.deep.include({ attempts: 3, lastFailure: { code: 'PARTNER_BUSY', message: 'busy 2' } });
      expect(steps.durable).to.deep.include({ attempts: 2, lastFailure: { code: 'RATE_LIMITED', message: 'rate limited' } });
      expect(steps.once!.lastFailure).to.equal(undefined);
    });

    it('reports a failed workflow: its status, input, the step that failed with its attempts, and the error', async () => {
      const runner = new WorkflowRunner({ storage: new MemoryStorage() });
      await failAtCharge(runner, 'o-1');
      const info = await runner.get<Order>('o-1');
      expect(info).to.deep.include({ workflowId: 'o-1', workflowName: 'order', status: 'failed' });
      expect(info!.input).to.deep.equal(input, 'the input round-trips through the codec (Date, Set)');
      expect(info!.input!.at).to.be.instanceOf(Date);
      const { stack, ...error } = info!.error!;
      expect(error).to.deep.equal({ code: 'WAYMARK_STEP_FAILED', message: 'card declined', step: 'charge', attempts: 2 });
      // The step's own error's stack, where it was thrown: what an on-call engineer reads first.
      expect(stack).to.match(/^Error: card declined\n\s+at .*workflow-info\.spec\.ts:\d+:\d+/);
      expect(info!.steps.reserve).to.include({ status: 'committed', attempts: 1 });
      expect(Date.parse(info!.steps.reserve!.committedAt!)).to.be.a('number').and.not.NaN;
      expect(info!.steps.charge).to.deep.equal({ status: 'failed', attempts: 2, after: ['reserve'] });
      expect(info!.steps.ship).to.deep.equal({ status: 'pending', attempts: 0, after: ['charge'] });
      expect(info!.output).to.equal(undefined);
      expect(Date.parse(info!.createdAt!)).to.be.at.most(Date.parse(info!.updatedAt!));
    });

    it("keeps an error's own code (a Node system code, a waymark code), and the message of what was thrown", async () => {
      const runner = new WorkflowRunner();
      await failAtCharge(runner, 'sys', () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      expect((await runner.get('sys'))!.error).to.include({ code: 'ECONNRESET', message: 'socket hang up' });
      await failAtCharge(runner, 'str', () => 'a thrown string');
      expect((await runner.get('str'))!.error).to.include({ code: 'WAYMARK_STEP_FAILED', message: 'a thrown string' });
      await failAtCharge(runner, 'empty', () => Object.assign(new Error('odd'), { code: '' }));
      expect((await runner.get('empty'))!.error!.code).to.equal('WAYMARK_STEP_FAILED');
    });

    it('reports a completed workflow with its output; the resume that completed it kept its creation time and cleared the error', async () => {
      const runner = new WorkflowRunner();
      await failAtCharge(runner, 'o-2');
      const failed = (await runner.get('o-2'))!;
      await runner.run(new OrderFlow(), { workflowId: 'o-2', input, resume: true });
      const info = (await runner.get('o-2'))!;
      expect(info).to.deep.include({ status: 'completed', output: 'shipped', createdAt: failed.createdAt });
      expect(info.error).to.equal(undefined);
      expect(Object.values(info.steps).map((s) => s.status)).to.deep.equal(['committed', 'committed', 'committed']);
      expect(info.steps.reserve!.committedAt).to.equal(failed.steps.reserve!.committedAt, 'restored, not run again');
    });

    it("says 'running' while a run is under way, and 'cancelled' after a cancel", async () => {
      const runner = new WorkflowRunner();
      let seen: unknown;
      let lease: unknown;
      behaviour.onShip = async (ctx) => {
        const info = (await runner.get(ctx.workflowId))!;
        seen = info.status;
        lease = info.lease;
        handle.cancel();
        expect(ctx.signal.aborted).to.equal(true);
      };
      const handle = runner.start(new OrderFlow(), { workflowId: 'o-3', input });
      await handle.result().then(
        () => expect.fail('cancelled'),
        (e: unknown) => expect(e).to.be.instanceOf(WorkflowCancelledError),
      );
      expect(seen).to.equal('running');
      expect(lease).to.have.property('owner').that.matches(/^pid \d+ on /);
      expect((await runner.get('o-3'))!.lease, 'released when the run ended').to.equal(undefined);
      const info = (await runner.get('o-3'))!;
      expect(info.status).to.equal('cancelled');
      expect(info.steps.ship).to.deep.equal({ status: 'pending', attempts: 0, after: ['charge'] });
    });

    it("leaves a workflow 'running' when its run lost the lease: it writes nothing, so the workflow reads as interrupted", async () => {
      const storage = new MemoryStorage();
      storage.renewLease = async () => undefined; // every renewal finds the lease taken
      const runner = new WorkflowRunner({ storage, leaseTtlMs: 30 });
      behaviour.onShip = (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      const error = await runner.run(new OrderFlow(), { workflowId: 'o-4', input }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(WorkflowFailedError);
      expect((error as WorkflowFailedError).cause).to.be.instanceOf(LeaseLostError);
      const info = (await runner.get('o-4'))!;
      expect(info.status).to.equal('running');
      expect(info.error).to.equal(undefined);
    });

    it('is undefined for an id with nothing stored, and refuses an invalid id', async () => {
      const runner = new WorkflowRunner();
      expect(await runner.get('nobody')).to.equal(undefined);
      await runner.get('').then(
        () => expect.fail('an empty id'),
        (e: unknown) => expect(e).to.have.property('code', 'WAYMARK_INVALID_WORKFLOW_ID'),
      );
    });

    it('reads a record written before statuses and inputs were stored: running, or completed by its completion', async () => {
      const storage = new MemoryStorage();
      const old: WorkflowRecord = { formatVersion: 1, workflowId: 'old', workflowName: 'order', fingerprint: 'f', steps: [{ name: 'reserve', after: [] }], updatedAt: '2026-01-01T00:00:00.000Z' };
      await storage.writeRecord('old', old, null);
      const runner = new WorkflowRunner({ storage });
      const info = (await runner.get('old'))!;
      expect(info).to.deep.equal({ workflowId: 'old', workflowName: 'order', version: 1, updatedAt: old.updatedAt, status: 'running', steps: { reserve: { status: 'pending', attempts: 0, after: [] } } });
      await storage.writeRecord('done', { ...old, workflowId: 'done', completion: { runId: 'r', completedAt: old.updatedAt, output: 5 } }, null);
      expect(await runner.get('done')).to.deep.include({ status: 'completed', output: 5 });
    });

    it('names the record when its stored input cannot be decoded', async () => {
      const storage = new MemoryStorage();
      const record: WorkflowRecord = { formatVersion: 1, workflowId: 'bad', workflowName: 'order', fingerprint: 'f', steps: [], updatedAt: 'now', input: { $wm: 'no-such-kind' } };
      await storage.writeRecord('bad', record, null);
      const error = await new WorkflowRunner({ storage }).get('bad').catch((e: unknown) => e);
      expect(error).to.be.instanceOf(CheckpointCorruptedError);
      expect((error as CheckpointCorruptedError).location).to.equal('the input in its record');
      expect((error as CheckpointCorruptedError).reason).to.equal('input: unknown tag "no-such-kind"');
    });
  });

  describe('list', () => {
    async function storeOf(statuses: Record<string, 'completed' | 'failed'>): Promise<WorkflowRunner> {
      const runner = new WorkflowRunner();
      for (const [id, status] of Object.entries(statuses)) {
        if (status === 'failed') await failAtCharge(runner, id);
        else await runner.run(new OrderFlow(), { workflowId: id, input });
      }
      return runner;
    }

    it('pages through every workflow in id order, the cursor carrying on where the page stopped', async () => {
      const runner = await storeOf({ e: 'completed', a: 'failed', d: 'completed', b: 'completed', c: 'failed' });
      const first = await runner.list({ limit: 2 });
      expect(first.items.map((i) => i.workflowId)).to.deep.equal(['a', 'b']);
      const second = await runner.list({ limit: 2, cursor: first.cursor });
      expect(second.items.map((i) => i.workflowId)).to.deep.equal(['c', 'd']);
      const last = await runner.list({ limit: 2, cursor: second.cursor });
      expect(last).to.deep.equal({ items: [last.items[0]] });
      expect(last.items[0]).to.deep.include({ workflowId: 'e', workflowName: 'order', status: 'completed' });
      expect((await runner.list({ limit: 5 })).cursor).to.equal(undefined, 'a page that holds the rest has no cursor');
      expect((await runner.list({ cursor: 'e' })).items).to.deep.equal([]);
    });

    it('filters by status (one or several) and by workflow name, examining past non-matching ids to fill a page', async () => {
      const runner = await storeOf({ a: 'failed', b: 'completed', c: 'completed', d: 'failed', e: 'completed', f: 'failed' });
      const failed = await runner.list({ status: 'failed', limit: 2 });
      expect(failed.items.map((i) => i.workflowId)).to.deep.equal(['a', 'd']);
      expect(failed.items[0]).to.deep.include({ status: 'failed' });
      expect(failed.items[0]!.error).to.deep.include({ code: 'WAYMARK_STEP_FAILED', message: 'card declined', step: 'charge', attempts: 2 });
      expect((await runner.list({ status: 'failed', cursor: failed.cursor })).items.map((i) => i.workflowId)).to.deep.equal(['f']);
      expect((await runner.list({ status: ['failed', 'completed'] })).items).to.have.length(6);
      expect((await runner.list({ workflowName: 'order', status: 'completed' })).items.map((i) => i.workflowId)).to.deep.equal(['b', 'c', 'e']);
      expect((await runner.list({ workflowName: 'other' })).items).to.deep.equal([]);
      const completed = (await runner.list({ status: 'completed' })).items[0]!;
      expect(completed).to.not.have.property('error');
      expect(Date.parse(completed.createdAt!)).to.not.be.NaN;
    });

    it("lists a workflow whose record cannot be read as 'corrupted' with the reason, instead of failing the whole listing", async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage });
      await runner.run(new OrderFlow(), { workflowId: 'good', input });
      await storage.commit('broken', { formatVersion: 1, step: 's', status: 'completed', attempts: 1, committedAt: 'now', output: 1 });
      const readRecord = storage.readRecord.bind(storage);
      storage.readRecord = async (id) => {
        if (id === 'broken') throw new CheckpointCorruptedError(id, 'record.json', 'not valid JSON');
        return readRecord(id);
      };
      const { items } = await runner.list();
      expect(items.map((i) => [i.workflowId, i.status])).to.deep.equal([
        ['broken', 'corrupted'],
        ['good', 'completed'],
      ]);
      expect(items[0]!.error).to.include({ code: 'WAYMARK_CHECKPOINT_CORRUPTED' });
      expect((await runner.list({ status: 'corrupted' })).items.map((i) => i.workflowId)).to.deep.equal(['broken']);
    });

    it("lists checkpoints stored without a record as 'running', with no name", async () => {
      const storage = new MemoryStorage();
      await storage.commit('orphan', { formatVersion: 1, step: 's', status: 'completed', attempts: 1, committedAt: 'now', output: 1 });
      expect((await new WorkflowRunner({ storage }).list()).items).to.deep.equal([{ workflowId: 'orphan', status: 'running' }]);
    });

    it('refuses options it cannot honour, saying what each must be', async () => {
      const runner = new WorkflowRunner();
      for (const [options, message] of [
        [{ limit: 0 }, "option 'limit' is 0; expected an integer from 1 to 1000"],
        [{ limit: 1001 }, "option 'limit' is 1001; expected an integer from 1 to 1000"],
        [{ limit: 1.5 }, "option 'limit' is 1.5; expected an integer from 1 to 1000"],
        [{ limit: '5' }, "option 'limit' is '5'; expected an integer from 1 to 1000"],
        [{ status: 'waiting-forever' }, "option 'status' is 'waiting-forever'; expected 'running', 'waiting', 'completed', 'failed', 'cancelled', 'compensating', 'compensated', 'corrupted'"],
        [{ status: ['failed', 'nope'] }, "option 'status' is 'nope'"],
        [{ status: 5 }, "option 'status' is 5"],
        [{ cursor: 3 }, "option 'cursor' is 3; expected the cursor of the previous page's result"],
        [{ workflowName: 3 }, "option 'workflowName' is 3; expected a workflow name"],
        [{ idPrefix: 3 }, "option 'idPrefix' is 3; expected a string"],
        [{ maxReads: 0 }, "option 'maxReads' is 0; expected a positive integer"],
        [{ maxReads: 2.5 }, "option 'maxReads' is 2.5; expected a positive integer"],
        [{ leases: 'yes' }, "option 'leases' is 'yes'; expected true or false"],
        [null, "option 'list options' is null; expected { status?, workflowName?, version?, stranded?, idPrefix?, limit?, cursor?, maxReads?, leases? }"],
        [5, "option 'list options' is 5; expected { status?, workflowName?, version?, stranded?, idPrefix?, limit?, cursor?, maxReads?, leases? }"],
      ] as const) {
        const error = await runner.list(options as never).catch((e: unknown) => e);
        expect(error, JSON.stringify(options)).to.be.instanceOf(InvalidOptionError);
        expect((error as InvalidOptionError).message).to.contain(message);
      }
      expect((await runner.list({ limit: 1 })).items).to.deep.equal([]);
      expect((await runner.list({ limit: 1000 })).items).to.deep.equal([]);
    });

    it('reads one record per listed workflow without a filter, at most 16 at once with one', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage });
      const ids = Array.from({ length: 40 }, (_, i) => `w${String(i).padStart(2, '0')}`);
      for (const id of ids) await runner.run(new OrderFlow(), { workflowId: id, input });
      let reads = 0;
      let inFlight = 0;
      let most = 0;
      const readRecord = storage.readRecord.bind(storage);
      storage.readRecord = async (id) => {
        reads++;
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        return readRecord(id);
      };
      const page = await runner.list({ limit: 3 });
      expect(page).to.deep.include({ cursor: 'w02' });
      expect(reads).to.equal(3);
      reads = 0;
      const filtered = await runner.list({ status: 'failed', limit: 1000 });
      expect(filtered).to.deep.equal({ items: [] });
      expect(reads).to.equal(40);
      expect(most).to.equal(16);
    });
  });

  describe('get, from what is stored', () => {
    const record = (fields: Partial<WorkflowRecord>): WorkflowRecord => ({ formatVersion: 1, workflowId: 'wf', workflowName: 'order', fingerprint: 'f', steps: [{ name: 'a', after: [] }, { name: 'b', after: ['a'] }], updatedAt: '2026-12-01T00:00:00.000Z', ...fields });
    const checkpoint = (step: string) => ({ formatVersion: 1 as const, step, status: 'completed' as const, attempts: 2, committedAt: '2026-12-01T00:00:01.000Z', output: 1 });

    it('lists the steps of the definition, then committed steps it no longer has; checkpoints without a record are steps too', async () => {
      const storage = new MemoryStorage();
      await storage.writeRecord('wf', record({ status: 'running' }), null);
      await storage.commit('wf', checkpoint('gone'));
      await storage.commit('wf', checkpoint('a'));
      const info = (await new WorkflowRunner({ storage }).get('wf'))!;
      expect(Object.keys(info.steps)).to.deep.equal(['a', 'b', 'gone']);
      expect(info.steps).to.deep.equal({ a: { status: 'committed', attempts: 2, committedAt: '2026-12-01T00:00:01.000Z', after: [] }, b: { status: 'pending', attempts: 0, after: ['a'] }, gone: { status: 'committed', attempts: 2, committedAt: '2026-12-01T00:00:01.000Z', after: [] } });
      await storage.commit('orphan', checkpoint('x'));
      expect(await new WorkflowRunner({ storage }).get('orphan')).to.deep.equal({ workflowId: 'orphan', status: 'running', steps: { x: { status: 'committed', attempts: 2, committedAt: '2026-12-01T00:00:01.000Z', after: [] } } });
    });

    it('shows a waiting workflow with its waiting steps, wake time and awaited events (none listed when it waits only for timers)', async () => {
      const storage = new MemoryStorage();
      await storage.writeRecord('wf', record({ status: 'waiting', wakeAt: '2026-12-02T00:00:00.000Z', waiting: { b: { wakeAt: '2026-12-02T00:00:00.000Z' } } }), null);
      const info = (await new WorkflowRunner({ storage }).get('wf'))!;
      expect(info).to.deep.include({ status: 'waiting', wakeAt: '2026-12-02T00:00:00.000Z', waitingFor: [] });
      expect(info.steps).to.deep.equal({ a: { status: 'pending', attempts: 0, after: [] }, b: { status: 'waiting', attempts: 0, after: ['a'], waitingFor: { wakeAt: '2026-12-02T00:00:00.000Z' } } });
    });

    it('shows a wake time, awaited events, a failed step and an error only where the status says so', async () => {
      const storage = new MemoryStorage();
      const stale = { wakeAt: '2026-12-02T00:00:00.000Z', waitingFor: ['go'], waiting: { b: { event: 'go' } }, error: { code: 'C', message: 'm', step: 'b', attempts: 3 } };
      await storage.writeRecord('wf', record({ status: 'running', ...stale }), null);
      const info = (await new WorkflowRunner({ storage }).get('wf'))!;
      expect(info).to.not.have.any.keys('wakeAt', 'waitingFor', 'error');
      expect(info.steps.b).to.deep.equal({ status: 'pending', attempts: 0, after: ['a'] });
      const summary = (await new WorkflowRunner({ storage }).list()).items[0]!;
      expect(summary).to.not.have.any.keys('error', 'createdAt', 'wakeAt', 'waitingFor');
      await storage.writeRecord('f', record({ status: 'failed', error: { code: 'C', message: 'm', step: 'b' }, createdAt: '2026-11-30T00:00:00.000Z' }), null);
      expect((await new WorkflowRunner({ storage }).get('f'))!.steps.b).to.deep.equal({ status: 'failed', attempts: 0, after: ['a'] });
      expect((await new WorkflowRunner({ storage }).list({ cursor: 'e' })).items[0]).to.deep.include({ createdAt: '2026-11-30T00:00:00.000Z', error: { code: 'C', message: 'm', step: 'b' } });
    });

    it('names the record and keeps the decoding error when a stored completion cannot be decoded', async () => {
      const storage = new MemoryStorage();
      await storage.writeRecord('wf', record({ completion: { runId: 'r', completedAt: 'now', output: { $wm: 'nope' } } as never }), null);
      const error = await new WorkflowRunner({ storage }).get('wf').catch((e: unknown) => e);
      expect(error).to.be.instanceOf(CheckpointCorruptedError);
      expect((error as Error).message).to.contain('stored data at the completion in its record is corrupted: output: unknown tag "nope"');
      expect((error as Error).cause).to.have.property('path', 'output');
    });
  });

  describe('get with outputs, events and what the fingerprint ignores', () => {
    @Fingerprint({ exclude: ['meta.requestId', 'items[*].at'] })
    @Workflow({ name: 'approval' })
    class Approval {
      @Step() draft(ctx: StepContext<{ amount: number }>) {
        return { amount: ctx.input.amount, at: new Date('2026-12-01T00:00:00.000Z') };
      }
      @Step({ waitFor: { event: 'approved' } }) approve(ctx: StepContext) {
        return ctx.event();
      }
    }
    const approvalInput = { amount: 5, meta: { requestId: 'r-1', source: 'web' }, items: [{ sku: 'a', at: 't1' }, { sku: 'b', at: 't2' }] };

    it('decodes committed outputs and the event a step consumed; lists the mailbox with who consumed what', async () => {
      const runner = new WorkflowRunner({ storage: new MemoryStorage(), workflows: [Approval] });
      await runner.run(new Approval(), { workflowId: 'ap', input: approvalInput });
      const waiting = (await runner.get('ap', { outputs: true, events: true }))!;
      expect(waiting.steps.draft!.output).to.deep.equal({ amount: 5, at: new Date('2026-12-01T00:00:00.000Z') });
      expect(waiting.steps.approve).to.deep.equal({ status: 'waiting', attempts: 0, after: ['draft'], waitingFor: { event: 'approved' } });
      expect(waiting.events).to.deep.equal([]);
      const sent = await runner.sendEvent('ap', 'approved', { by: 'ann' }, { eventId: 'e-1' });
      await runner.sendEvent('ap', 'other', 1, { eventId: 'e-2' });
      expect(sent.duplicate).to.equal(false);
      await runner.resume('ap');
      const done = (await runner.get('ap', { outputs: true, events: true }))!;
      expect(done.steps.approve).to.deep.include({ status: 'committed', output: { by: 'ann' }, consumedEvent: { name: 'approved', eventId: 'e-1' } });
      expect(done.events!.map((e) => [e.eventId, e.name, e.payload, e.consumedBy])).to.deep.equal([
        ['e-1', 'approved', { by: 'ann' }, 'approve'],
        ['e-2', 'other', 1, undefined],
      ]);
      const plain = (await runner.get('ap'))!;
      expect(plain).to.not.have.property('events');
      expect(plain.steps.draft).to.not.have.any.keys('output', 'consumedEvent');
    });

    it("names the input's leaves the workflow's fingerprint ignores, when its class is registered", async () => {
      const storage = new MemoryStorage();
      await new WorkflowRunner({ storage }).run(new Approval(), { workflowId: 'ap', input: approvalInput });
      const registered = await new WorkflowRunner({ storage, workflows: [Approval] }).get('ap', { ignoredInput: true });
      expect(registered!.ignoredInput).to.deep.equal(['meta.requestId', 'items[0].at', 'items[1].at']);
      expect(await new WorkflowRunner({ storage }).get('ap', { ignoredInput: true }), 'not registered: not known').to.not.have.property('ignoredInput');
      expect(await new WorkflowRunner({ storage, workflows: [Approval] }).get('ap'), 'not asked').to.not.have.property('ignoredInput');
    });

    it('refuses get options it does not know the type of', async () => {
      const runner = new WorkflowRunner({ storage: new MemoryStorage() });
      for (const [options, message] of [
        [{ outputs: 'yes' }, "option 'outputs' is 'yes'; expected true or false"],
        [{ events: 1 }, "option 'events' is 1; expected true or false"],
        [{ ignoredInput: null }, "option 'ignoredInput' is null; expected true or false"],
        [null, "option 'get options' is null; expected { outputs?, events?, ignoredInput? }"],
      ] as const) {
        const error = await runner.get('x', options as never).catch((e: unknown) => e);
        expect(error, JSON.stringify(options)).to.be.instanceOf(InvalidOptionError);
        expect((error as Error).message).to.contain(message);
      }
    });

    it('isRegistered says which workflow names the runner can resume', () => {
      expect(new WorkflowRunner({ workflows: [Approval] }).isRegistered('approval')).to.equal(true);
      expect(new WorkflowRunner({ workflows: [Approval] }).isRegistered('order')).to.equal(false);
      expect(new WorkflowRunner({ workflows: (name) => (name === 'approval' ? new Approval() : undefined) }).isRegistered('approval')).to.equal(true);
      expect(new WorkflowRunner({ workflows: () => undefined }).isRegistered('approval')).to.equal(false);
      expect(new WorkflowRunner().isRegistered('approval')).to.equal(false);
    });
  });

  describe('list by id prefix, with a bound on records read, and what waiting workflows wait for', () => {
    it('lists only ids with the prefix, in id order, paging by cursor', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage });
      for (const id of ['a-1', 'b-1', 'b-2', 'b-3', 'c-1']) await runner.run(new OrderFlow(), { workflowId: id, input });
      const first = await runner.list({ idPrefix: 'b-', limit: 2 });
      expect(first.items.map((i) => i.workflowId)).to.deep.equal(['b-1', 'b-2']);
      const second = await runner.list({ idPrefix: 'b-', limit: 2, cursor: first.cursor! });
      expect(second).to.deep.equal({ items: [second.items[0]] });
      expect(second.items[0]!.workflowId).to.equal('b-3');
      expect((await runner.list({ idPrefix: 'z' })).items).to.deep.equal([]);
      expect((await runner.list({ idPrefix: '' })).items).to.have.length(5);
    });

    it('ends a filtered page after maxReads records, with a cursor to go on from, and finds the rest on the next pages', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage });
      const ids = Array.from({ length: 50 }, (_, i) => `w${String(i).padStart(2, '0')}`);
      for (const id of ids) {
        if (id === 'w07' || id === 'w42') await failAtCharge(runner, id);
        else await runner.run(new OrderFlow(), { workflowId: id, input });
      }
      let reads = 0;
      const readRecord = storage.readRecord.bind(storage);
      storage.readRecord = async (id) => {
        reads++;
        return readRecord(id);
      };
      const found: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        reads = 0;
        const page = await runner.list({ status: 'failed', maxReads: 20, limit: 10, ...(cursor === undefined ? {} : { cursor }) });
        expect(reads, `page ${pages}`).to.be.at.most(20);
        found.push(...page.items.map((i) => i.workflowId));
        cursor = page.cursor;
        pages++;
      } while (cursor !== undefined);
      expect(found).to.deep.equal(['w07', 'w42']);
      expect(pages).to.equal(3);
    });

    it('with leases, says who holds each running or compensating workflow, reading no other lease', async () => {
      const storage = new MemoryStorage();
      const record = (id: string, status: WorkflowRecord['status']): WorkflowRecord => ({ formatVersion: 1, workflowId: id, workflowName: 'order', fingerprint: 'f', steps: [], updatedAt: '2026-12-01T00:00:00.000Z', status });
      for (const [id, status] of [['c', 'compensating'], ['d', 'completed'], ['h', 'running'], ['i', 'running'], ['w', 'waiting']] as const) await storage.writeRecord(id, record(id, status), null);
      const held = [await storage.acquireLease('c', 'undoer', 60_000), await storage.acquireLease('h', 'worker 1', 60_000), await storage.acquireLease('d', 'clearer', 60_000)];
      const read: string[] = [];
      const readLease = storage.readLease.bind(storage);
      storage.readLease = (id) => {
        read.push(id);
        return readLease(id);
      };
      const runner = new WorkflowRunner({ storage });
      const items = (await runner.list({ leases: true })).items;
      expect(items.map((i) => [i.workflowId, i.lease?.owner])).to.deep.equal([['c', 'undoer'], ['d', undefined], ['h', 'worker 1'], ['i', undefined], ['w', undefined]]);
      expect(Date.parse(items[0]!.lease!.expiresAt)).to.be.above(Date.now());
      expect(read.sort()).to.deep.equal(['c', 'h', 'i']);
      read.length = 0;
      expect((await runner.list()).items.some((i) => 'lease' in i)).to.equal(false);
      expect(read).to.deep.equal([]);
      for (const attempt of held) if (attempt.acquired) await storage.releaseLease(attempt.lease);
    });

    it('says when a waiting workflow wakes and which events it waits for', async () => {
      const storage = new MemoryStorage();
      await storage.writeRecord('wf', { formatVersion: 1, workflowId: 'wf', workflowName: 'order', fingerprint: 'f', steps: [], updatedAt: '2026-12-01T00:00:00.000Z', status: 'waiting', wakeAt: '2026-12-02T00:00:00.000Z', waitingFor: ['go'] }, null);
      expect((await new WorkflowRunner({ storage }).list()).items).to.deep.equal([
        { workflowId: 'wf', workflowName: 'order', version: 1, status: 'waiting', updatedAt: '2026-12-01T00:00:00.000Z', wakeAt: '2026-12-02T00:00:00.000Z', waitingFor: ['go'] },
      ]);
    });
  });

  describe('clear', () => {
    it('deletes the whole workflow under its lease and says how many steps it held; nothing stored is undefined', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage });
      await runner.run(new OrderFlow(), { workflowId: 'o-1', input });
      await runner.run(new OrderFlow(), { workflowId: 'o-10', input });
      const progress: [number, number][] = [];
      expect(await runner.clear('o-1', { onProgress: (deleted, total) => progress.push([deleted, total]) })).to.deep.equal({ checkpoints: 3 });
      expect(progress.at(-1)![0]).to.equal(progress.at(-1)![1]);
      expect(await runner.get('o-1')).to.equal(undefined);
      expect(await storage.readLease('o-1'), 'the lease is released').to.equal(undefined);
      expect((await runner.get('o-10'))!.status, 'a sibling sharing the prefix stays').to.equal('completed');
      expect(await runner.clear('o-1')).to.equal(undefined);
      const error = await runner.clear('o-10', { onProgress: 5 as never }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(InvalidOptionError);
      expect((error as Error).message).to.contain("option 'onProgress' is 5; expected a function (deleted, total) => void");
      expect(await runner.get('o-10'), 'nothing deleted').to.not.equal(undefined);
    });

    it('refuses while a run holds the lease, and deletes nothing', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage });
      await runner.run(new OrderFlow(), { workflowId: 'o-1', input });
      const held = await storage.acquireLease('o-1', 'a run', 60_000);
      const error = await runner.clear('o-1').catch((e: unknown) => e);
      expect(error).to.be.instanceOf(WorkflowBusyError);
      expect((error as WorkflowBusyError).holder).to.equal('a run');
      expect((await runner.get('o-1'))!.status).to.equal('completed');
      if (held.acquired) await storage.releaseLease(held.lease);
    });

    it('clears a workflow whose record is corrupted', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage });
      await runner.run(new OrderFlow(), { workflowId: 'o-1', input });
      const load = storage.load.bind(storage);
      storage.load = async (id) => (id === 'o-1' ? Promise.reject(new CheckpointCorruptedError(id, 'its record', 'bad')) : load(id));
      expect(await runner.clear('o-1')).to.deep.equal({ checkpoints: 0 });
      storage.load = load;
      expect(await runner.get('o-1')).to.equal(undefined);
    });
  });
});
