import { expect } from 'chai';
import { Step, Workflow } from '../../decorators';
import {
  EventSerializationError,
  EventTimeoutError,
  InvalidOptionError,
  WorkflowDefinitionError,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from '../../lib/errors';
import { buildGraph } from '../../lib/graph';
import type { StepContext } from '../../lib/runner/step-context';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { callLog, spyStorage, STORAGE_METHODS, type SpiedStorage } from '../helpers/spy-storage';

/** Resolves once the clock has passed `epochMs` (the condition under test is "the timer is due"). */
async function until(epochMs: number): Promise<void> {
  while (Date.now() <= epochMs) await new Promise((resolve) => setTimeout(resolve, Math.max(1, epochMs - Date.now() + 1)));
}

function forget(storage: SpiedStorage): void {
  for (const name of STORAGE_METHODS) storage[name].resetHistory();
}

const ran: string[] = [];

@Workflow({ name: 'reminder' })
class Reminder {
  @Step() send() {
    ran.push('send');
    return { sent: true };
  }
  @Step({ delayMs: 80 }) remind(ctx: StepContext<unknown, { sent: boolean }>) {
    ran.push('remind');
    return ctx.previous.sent;
  }
}

let startAtCalls = 0;
@Workflow({ name: 'scheduled' })
class Scheduled {
  @Step() plan(ctx: StepContext<{ inMs: number }>) {
    return { dueAt: Date.now() + ctx.input.inMs };
  }
  // Deliberately impure: if a resume called it again, the time would move.
  @Step({ startAt: () => (startAtCalls++, Date.now() + 80) }) go() {
    ran.push('go');
    return 'went';
  }
}

interface Payment {
  readonly cents: number;
  readonly at: Date;
}

@Workflow({ name: 'invoice' })
class Invoice {
  @Step() send() {
    return 'sent';
  }
  @Step({ waitFor: { event: 'payment' } }) settle(ctx: StepContext) {
    ran.push('settle');
    return ctx.event<Payment>();
  }
}

describe('waiting between steps', () => {
  beforeEach(() => {
    ran.length = 0;
    startAtCalls = 0;
  });

  describe('timers', () => {
    it("resolves 'waiting' with the wake time, holds no lease, and a resume before it runs nothing and writes nothing", async () => {
      const storage = spyStorage();
      const runner = new WorkflowRunner({ storage, maxInlineWaitMs: 0 });
      const before = Date.now();
      const first = await runner.run(new Reminder(), { workflowId: 'r-1' });
      expect(first.status).to.equal('waiting');
      expect(first.steps.send!.status).to.equal('completed');
      expect(first.steps.remind).to.deep.include({ status: 'waiting', wakeAt: first.wakeAt });
      expect(first.waitingFor).to.deep.equal([]);
      const wakeAt = Date.parse(first.wakeAt!);
      expect(wakeAt).to.be.at.least(before + 80).and.at.most(Date.now() + 80);
      expect((await storage.acquireLease('r-1', 'someone else', 1000)).acquired, 'a waiting run holds no lease').to.equal(true);

      const info = (await runner.get('r-1'))!;
      expect(info).to.deep.include({ status: 'waiting' });
      expect(info.steps.remind!.status).to.equal('waiting');
      expect(info).to.deep.include({ wakeAt: first.wakeAt, waitingFor: [] });
      expect(info.lease, 'get() names whoever holds it now').to.include({ owner: 'someone else' });
      expect((await storage.readRecord('r-1'))!.record).to.deep.include({ wakeAt: first.wakeAt, waitingFor: [], waiting: { remind: { wakeAt: first.wakeAt } } });
      expect(await storage.dueWakes(wakeAt, 10)).to.deep.equal([{ workflowId: 'r-1', wakeAt }]);
    });

    it('runs nothing and writes nothing but the lease when resumed early; runs the step once it is due', async () => {
      const storage = spyStorage();
      const runner = new WorkflowRunner({ storage, maxInlineWaitMs: 0, workflows: [Reminder] });
      const first = await runner.run(new Reminder(), { workflowId: 'r-2' });
      forget(storage);
      const early = await runner.resume('r-2');
      expect(early.status).to.equal('waiting');
      expect(early.wakeAt).to.equal(first.wakeAt, 'the wake time is stored, not computed again');
      expect(callLog(storage).filter((m) => !['readRecord', 'load', 'readCheckpoint', 'listEvents'].includes(m))).to.deep.equal(['acquireLease', 'releaseLease']);
      expect(ran).to.deep.equal(['send']);

      await until(Date.parse(first.wakeAt!));
      const done = await runner.resume('r-2');
      expect(done.status).to.equal('completed');
      expect(done.output).to.equal(true);
      expect(ran).to.deep.equal(['send', 'remind']);
      expect(await storage.dueWakes(Date.now() + 3_600_000, 10)).to.deep.equal([], 'a completed workflow leaves the wake index');
    });

    it('computes a startAt time once and stores it: a resume never calls startAt again', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, maxInlineWaitMs: 0, workflows: [Scheduled] });
      const first = await runner.run(new Scheduled(), { workflowId: 's-1', input: { inMs: 0 } });
      expect(first.status).to.equal('waiting');
      expect((await storage.readRecord('s-1'))!.record.timers).to.deep.equal({ go: first.wakeAt });
      const early = await runner.resume('s-1');
      expect(early.wakeAt).to.equal(first.wakeAt);
      expect(startAtCalls).to.equal(1);
      await until(Date.parse(first.wakeAt!));
      expect((await runner.resume('s-1')).status).to.equal('completed');
      expect(startAtCalls).to.equal(1);
    });

    it('takes a Date, an ISO string or epoch ms from startAt; a time passed runs at once; anything else fails the step, naming it', async () => {
      const past = Date.now() - 1000;
      for (const value of [new Date(past), new Date(past).toISOString(), past]) {
        @Workflow({ name: 'past' })
        class Past {
          @Step({ startAt: () => value }) only() {
            return 'ran';
          }
        }
        expect((await new WorkflowRunner().run(new Past(), { workflowId: 'p' })).output).to.equal('ran');
      }
      @Workflow({ name: 'bad' })
      class Bad {
        @Step({ startAt: () => 'next tuesday' }) only() {
          return 'ran';
        }
      }
      const error = await new WorkflowRunner().run(new Bad(), { workflowId: 'b' }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(WorkflowFailedError);
      expect((error as WorkflowFailedError).cause).to.have.property('message').that.contains("startAt of step 'only' in workflow 'b'").and.contains('next tuesday');
    });

    it('sleeps a timer shorter than maxInlineWaitMs in the run, holding the lease, and completes', async () => {
      const runner = new WorkflowRunner();
      const started = Date.now();
      const result = await runner.run(new Reminder(), { workflowId: 'inline' });
      expect(result.status).to.equal('completed');
      expect(Date.now() - started).to.be.at.least(80);
    });

    it('counts delayMs from the commit of the dependencies, also across a resume', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, maxInlineWaitMs: 0 });
      const first = await runner.run(new Reminder(), { workflowId: 'r-3' });
      const sendCommitted = Date.parse((await storage.readCheckpoint('r-3', 'send')).committedAt);
      expect(Date.parse(first.wakeAt!)).to.equal(sendCommitted + 80);
    });
  });

  describe('events', () => {
    it("waits for its event, then runs with its payload (decoded), which the checkpoint records", async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, workflows: [Invoice] });
      const waiting = await runner.run(new Invoice(), { workflowId: 'inv-1' });
      expect(waiting).to.deep.include({ status: 'waiting', waitingFor: ['payment'] });
      expect(waiting.wakeAt).to.equal(undefined, 'no timeout: no timer');
      expect(waiting.steps.settle).to.deep.include({ status: 'waiting', waitingFor: 'payment' });
      const payment = { cents: 1200, at: new Date('2026-12-01T00:00:00.000Z') };
      expect(await runner.sendEvent('inv-1', 'payment', payment, { eventId: 'stripe-evt-1' })).to.deep.equal({ duplicate: false, eventId: 'stripe-evt-1', wakes: true });
      expect(await runner.sendEvent('inv-1', 'payment', { cents: 1 }, { eventId: 'stripe-evt-1' })).to.deep.equal({ duplicate: true, eventId: 'stripe-evt-1', wakes: true });
      const done = await runner.resume('inv-1');
      expect(done.status).to.equal('completed');
      expect(done.output).to.deep.equal(payment);
      expect((done.output as Payment).at).to.be.instanceOf(Date);
      expect((await storage.readCheckpoint('inv-1', 'settle')).event).to.deep.equal({ name: 'payment', eventId: 'stripe-evt-1' });
      expect(ran).to.deep.equal(['settle']);
    });

    it('keeps an event sent before its step waits, and hands each event to one step, in send order', async () => {
      @Workflow({ name: 'two-payments' })
      class TwoPayments {
        @Step({ delayMs: 60 }) open() {
          return 'open';
        }
        @Step({ waitFor: { event: 'payment' } }) first(ctx: StepContext) {
          return ctx.event();
        }
        @Step({ waitFor: { event: 'payment' } }) second(ctx: StepContext) {
          return ctx.event();
        }
      }
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, maxInlineWaitMs: 0, workflows: [TwoPayments] });
      const waiting = await runner.run(new TwoPayments(), { workflowId: 'tp' });
      expect(waiting.steps.open!.status).to.equal('waiting');
      await runner.sendEvent('tp', 'payment', 'one', { eventId: 'b-first' });
      await runner.sendEvent('tp', 'payment', 'two', { eventId: 'a-second' });
      await runner.sendEvent('tp', 'refund', 'other');
      await until(Date.parse(waiting.wakeAt!));
      const done = await runner.resume('tp');
      expect(done.status).to.equal('completed');
      expect([done.steps.first!.output, done.steps.second!.output]).to.deep.equal(['one', 'two']);
      const consumed = [(await storage.readCheckpoint('tp', 'first')).event!.eventId, (await storage.readCheckpoint('tp', 'second')).event!.eventId];
      expect(consumed).to.deep.equal(['b-first', 'a-second']);
    });

    it('never hands an event consumed by a committed step to another step after a resume', async () => {
      @Workflow({ name: 'relay' })
      class Relay {
        @Step({ waitFor: { event: 'go' } }) first(ctx: StepContext) {
          return ctx.event();
        }
        @Step({ waitFor: { event: 'go' } }) second(ctx: StepContext) {
          return ctx.event();
        }
      }
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, workflows: [Relay] });
      await runner.run(new Relay(), { workflowId: 'relay' });
      await runner.sendEvent('relay', 'go', 1, { eventId: 'e1' });
      const half = await runner.resume('relay');
      expect(half.steps.first!.status).to.equal('completed');
      expect(half.steps.second!.status).to.equal('waiting');
      await runner.sendEvent('relay', 'go', 2, { eventId: 'e2' });
      const done = await runner.resume('relay');
      expect(done.steps.second!.output).to.equal(2);
    });

    it("times out: 'fail' fails the step with EventTimeoutError, not retried; 'run' runs it with ctx.event() undefined", async () => {
      @Workflow({ name: 'strict' })
      class Strict {
        @Step({ waitFor: { event: 'approval', timeoutMs: 60 }, retry: { attempts: 3 } }) approve() {
          ran.push('approve');
          return 'approved';
        }
      }
      @Workflow({ name: 'lenient' })
      class Lenient {
        @Step({ waitFor: { event: 'approval', timeoutMs: 60, onTimeout: 'run' } }) approve(ctx: StepContext) {
          return ctx.event() ?? 'no answer';
        }
      }
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, maxInlineWaitMs: 0, workflows: [Strict, Lenient] });
      const strict = await runner.run(new Strict(), { workflowId: 'strict' });
      expect(strict).to.deep.include({ status: 'waiting', waitingFor: ['approval'] });
      expect(strict.wakeAt).to.be.a('string');
      const lenient = await runner.run(new Lenient(), { workflowId: 'lenient' });
      await until(Math.max(Date.parse(strict.wakeAt!), Date.parse(lenient.wakeAt!)));

      const error = await runner.resume('strict').catch((e: unknown) => e);
      expect(error).to.be.instanceOf(WorkflowFailedError);
      const cause = (error as WorkflowFailedError).cause as Error & { cause: unknown };
      expect(cause.cause).to.be.instanceOf(EventTimeoutError);
      expect((cause.cause as Error).message).to.contain("no 'approval' event arrived within 60 ms");
      expect(ran).to.deep.equal([]);
      expect((await runner.get('strict'))!.error).to.include({ code: 'WAYMARK_EVENT_TIMEOUT', step: 'approve' });

      const ranAnyway = await runner.resume('lenient');
      expect(ranAnyway.output).to.equal('no answer');
      expect((await storage.readCheckpoint('lenient', 'approve')).event).to.deep.equal({ name: 'approval' });
    });

    it('never misses an event sent while the run decides to wait: it looks again after storing that it waits, and wakes the workflow', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, workflows: [Invoice] });
      const writeRecord = storage.writeRecord.bind(storage);
      // The event arrives after the run listed the events, before it stored 'waiting': the sender
      // still reads 'running' and wakes nobody.
      storage.writeRecord = async (id, record, version, lease) => {
        if (record.status === 'waiting') await runner.sendEvent(id, 'payment', 'during', { eventId: 'mid' });
        return writeRecord(id, record, version, lease);
      };
      const woken: string[] = [];
      runner.onWake((id) => woken.push(id));
      const waiting = await runner.run(new Invoice(), { workflowId: 'inv-4' });
      expect(waiting.status).to.equal('waiting');
      expect(woken).to.deep.equal(['inv-4'], 'the run woke it itself');
      expect((await storage.dueWakes(Date.now(), 10)).map((e) => e.workflowId)).to.include('inv-4');
      storage.writeRecord = writeRecord;
      expect((await runner.resume('inv-4')).output).to.equal('during');
    });

    it('refuses what it cannot store or deliver, storing nothing', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage });
      await runner.run(new Invoice(), { workflowId: 'inv-2' });
      const unstorable = await runner.sendEvent('inv-2', 'payment', { callback: () => 1 }).catch((e: unknown) => e);
      expect(unstorable).to.be.instanceOf(EventSerializationError);
      expect((unstorable as Error).message).to.equal("workflow 'inv-2': event 'payment': payload at payload.callback cannot be stored: a function cannot be stored. Send plain data (JSON values, Date, Map, Set, BigInt, Buffer)");
      expect(await runner.sendEvent('nobody', 'payment').catch((e: unknown) => e)).to.be.instanceOf(WorkflowNotFoundError);
      for (const [event, eventId] of [['', undefined], ['x'.repeat(101), undefined], ['pay\nment', undefined], ['payment', ''], ['payment', 'x'.repeat(201)]] as const) {
        const error = await runner.sendEvent('inv-2', event, 1, eventId === undefined ? {} : { eventId }).catch((e: unknown) => e);
        expect(error, `${event} ${eventId}`).to.be.instanceOf(InvalidOptionError);
      }
      expect(await storage.listEvents('inv-2')).to.deep.equal([]);
    });

    it('wakes a waiting workflow through the wake index at once, and only a waiting one', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage });
      const woken: string[] = [];
      runner.onWake((id) => woken.push(id));
      await runner.run(new Invoice(), { workflowId: 'inv-3' });
      const sentAt = Date.now();
      await runner.sendEvent('inv-3', 'payment', 1);
      expect(woken).to.deep.equal(['inv-3']);
      expect((await storage.dueWakes(Date.now(), 10)).filter((e) => e.wakeAt >= sentAt)).to.deep.equal([{ workflowId: 'inv-3', wakeAt: (await storage.dueWakes(Date.now(), 10)).find((e) => e.wakeAt >= sentAt)!.wakeAt }]);
      await new WorkflowRunner({ storage }).run(new Reminder(), { workflowId: 'done' });
      await runner.sendEvent('done', 'payment', 1);
      expect(woken).to.deep.equal(['inv-3'], 'a completed workflow is not woken');
    });
    it('with wake: false stores the event only: no wake-index entry, no wake (the caller wakes it, as a queue does)', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage });
      const woken: string[] = [];
      runner.onWake((id) => woken.push(id));
      await runner.run(new Invoice(), { workflowId: 'inv-5' });
      const before = await storage.dueWakes(Number.MAX_SAFE_INTEGER, 10);
      expect(await runner.sendEvent('inv-5', 'payment', 1, { eventId: 'e-1', wake: false })).to.deep.equal({ duplicate: false, eventId: 'e-1', wakes: true });
      expect(woken).to.deep.equal([]);
      expect(await storage.dueWakes(Number.MAX_SAFE_INTEGER, 10)).to.deep.equal(before);
      expect((await storage.listEvents('inv-5')).map((e) => e.eventId)).to.deep.equal(['e-1']);
      expect(await runner.sendEvent('inv-5', 'payment', 1, { wake: 'no' as never }).catch((e: unknown) => e)).to.be.instanceOf(InvalidOptionError).with.property('option', 'wake');
    });
  });

  describe('definitions', () => {
    it('refuses waits that cannot work, naming the step', () => {
      const cases: [object, string][] = [
        [{ delayMs: -1 }, 'delayMs must be a number of ms >= 0'],
        [{ delayMs: 'soon' }, 'delayMs must be a number'],
        [{ startAt: new Date() }, 'startAt must be a function'],
        [{ waitFor: 'payment' }, 'waitFor must be { event'],
        [{ waitFor: { event: '' } }, 'waitFor must be { event'],
        [{ waitFor: { event: 'p', timeoutMs: 0 } }, 'waitFor.timeoutMs must be a number of ms > 0'],
        [{ waitFor: { event: 'p', timeoutMs: 10, onTimeout: 'skip' } }, "waitFor.onTimeout must be 'fail' or 'run'"],
        [{ waitFor: { event: 'p', onTimeout: 'run' } }, 'waitFor.onTimeout needs a timeoutMs'],
        [{ delayMs: '5' }, 'delayMs must be a number'],
        [{ delayMs: 8.64e15 + 1 }, 'delayMs must be a number'],
        [{ waitFor: null }, 'waitFor must be { event'],
        [{ waitFor: { event: 5 } }, 'waitFor must be { event'],
        [{ waitFor: { event: 'x'.repeat(101) } }, 'waitFor must be { event'],
        [{ waitFor: { event: 'p', timeoutMs: '10' } }, 'waitFor.timeoutMs must be a number'],
        [{ waitFor: { event: 'p', timeoutMs: 8.64e15 + 1 } }, 'waitFor.timeoutMs must be a number'],
      ];
      for (const [options, message] of cases) {
        class Broken {
          @Step(options as never) only() {
            return 1;
          }
        }
        expect(() => buildGraph(Broken), JSON.stringify(options)).to.throw(WorkflowDefinitionError, message).with.property('message').that.contains('Broken.only');
      }
    });

    it('accepts waits at the edges of what they allow: no delay, the longest delay and timeout, a 100-character event', () => {
      for (const options of [{ delayMs: 0 }, { delayMs: 8.64e15 }, { waitFor: { event: 'x'.repeat(100), timeoutMs: 8.64e15 } }]) {
        class Edge {
          @Step(options) only() {
            return 1;
          }
        }
        expect(buildGraph(Edge).steps[0]!.wait, JSON.stringify(options)).to.not.equal(undefined);
      }
      class Plain {
        @Step() only() {
          return 1;
        }
      }
      expect(buildGraph(Plain).steps[0]).to.not.have.property('wait');
    });
  });
});
