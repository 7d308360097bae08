import { expect } from 'chai';
import sinon from 'sinon';
import { Step, Workflow } from '../../decorators';
import { LeaseLostError, StorageError, CompensationFailedError, NonRetryableError, StepFailedError, StoredStepError, WorkflowCancelledError, WorkflowDefinitionError, WorkflowFailedError } from '../../lib/errors';
import { buildGraph } from '../../lib/graph';
import type { CompensationContext } from '../../lib/runner/compensation-context';
import type { StepContext } from '../../lib/runner/step-context';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { deferred, within } from '../helpers/deferred';

/** Runs and returns the WorkflowFailedError the run must reject with. */
async function failure(promise: Promise<unknown>): Promise<WorkflowFailedError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(WorkflowFailedError);
    return error as WorkflowFailedError;
  }
  expect.fail('the run resolved; expected WorkflowFailedError');
}

class TicketError extends Error {
  readonly code = 'NO_TICKETS';
}

type Booking = { seat: string; cents: number };
let log: string[] = [];
let ticketsLeft = 0;

@Workflow({ name: 'booking' })
class BookingFlow {
  @Step({ compensate: 'releaseSeat' }) reserve(ctx: StepContext<Booking>) {
    log.push('reserve');
    return { holdId: `hold-${ctx.input.seat}` };
  }
  @Step({ compensate: 'refund' }) charge(ctx: StepContext<Booking>) {
    log.push('charge');
    return { chargeId: `ch-${ctx.input.cents}` };
  }
  @Step() issue() {
    log.push('issue');
    if (ticketsLeft-- <= 0) throw new TicketError('sold out');
    return { ticket: 't-1' };
  }
  releaseSeat(ctx: CompensationContext<Booking, { holdId: string }>) {
    log.push(`release ${ctx.output.holdId}`);
  }
  refund(ctx: CompensationContext<Booking, { chargeId: string }>) {
    log.push(`refund ${ctx.output.chargeId}`);
  }
}

describe('compensation (sagas)', () => {
  beforeEach(() => {
    log = [];
    ticketsLeft = 0;
  });

  describe('when a step fails for good', () => {
    it('undoes every committed step that declares a compensation, latest first, and the run rejects compensated', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, tracer: false });
      const error = await failure(runner.run(new BookingFlow(), { workflowId: 'b1', input: { seat: '12A', cents: 900 } }));
      expect(log).to.deep.equal(['reserve', 'charge', 'issue', 'refund ch-900', 'release hold-12A']);
      expect(error.result.status).to.equal('compensated');
      expect(error.cause).to.be.instanceOf(StepFailedError);
      expect((error.cause as StepFailedError).step).to.equal('issue');
      expect(error.compensationErrors).to.deep.equal([]);
      expect(error.message).to.equal("workflow 'b1' failed: step 'issue' failed after 1 attempt: sold out; compensated");
      expect(error.result.steps.reserve).to.deep.include({ status: 'completed', compensation: { status: 'compensated', attempts: 1 } });
      expect(error.result.steps.charge!.compensation).to.deep.equal({ status: 'compensated', attempts: 1 });
      expect(error.result.steps.issue).to.not.have.property('compensation');
      const info = await runner.get('b1');
      expect(info?.status).to.equal('compensated');
      expect(info?.error).to.deep.include({ code: 'NO_TICKETS', message: 'sold out', step: 'issue' });
      expect(Object.keys(info!.compensation!.done).sort()).to.deep.equal(['charge', 'reserve']);
      expect(info?.compensation?.compensatedAt).to.be.a('string');
      expect(info?.steps.reserve?.compensatedAt).to.equal(info?.compensation?.done.reserve?.committedAt);
      // Nothing left in the wake index: a compensated workflow is finished.
      expect(await storage.dueWakes(Number.MAX_SAFE_INTEGER, 10)).to.deep.equal([]);
    });

    it('gives each compensation its input, the step output, the failure, and its own attempt and signal', async () => {
      const seen: CompensationContext<Booking, { holdId: string }>[] = [];
      @Workflow({ name: 'ctx-flow' })
      class CtxFlow {
        @Step({ compensate: 'undo' }) hold(ctx: StepContext<Booking>) {
          return { holdId: ctx.input.seat };
        }
        @Step() boom(): never {
          throw new TicketError('gone');
        }
        undo(ctx: CompensationContext<Booking, { holdId: string }>) {
          expect(ctx.signal.aborted).to.equal(false);
          seen.push(ctx);
        }
      }
      const runner = new WorkflowRunner({ tracer: false });
      await failure(runner.run(new CtxFlow(), { workflowId: 'ctx', input: { seat: '3C', cents: 1 } }));
      expect(seen).to.have.length(1);
      const [ctx] = seen;
      expect(ctx).to.deep.include({ workflowId: 'ctx', step: 'hold', attempt: 1, input: { seat: '3C', cents: 1 }, output: { holdId: '3C' } });
      expect(ctx!.error).to.be.instanceOf(StepFailedError);
      expect(ctx!.error.step).to.equal('boom');
      expect(ctx!.error.cause).to.be.instanceOf(TicketError);
    });

    it('runs a step compensation only after the compensations of every step that depends on it, independent ones concurrently (a diamond)', async () => {
      // a -> (b, c) -> d -> e (fails); x depends on a and compensates nothing, y depends on x.
      const order: string[] = [];
      const bStarted = deferred();
      const cStarted = deferred();
      @Workflow({ name: 'diamond' })
      class Diamond {
        @Step({ compensate: 'undoA' }) a() { return 'a'; }
        @Step({ after: ['a'], compensate: 'undoB' }) b() { return 'b'; }
        @Step({ after: ['a'], compensate: 'undoC' }) c() { return 'c'; }
        @Step({ after: ['b', 'c'], compensate: 'undoD' }) d() { return 'd'; }
        @Step({ after: ['a'] }) x() { return 'x'; }
        @Step({ after: ['x'], compensate: 'undoY' }) y() { return 'y'; }
        @Step({ after: ['d', 'y'] }) e(): never { throw new Error('e fails'); }
        undoA() { order.push('a'); }
        async undoB() {
          order.push('b start');
          bStarted.resolve();
          // b and c are independent: each waits until the other has started, so they must overlap.
          await within(cStarted.promise, 2000, 'c did not start while b ran');
          order.push('b end');
        }
        async undoC() {
          order.push('c start');
          cStarted.resolve();
          await within(bStarted.promise, 2000, 'b did not start while c ran');
          order.push('c end');
        }
        undoD() { order.push('d'); }
        undoY() { order.push('y'); }
      }
      const runner = new WorkflowRunner({ tracer: false });
      const error = await failure(runner.run(new Diamond(), { workflowId: 'diamond', concurrency: 4 }));
      expect(error.result.status).to.equal('compensated');
      const at = (name: string) => order.indexOf(name);
      expect(order).to.have.members(['a', 'b start', 'b end', 'c start', 'c end', 'd', 'y']);
      expect(at('d')).to.be.lessThan(at('b start'));
      expect(at('d')).to.be.lessThan(at('c start'));
      expect(at('a')).to.equal(order.length - 1);
      // y waits for nothing but a waits for y, through x which compensates nothing.
      expect(at('y')).to.be.lessThan(at('a'));
    });

    it('with concurrency 1 runs them one at a time, still in reverse dependency order', async () => {
      const order: string[] = [];
      let running = 0;
      let most = 0;
      const track = async (name: string) => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setImmediate(resolve));
        order.push(name);
        running--;
      };
      @Workflow({ name: 'serial-undo' })
      class SerialUndo {
        @Step({ after: [], compensate: 'u1' }) r1() { return 1; }
        @Step({ after: [], compensate: 'u2' }) r2() { return 2; }
        @Step({ after: ['r1', 'r2'], compensate: 'u3' }) join() { return 3; }
        @Step({ after: ['join'] }) fail(): never { throw new Error('no'); }
        u1() { return track('r1'); }
        u2() { return track('r2'); }
        u3() { return track('join'); }
      }
      await failure(new WorkflowRunner({ tracer: false }).run(new SerialUndo(), { workflowId: 'serial', concurrency: 1 }));
      expect(most).to.equal(1);
      expect(order[0]).to.equal('join');
      expect(order.slice(1)).to.have.members(['r1', 'r2']);
    });

    it('never compensates a step that did not commit: it failed, or it never ran', async () => {
      const undone: string[] = [];
      @Workflow({ name: 'partial' })
      class Partial {
        @Step({ after: [], compensate: 'undo' }) done1() { return 1; }
        @Step({ after: [], compensate: 'undo', retry: { attempts: 2 } }) fails(): never { throw new Error('fails'); }
        @Step({ after: ['fails'], compensate: 'undo' }) never() { return 3; }
        undo(ctx: CompensationContext) { undone.push(ctx.step); }
      }
      const error = await failure(new WorkflowRunner({ tracer: false }).run(new Partial(), { workflowId: 'partial', concurrency: 1 }));
      expect(undone).to.deep.equal(['done1']);
      expect(error.result.status).to.equal('compensated');
      expect(error.result.steps.fails).to.include({ status: 'failed', attempts: 2 });
      expect(error.result.steps.fails).to.not.have.property('compensation');
      expect(error.result.steps.never).to.deep.equal({ status: 'not-run', attempts: 0 });
    });

    it('waits for running steps to settle first, and a step that commits while others fail is compensated too', async () => {
      const slowStarted = deferred();
      const letSlowFinish = deferred();
      const events: string[] = [];
      @Workflow({ name: 'settle-first' })
      class SettleFirst {
        @Step({ after: [], compensate: 'undo' }) async slow() {
          slowStarted.resolve();
          await letSlowFinish.promise;
          events.push('slow committed');
          return 'slow';
        }
        @Step({ after: [] }) async fast(): Promise<never> {
          await slowStarted.promise;
          setImmediate(() => letSlowFinish.resolve());
          throw new Error('fast fails');
        }
        undo() { events.push('undo slow'); }
      }
      const error = await failure(new WorkflowRunner({ tracer: false }).run(new SettleFirst(), { workflowId: 'settle', concurrency: 2, failFast: true }));
      expect(events).to.deep.equal(['slow committed', 'undo slow']);
      expect(error.result.steps.slow!.compensation?.status).to.equal('compensated');
    });

    it('a workflow without compensations still fails as before: no compensation, and a resume retries the failed step', async () => {
      @Workflow({ name: 'plain' })
      class Plain {
        @Step() one() { log.push('one'); return 1; }
        @Step() two() { log.push('two'); if (ticketsLeft-- <= 0) throw new Error('later'); return 2; }
      }
      const runner = new WorkflowRunner({ tracer: false, workflows: [Plain] });
      const error = await failure(runner.run(new Plain(), { workflowId: 'plain' }));
      expect(error.result.status).to.equal('failed');
      expect((await runner.get('plain'))?.status).to.equal('failed');
      ticketsLeft = 1;
      expect((await runner.resume('plain')).status).to.equal('completed');
      expect(log).to.deep.equal(['one', 'two', 'two']);
    });
  });

  describe('compensations that fail', () => {
    it('retries a compensation by compensateRetry, its attempts reported as compensation attempts', async () => {
      let calls = 0;
      @Workflow({ name: 'flaky-undo' })
      class FlakyUndo {
        @Step({ compensate: 'undo', retry: { attempts: 1 }, compensateRetry: { attempts: 3 } }) pay() { return 'p'; }
        @Step() fail(): never { throw new Error('no'); }
        undo() {
          if (++calls < 3) throw new Error(`refund timeout ${calls}`);
        }
      }
      const runner = new WorkflowRunner({ tracer: false });
      const seen: string[] = [];
      runner.on('step:compensating', ({ step, attempt }) => seen.push(`compensating ${step} #${attempt}`));
      runner.on('step:attempt-failed', ({ step, attempt, compensation, willRetry }) => seen.push(`failed ${step} #${attempt}${compensation ? ' (compensation)' : ''}${willRetry ? ', retry' : ''}`));
      runner.on('step:compensated', ({ step, attempts, durationMs }) => {
        expect(durationMs).to.be.within(0, 10_000);
        seen.push(`compensated ${step} after ${attempts}`);
      });
      const error = await failure(runner.run(new FlakyUndo(), { workflowId: 'flaky' }));
      expect(error.result.status).to.equal('compensated');
      expect(error.result.steps.pay!.compensation).to.deep.equal({ status: 'compensated', attempts: 3 });
      expect(seen).to.deep.equal([
        'failed fail #1',
        'compensating pay #1',
        'failed pay #1 (compensation), retry',
        'compensating pay #2',
        'failed pay #2 (compensation), retry',
        'compensating pay #3',
        'compensated pay after 3',
      ]);
    });

    it('by default retries a compensation like its step', async () => {
      let calls = 0;
      @Workflow({ name: 'step-retry-undo' })
      class StepRetryUndo {
        @Step({ compensate: 'undo', retry: { attempts: 2 } }) pay() { return 'p'; }
        @Step() fail(): never { throw new NonRetryableError('no'); }
        undo() {
          if (++calls < 2) throw new Error('once');
        }
      }
      const error = await failure(new WorkflowRunner({ tracer: false }).run(new StepRetryUndo(), { workflowId: 'sr' }));
      expect(error.result.steps.pay!.compensation).to.deep.equal({ status: 'compensated', attempts: 2 });
    });

    it('a compensation that fails for good fails the workflow: the ones it waits on do not run, independent ones do, and a resume tries again only what is not committed', async () => {
      const undone: string[] = [];
      let refundWorks = false;
      @Workflow({ name: 'refund-down' })
      class RefundDown {
        @Step({ after: [], compensate: 'undo' }) hold() { return 'h'; }
        @Step({ after: [], compensate: 'undo' }) email() { return 'e'; }
        // Declared last of the three: its compensation is the first to run, and fails.
        @Step({ after: ['hold'], compensate: 'refund' }) charge() { return 'c'; }
        @Step({ after: ['charge', 'email'] }) issue(): never { throw new TicketError('sold out'); }
        undo(ctx: CompensationContext) { undone.push(ctx.step); }
        refund() {
          undone.push('refund?');
          if (!refundWorks) throw Object.assign(new Error('payments down'), { code: 'PAYMENTS_DOWN' });
          undone.push('refunded');
        }
      }
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, tracer: false, workflows: [RefundDown] });
      const error = await failure(runner.run(new RefundDown(), { workflowId: 'rd', concurrency: 1 }));
      expect(error.result.status).to.equal('failed');
      expect(error.compensationErrors).to.have.length(1);
      expect(error.compensationErrors[0]).to.be.instanceOf(CompensationFailedError);
      expect(error.compensationErrors[0]).to.include({ step: 'charge', attempts: 1, code: 'WAYMARK_COMPENSATION_FAILED' });
      expect(error.message).to.equal("workflow 'rd' failed: step 'issue' failed after 1 attempt: sold out; compensation failed for 'charge' (payments down)");
      expect(error.result.steps.charge!.compensation).to.deep.include({ status: 'failed', attempts: 1 });
      expect(error.result.steps.hold!.compensation).to.deep.equal({ status: 'not-run', attempts: 0 });
      expect(error.result.steps.email!.compensation).to.deep.equal({ status: 'compensated', attempts: 1 });
      // The failure does not stop the independent one that comes after it.
      expect(undone).to.deep.equal(['refund?', 'email']);
      const info = await runner.get('rd');
      expect(info?.status).to.equal('failed');
      expect(info?.error).to.deep.include({ code: 'NO_TICKETS', step: 'issue' });
      expect(info?.compensation?.errors?.map(({ stack: _, ...e }) => e)).to.deep.equal([{ code: 'PAYMENTS_DOWN', message: 'payments down', step: 'charge', attempts: 1 }]);
      expect(info?.compensation?.errors?.[0]?.stack).to.match(/^Error: payments down\n\s+at RefundDown\.refund/);

      refundWorks = true;
      undone.length = 0;
      const again = await failure(runner.resume('rd'));
      expect(undone).to.deep.equal(['refund?', 'refunded', 'hold']);
      expect(again.result.status).to.equal('compensated');
      expect(again.result.steps.email!.compensation).to.deep.equal({ status: 'restored', attempts: 0 });
      expect(again.result.steps.charge!.compensation).to.deep.equal({ status: 'compensated', attempts: 1 });
      expect(again.result.steps.issue).to.include({ status: 'failed' });
      expect((again.cause as StepFailedError).cause).to.be.instanceOf(StoredStepError);
      expect(((again.cause as StepFailedError).cause as StoredStepError).code).to.equal('NO_TICKETS');
      const after = await runner.get('rd');
      expect(after?.status).to.equal('compensated');
      expect(after?.compensation?.errors).to.equal(undefined);
    });
  });

  describe('a compensation whose commit fails', () => {
    afterEach(() => sinon.restore());

    it('counts as failed, with the storage error as its cause; a resume commits it', async () => {
      const storage = new MemoryStorage();
      const writeRecord = storage.writeRecord.bind(storage);
      let storageDown = true;
      sinon.stub(storage, 'writeRecord').callsFake(async (id, record, expected, lease) => {
        if (storageDown && Object.keys(record.compensation?.done ?? {}).length > 0) throw new StorageError(id, 'write record', new Error('disk full'));
        return writeRecord(id, record, expected, lease);
      });
      const runner = new WorkflowRunner({ storage, tracer: false, workflows: [BookingFlow] });
      const error = await failure(runner.run(new BookingFlow(), { workflowId: 'disk', input: { seat: '5E', cents: 8 } }));
      expect(error.result.status).to.equal('failed');
      expect(error.compensationErrors.map((e) => e.step)).to.deep.equal(['charge']);
      expect(error.compensationErrors[0]!.cause).to.be.instanceOf(StorageError);
      expect(error.result.steps.reserve!.compensation?.status).to.equal('not-run');
      storageDown = false;
      log = [];
      expect((await failure(runner.resume('disk'))).result.status).to.equal('compensated');
      // The refund ran again (its commit had failed): at least once, like any step.
      expect(log).to.deep.equal(['refund ch-8', 'release hold-5E']);
    });
  });

  describe('after the workflow compensated', () => {
    it('a resume returns the stored outcome and runs nothing, even while another run holds the lease', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, tracer: false, workflows: [BookingFlow] });
      await failure(runner.run(new BookingFlow(), { workflowId: 'done', input: { seat: '1A', cents: 5 } }));
      log = [];
      const held = await storage.acquireLease('done', 'someone else', 60_000);
      expect(held.acquired).to.equal(true);
      const error = await failure(runner.resume('done'));
      expect(log).to.deep.equal([]);
      expect(error.result.status).to.equal('compensated');
      expect(error.result.steps.reserve).to.deep.equal({ status: 'restored', attempts: 0, compensation: { status: 'restored', attempts: 0 } });
      expect(error.result.steps.issue).to.deep.include({ status: 'failed', attempts: 0 });
      expect(error.cause).to.be.instanceOf(StepFailedError);
      expect(error.message).to.contain("step 'issue' failed after 1 attempt: sold out; compensated");
      // Also through run(..., { resume: true }) with the same input.
      const again = await failure(runner.run(new BookingFlow(), { workflowId: 'done', input: { seat: '1A', cents: 5 }, resume: true }));
      expect(again.result.status).to.equal('compensated');
      expect(log).to.deep.equal([]);
    });

    it('resume: false starts the workflow afresh', async () => {
      const runner = new WorkflowRunner({ tracer: false });
      await failure(runner.run(new BookingFlow(), { workflowId: 'again', input: { seat: '2B', cents: 7 } }));
      log = [];
      ticketsLeft = 1;
      const result = await runner.run(new BookingFlow(), { workflowId: 'again', input: { seat: '2B', cents: 7 } });
      expect(result.status).to.equal('completed');
      expect(log).to.deep.equal(['reserve', 'charge', 'issue']);
      const info = await runner.get('again');
      expect(info?.status).to.equal('completed');
      expect(info).to.not.have.property('compensation');
    });

    it("a run's handle says 'compensated'", async () => {
      const handle = new WorkflowRunner({ tracer: false }).start(new BookingFlow(), { workflowId: 'h', input: { seat: '9', cents: 1 } });
      await failure(handle.result());
      expect(handle.status()).to.equal('compensated');
    });
  });

  describe('a run stopped while compensating', () => {
    it('cancel leaves the workflow compensating, and a resume finishes without repeating a committed compensation', async () => {
      const refundStarted = deferred();
      const undone: string[] = [];
      let block = true;
      @Workflow({ name: 'cancel-undo' })
      class CancelUndo {
        @Step({ compensate: 'release' }) hold() { return 'h'; }
        @Step({ compensate: 'refund' }) charge() { return 'c'; }
        @Step({ compensate: 'unsend' }) email() { return 'e'; }
        @Step() issue(): never { throw new Error('sold out'); }
        unsend() { undone.push('unsend'); }
        async refund(ctx: CompensationContext) {
          undone.push('refund');
          if (!block) return;
          refundStarted.resolve();
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
          throw ctx.signal.reason;
        }
        release() { undone.push('release'); }
      }
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, tracer: false, workflows: [CancelUndo] });
      const handle = runner.start(new CancelUndo(), { workflowId: 'cu' });
      await refundStarted.promise;
      handle.cancel();
      const cancelled = await handle.result().then(
        () => expect.fail('resolved'),
        (error: unknown) => error,
      );
      expect(cancelled).to.be.instanceOf(WorkflowCancelledError);
      expect((cancelled as WorkflowCancelledError).result.steps.charge!.compensation?.status).to.equal('not-run');
      const info = await runner.get('cu');
      expect(info?.status).to.equal('compensating');
      expect(Object.keys(info!.compensation!.done)).to.deep.equal(['email']);
      // Its recovery entry brings a worker back.
      expect((await storage.dueWakes(Number.MAX_SAFE_INTEGER, 10)).map((e) => e.workflowId)).to.deep.equal(['cu']);

      block = false;
      const error = await failure(runner.resume('cu'));
      expect(error.result.status).to.equal('compensated');
      expect(undone).to.deep.equal(['unsend', 'refund', 'refund', 'release']);
      expect((await runner.get('cu'))?.status).to.equal('compensated');
    });
  });

  describe('a run that loses its lease while compensating', () => {
    afterEach(() => sinon.restore());

    it('stops: the running compensation is interrupted, nothing more is written, and the workflow stays compensating', async () => {
      const storage = new MemoryStorage();
      const undone: string[] = [];
      @Workflow({ name: 'lost-undo' })
      class LostUndo {
        @Step({ compensate: 'release' }) hold() { return 'h'; }
        @Step({ compensate: 'refund' }) charge() { return 'c'; }
        @Step() issue(): never { throw new Error('sold out'); }
        refund(ctx: CompensationContext) {
          undone.push('refund');
          // Renewals fail from here on: the lease is lost while this compensation runs.
          sinon.stub(storage, 'renewLease').resolves(undefined);
          return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
        }
        release() { undone.push('release'); }
      }
      const runner = new WorkflowRunner({ storage, tracer: false, leaseTtlMs: 30 });
      const writes = sinon.spy(storage, 'writeRecord');
      const error = await failure(runner.run(new LostUndo(), { workflowId: 'lost' }));
      expect(error.cause).to.be.instanceOf(LeaseLostError);
      expect(undone).to.deep.equal(['refund']);
      expect(error.result.steps.charge!.compensation?.status).to.equal('not-run');
      expect(error.result.steps.hold!.compensation?.status).to.equal('not-run');
      // The last write said 'compensating'; the lost run wrote no outcome after it.
      expect(writes.lastCall.args[1].status).to.equal('compensating');
      expect((await runner.get('lost'))?.status).to.equal('compensating');
    });
  });

  describe('a run fenced out as it begins compensating', () => {
    afterEach(() => sinon.restore());

    it('writes nothing: the workflow stays running for whoever holds it now, and nothing is undone', async () => {
      const storage = new MemoryStorage();
      const writeRecord = storage.writeRecord.bind(storage);
      sinon.stub(storage, 'writeRecord').callsFake(async (id, record, expected, lease) => {
        if (record.status === 'compensating') throw new LeaseLostError(id);
        return writeRecord(id, record, expected, lease);
      });
      const runner = new WorkflowRunner({ storage, tracer: false });
      const error = await failure(runner.run(new BookingFlow(), { workflowId: 'fenced', input: { seat: '4D', cents: 3 } }));
      expect(error.cause).to.be.instanceOf(LeaseLostError);
      expect(log).to.deep.equal(['reserve', 'charge', 'issue']);
      expect((await runner.get('fenced'))?.status).to.equal('running');
    });
  });

  describe('definition', () => {
    const definitionError = (define: () => new () => object): WorkflowDefinitionError => {
      try {
        buildGraph(define());
      } catch (error) {
        expect(error).to.be.instanceOf(WorkflowDefinitionError);
        return error as WorkflowDefinitionError;
      }
      expect.fail('no WorkflowDefinitionError');
    };

    it('refuses a compensate that names no method of the class', () => {
      const error = definitionError(() => {
        // @ts-expect-error: the compiler refuses it too (the class has no method 'refnud')
        class Missing { @Step({ compensate: 'refnud' }) charge() {} }
        return Missing;
      });
      expect(error.message).to.equal("Missing.charge: compensate names 'refnud', which is not a method of the class");
    });

    it('refuses a compensate that names a step', () => {
      const error = definitionError(() => {
        class StepUndo {
          @Step({ compensate: 'refund' }) charge() {}
          @Step() refund() {}
        }
        return StepUndo;
      });
      expect(error.message).to.equal("StepUndo.charge: compensate names 'refund', which is a step itself; a compensation is a plain method of the class");
    });

    it('refuses a compensateRetry without compensate, and a bad compensateRetry', () => {
      expect(definitionError(() => {
        class NoUndo { @Step({ compensateRetry: { attempts: 2 } }) charge() {} }
        return NoUndo;
      }).message).to.equal('NoUndo.charge: compensateRetry needs a compensate method');
      expect(definitionError(() => {
        class BadRetry {
          @Step({ compensate: 'undo', compensateRetry: { attempts: 0 } }) charge() {}
          undo() {}
        }
        return BadRetry;
      }).message).to.equal('BadRetry.charge: compensateRetry.attempts must be an integer >= 1, got 0');
      expect(definitionError(() => {
        class NotAName { @Step({ compensate: 42 as never }) charge() {} }
        return NotAName;
      }).message).to.equal('NotAName.charge: compensate must be the name of a method of the class, got 42');
    });

    it('records the compensation and its retry in the graph', () => {
      const graph = buildGraph(BookingFlow);
      expect(graph.compensates).to.equal(true);
      expect(graph.byName.get('reserve')!.compensation).to.deep.equal({ method: 'releaseSeat', retry: { attempts: 1 } });
      expect(graph.byName.get('issue')!.compensation).to.equal(undefined);
      class NoSaga { @Step() a() {} }
      expect(buildGraph(NoSaga).compensates).to.equal(false);
    });
  });
});
