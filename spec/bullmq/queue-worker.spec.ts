import { expect } from 'chai';
import { QueueEvents, type Job } from 'bullmq';
import IORedis from 'ioredis';
import { OnInputChange, Step, Workflow } from '../../decorators';
import { QueueWorker, WorkflowQueue, type QueueJobResult, type QueueWorkerOptions } from '../../lib/bullmq';
import { decodeValue, encodeValue } from '../../lib/checkpoint-codec';
import { InputSerializationError, InvalidOptionError, LeaseLostError, NonRetryableError, RunInterruptedError } from '../../lib/errors';
import type { CompensationContext } from '../../lib/runner/compensation-context';
import type { StepContext } from '../../lib/runner/step-context';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { deferred, within, type Deferred } from '../helpers/deferred';
import { dropQueue, queueName, redisTarget, type RedisTarget } from '../helpers/redis';

/** Step starts, as `<workflowId>/<step>`, in order. */
const starts: string[] = [];
const count = (workflowId: string, step: string) => starts.filter((s) => s === `${workflowId}/${step}`).length;

@Workflow({ name: 'bill' })
@OnInputChange('raise')
class Bill {
  @Step() price(ctx: StepContext<{ cents: number }>) {
    starts.push(`${ctx.workflowId}/price`);
    return ctx.input.cents;
  }
  @Step() total(ctx: StepContext<{ cents: number }, number>) {
    starts.push(`${ctx.workflowId}/total`);
    return { total: ctx.previous * 2, at: new Date(0), cents: BigInt(ctx.previous) };
  }
}

/** Steps of `Held` wait for the spec: `holds.get(workflowId)` resolves them. */
const holds = new Map<string, { started: Deferred<AbortSignal>; release: Deferred }>();
function hold(workflowId: string) {
  const h = { started: deferred<AbortSignal>(), release: deferred() };
  holds.set(workflowId, h);
  return h;
}

@Workflow({ name: 'held' })
class Held {
  @Step() first(ctx: StepContext) {
    starts.push(`${ctx.workflowId}/first`);
    return 1;
  }
  @Step() async slow(ctx: StepContext) {
    starts.push(`${ctx.workflowId}/slow`);
    const h = holds.get(ctx.workflowId);
    if (h !== undefined && count(ctx.workflowId, 'slow') === 1) {
      h.started.resolve(ctx.signal);
      await Promise.race([h.release.promise, new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }))]);
    }
    return 2;
  }
}

let declines = 0;
@Workflow({ name: 'charge' })
class Charge {
  @Step() reserve(ctx: StepContext) {
    starts.push(`${ctx.workflowId}/reserve`);
    return 'seat';
  }
  @Step() pay(ctx: StepContext<{ mode: 'decline-once' | 'never' }>) {
    starts.push(`${ctx.workflowId}/pay`);
    if (ctx.input.mode === 'never') throw new NonRetryableError('card stolen');
    if (declines++ === 0) throw Object.assign(new Error('card declined'), { code: 'CARD_DECLINED' });
    return 'paid';
  }
}

let refundsDown = 0;
@Workflow({ name: 'saga' })
class Saga {
  @Step({ compensate: 'release' }) hold(ctx: StepContext) {
    starts.push(`${ctx.workflowId}/hold`);
    return 'h';
  }
  @Step() issue(ctx: StepContext): never {
    starts.push(`${ctx.workflowId}/issue`);
    throw Object.assign(new Error('sold out'), { code: 'NO_TICKETS' });
  }
  release(ctx: CompensationContext) {
    starts.push(`${ctx.workflowId}/release`);
    if (refundsDown-- > 0) throw new Error('release down');
  }
}

@Workflow({ name: 'stolen-saga' })
class StolenSaga {
  @Step({ compensate: 'release' }) hold(ctx: StepContext) {
    starts.push(`${ctx.workflowId}/hold`);
    return 'h';
  }
  @Step() pay(ctx: StepContext): never {
    starts.push(`${ctx.workflowId}/pay`);
    throw new NonRetryableError('card stolen');
  }
  release(ctx: CompensationContext) {
    starts.push(`${ctx.workflowId}/release`);
    if (refundsDown-- > 0) throw new Error('release down');
  }
}

@Workflow({ name: 'reminder' })
class Reminder {
  @Step() send(ctx: StepContext) {
    starts.push(`${ctx.workflowId}/send`);
    return Date.now();
  }
  @Step({ delayMs: 600 }) remind(ctx: StepContext<unknown, number>) {
    starts.push(`${ctx.workflowId}/remind`);
    return Date.now() - ctx.previous;
  }
}

/** A hold released when the payment never comes: cancelled while it waits. */
@Workflow({ name: 'held-payment' })
class HeldPayment {
  @Step({ compensate: 'release' }) hold(ctx: StepContext) {
    starts.push(`${ctx.workflowId}/hold`);
    return 'h';
  }
  @Step({ waitFor: { event: 'payment' } }) capture(ctx: StepContext) {
    starts.push(`${ctx.workflowId}/capture`);
    return 'captured';
  }
  release(ctx: CompensationContext) {
    starts.push(`${ctx.workflowId}/release`);
  }
}

@Workflow({ name: 'paid' })
class Paid {
  @Step() invoice(ctx: StepContext) {
    starts.push(`${ctx.workflowId}/invoice`);
    return 'sent';
  }
  @Step({ waitFor: { event: 'payment' } }) ship(ctx: StepContext<unknown, string>) {
    starts.push(`${ctx.workflowId}/ship`);
    return ctx.event<{ cents: number }>()!.cents;
  }
}

@Workflow({ name: 'tick' })
class Tick {
  @Step() note(ctx: StepContext<{ label: string }>) {
    starts.push(`${ctx.workflowId}/note`);
    return ctx.input.label;
  }
}

/** One seat booking of a customer at a time; `holds` keeps a booking's step open. */
@Workflow({ name: 'seat', concurrency: { key: (input: { customer: string }) => input.customer, limit: 1 } })
class Seat {
  @Step() async book(ctx: StepContext<{ customer: string }>) {
    starts.push(`${ctx.workflowId}/book`);
    await holds.get(ctx.workflowId)?.release.promise;
    starts.push(`${ctx.workflowId}/booked`);
    return ctx.input.customer;
  }
}

class Unknown {
  @Step() only() {
    return 1;
  }
}

describe('waymark/bullmq: QueueWorker and WorkflowQueue', function () {
  this.timeout(30_000);
  let redis: RedisTarget;
  let name: string;
  let storage: MemoryStorage;
  let runner: WorkflowRunner;
  let queue: WorkflowQueue;
  let events: QueueEvents;
  let workers: QueueWorker[];

  before(async () => {
    redis = await redisTarget();
  });

  beforeEach(async () => {
    name = queueName('qw');
    storage = new MemoryStorage();
    runner = new WorkflowRunner({ storage, workflows: [Bill, Held, Charge, Reminder, Paid, Tick, Saga, StolenSaga, HeldPayment, Seat], leaseTtlMs: 2_000, maxInlineWaitMs: 0 });
    queue = new WorkflowQueue({ connection: redis, name, runner });
    events = new QueueEvents(name, { connection: redis });
    await events.waitUntilReady();
    workers = [];
    starts.length = 0;
    holds.clear();
    declines = 0;
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.close({ deadlineMs: 0 })));
    await events.close();
    await queue.close();
    await dropQueue(redis, name);
  });

  function startWorker(options: Partial<QueueWorkerOptions> = {}): QueueWorker {
    const worker = new QueueWorker({ connection: redis, queue: name, runner, concurrency: 4, ...options });
    workers.push(worker);
    return worker;
  }

  async function job(jobId: string): Promise<Job> {
    return (await queue.queue.getJob(jobId))!;
  }

  /** The job's result once it completes (rejects with its failure). */
  function finished(jobId: string): Promise<QueueJobResult> {
    return job(jobId).then((j) => j.waitUntilFinished(events, 20_000) as Promise<QueueJobResult>);
  }

  describe('delivery', () => {
    it('runs an enqueued workflow to the end; a second enqueue while it is queued adds nothing', async () => {
      const first = await queue.enqueue(Bill, { workflowId: 'bill-1', input: { cents: 21 } });
      const second = await queue.enqueue(Bill, { workflowId: 'bill-1', input: { cents: 21 } });
      expect(first.duplicate).to.equal(false);
      expect(second).to.deep.equal({ jobId: first.jobId, duplicate: true });
      startWorker();
      const result = await finished(first.jobId);
      expect(result).to.deep.include({ workflowId: 'bill-1', status: 'completed' });
      // As waymark encodes it: BullMQ keeps JSON (a BigInt would fail the job), and the types come back once decoded.
      expect(result.output).to.deep.equal(encodeValue({ total: 42, at: new Date(0), cents: 21n }));
      expect(decodeValue(result.output!)).to.deep.equal({ total: 42, at: new Date(0), cents: 21n });
      expect(await queue.queue.getJobCounts('completed', 'waiting', 'delayed')).to.deep.equal({ completed: 1, waiting: 0, delayed: 0 });
      expect(starts).to.deep.equal(['bill-1/price', 'bill-1/total']);
      expect((await runner.get('bill-1'))?.status).to.equal('completed');
    });

    it('a delivery of a completed workflow completes at once with the stored output, running nothing', async () => {
      await runner.run(new Bill(), { workflowId: 'bill-2', input: { cents: 5 } });
      starts.length = 0;
      const { jobId } = await queue.enqueue(Bill, { workflowId: 'bill-2', input: { cents: 5 } });
      startWorker();
      expect(decodeValue((await finished(jobId)).output!)).to.deep.equal({ total: 10, at: new Date(0), cents: 5n });
      expect(starts).to.deep.equal([]);
    });

    it('a duplicate delivery of a busy workflow is delayed without using an attempt, then completes with the stored result', async () => {
      const h = hold('held-1');
      startWorker();
      const original = await queue.enqueue(Held, { workflowId: 'held-1', jobId: 'original' });
      await within(h.started.promise, 10_000, 'the original delivery never started its slow step');
      const duplicate = await queue.enqueue(Held, { workflowId: 'held-1', jobId: 'duplicate' });
      // The duplicate is taken, finds the lease held, and goes to delayed.
      await within(
        new Promise<void>((resolve) => events.on('delayed', ({ jobId }) => jobId === 'duplicate' && resolve())),
        10_000,
        'the duplicate was never delayed',
      );
      const delayed = await job('duplicate');
      expect(await delayed.getState()).to.equal('delayed');
      expect(delayed.attemptsMade).to.equal(0);
      h.release.resolve();
      await finished(original.jobId);
      const result = await finished(duplicate.jobId);
      expect(result).to.deep.include({ workflowId: 'held-1', status: 'completed', output: 2 });
      // One attempt: the delivery that completed (BullMQ counts it); the delayed one used none.
      expect((await job('duplicate')).attemptsMade).to.equal(1);
      expect(count('held-1', 'first')).to.equal(1);
      expect(count('held-1', 'slow')).to.equal(1);
    });

    it('a different input is a job of its own, and the workflow input-change policy decides about it', async () => {
      await runner.run(new Bill(), { workflowId: 'bill-3', input: { cents: 1 } });
      const { jobId, duplicate } = await queue.enqueue(Bill, { workflowId: 'bill-3', input: { cents: 2 } });
      expect(duplicate).to.equal(false);
      startWorker();
      const error = await finished(jobId).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).to.match(/^WAYMARK_INPUT_CHANGED: /);
      const failed = await job(jobId);
      // 'raise' is terminal: no other delivery, although the job may be tried 3 times.
      expect(failed.opts.attempts).to.equal(3);
      expect(failed.attemptsMade).to.equal(1);
      expect(await failed.getState()).to.equal('failed');
    });
  });

  describe('failures', () => {
    it("a failed step's code and message are the job's failure; the next delivery resumes from the failed step", async () => {
      startWorker();
      const { jobId } = await queue.enqueue(Charge, { workflowId: 'charge-1', input: { mode: 'decline-once' }, jobOptions: { attempts: 2, backoff: 0 } });
      const reason = await new Promise<string>((resolve) => workers[0]!.worker.on('failed', (_job, error) => resolve(error.message)));
      expect(reason).to.equal("CARD_DECLINED: card declined (step 'pay', after 1 attempt)");
      expect((await finished(jobId)).status).to.equal('completed');
      expect(count('charge-1', 'reserve')).to.equal(1);
      expect(count('charge-1', 'pay')).to.equal(2);
    });

    it('terminal errors fail the job at once, whatever its attempts: NonRetryableError, an unregistered class', async () => {
      startWorker();
      const stolen = await queue.enqueue(Charge, { workflowId: 'charge-2', input: { mode: 'never' }, jobOptions: { attempts: 5, backoff: 0 } });
      const unknown = await queue.enqueue(Unknown, { workflowId: 'unknown-1', jobOptions: { attempts: 5, backoff: 0 } });
      const reasons = await Promise.all([stolen.jobId, unknown.jobId].map((id) => finished(id).then(() => 'completed', (e: Error) => e.message)));
      expect(reasons[0]).to.equal("WAYMARK_NON_RETRYABLE: card stolen (step 'pay', after 1 attempt)");
      expect(reasons[1]).to.match(/^WAYMARK_WORKFLOW_NOT_REGISTERED: /);
      for (const id of [stolen.jobId, unknown.jobId]) expect((await job(id)).attemptsMade).to.equal(1);
      expect(count('charge-2', 'pay')).to.equal(1);
    });

    it('a workflow that compensated fails its job for good; a compensation that failed is retried by the next delivery, which only compensates', async () => {
      startWorker();
      refundsDown = 0;
      const undone = await queue.enqueue(Saga, { workflowId: 'saga-1', jobOptions: { attempts: 3, backoff: 0 } });
      expect(await finished(undone.jobId).then(() => 'completed', (e: Error) => e.message)).to.equal("NO_TICKETS: sold out (step 'issue', after 1 attempt); compensated");
      expect((await job(undone.jobId)).attemptsMade).to.equal(1);
      refundsDown = 1;
      const retried = await queue.enqueue(Saga, { workflowId: 'saga-2', jobOptions: { attempts: 3, backoff: 0 } });
      expect(await finished(retried.jobId).then(() => 'completed', (e: Error) => e.message)).to.equal("NO_TICKETS: sold out (step 'issue', after 1 attempt); compensated");
      expect((await job(retried.jobId)).attemptsMade).to.equal(2);
      expect([count('saga-2', 'hold'), count('saga-2', 'issue'), count('saga-2', 'release')]).to.deep.equal([1, 1, 2]);
      expect((await runner.get('saga-2'))?.status).to.equal('compensated');
    });

    it("a compensation that failed is retried by the next delivery even when a step's NonRetryableError started it", async () => {
      startWorker();
      refundsDown = 1;
      const stolen = await queue.enqueue(StolenSaga, { workflowId: 'stolen-1', jobOptions: { attempts: 3, backoff: 0 } });
      expect(await finished(stolen.jobId).then(() => 'completed', (e: Error) => e.message)).to.equal("WAYMARK_NON_RETRYABLE: card stolen (step 'pay', after 1 attempt); compensated");
      expect((await job(stolen.jobId)).attemptsMade).to.equal(2);
      expect([count('stolen-1', 'hold'), count('stolen-1', 'pay'), count('stolen-1', 'release')]).to.deep.equal([1, 1, 2]);
      expect((await runner.get('stolen-1'))?.status).to.equal('compensated');
    });

    it('a job that is not a waymark job fails for good, naming what is wrong', async () => {
      startWorker();
      const foreign = await queue.queue.add('foreign', { hello: 'world' }, { attempts: 3 });
      const reason = await finished(foreign.id!).then(() => 'completed', (e: Error) => e.message);
      expect(reason).to.match(/^WAYMARK_INVALID_OPTION: option 'data of job '.+'' is \{"hello":"world"\}; expected a waymark job's data/);
      expect((await job(foreign.id!)).attemptsMade).to.equal(1);
    });
  });

  describe('waits', () => {
    it('a timer wakes the workflow through a delayed job, one per workflow and wake time', async () => {
      startWorker();
      const first = await queue.enqueue(Reminder, { workflowId: 'remind-1', jobId: 'first' });
      const waiting = await finished(first.jobId);
      expect(waiting).to.deep.include({ workflowId: 'remind-1', status: 'waiting' });
      const wakeAt = Date.parse(waiting.wakeAt!);
      expect((await runner.get('remind-1'))?.wakeAt).to.equal(waiting.wakeAt);
      // A second delivery before the timer is due ends waiting for the same time: no second wake job.
      const second = await queue.enqueue(Reminder, { workflowId: 'remind-1', jobId: 'second' });
      expect((await finished(second.jobId)).wakeAt).to.equal(waiting.wakeAt);
      const delayed = await queue.queue.getDelayed();
      expect(delayed.map((j) => j.data)).to.deep.equal([{ waymark: 1, kind: 'wake', workflowId: 'remind-1' }]);
      const woken = await finished(delayed[0]!.id!);
      expect(woken).to.deep.include({ status: 'completed' });
      expect(Date.now()).to.be.at.least(wakeAt);
      expect(count('remind-1', 'send')).to.equal(1);
      expect(count('remind-1', 'remind')).to.equal(1);
    });

    it('a job whose workflow finds its concurrency key held completes waiting for the slot (no failure, no retry spent), and a wake job runs it when the slot frees, in arrival order', async () => {
      startWorker();
      const first = hold('seat-1');
      const a = await queue.enqueue(Seat, { workflowId: 'seat-1', input: { customer: 'c9' }, jobId: 'seat-a' });
      await within(new Promise<void>((resolve) => { const look = () => (starts.includes('seat-1/book') ? resolve() : setTimeout(look, 5)); look(); }), 5_000, 'the first booking started');
      const b = await queue.enqueue(Seat, { workflowId: 'seat-2', input: { customer: 'c9' }, jobId: 'seat-b' });
      const waiting = await finished(b.jobId);
      expect(waiting).to.deep.include({ workflowId: 'seat-2', status: 'waiting', waitingFor: ["a slot of concurrency key 'c9'"] });
      // Completed as waiting (BullMQ counts the delivery that completed): no failure, no retry spent.
      const waited = await job(b.jobId);
      expect([waited.attemptsMade, waited.failedReason]).to.deep.equal([1, undefined]);
      const c = await queue.enqueue(Seat, { workflowId: 'seat-3', input: { customer: 'c9' }, jobId: 'seat-c' });
      expect((await finished(c.jobId)).status).to.equal('waiting');
      first.release.resolve();
      expect((await finished(a.jobId)).status).to.equal('completed');
      const done = async () => (await runner.get('seat-2'))?.status === 'completed' && (await runner.get('seat-3'))?.status === 'completed';
      for (let i = 0; i < 400 && !(await done()); i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(await done(), 'both waiting bookings ran').to.equal(true);
      expect(starts.filter((s) => s.startsWith('seat-'))).to.deep.equal(['seat-1/book', 'seat-1/booked', 'seat-2/book', 'seat-2/booked', 'seat-3/book', 'seat-3/booked']);
    });

    it('a wait longer than maxDelayMs is delayed again, and the step runs at its time', async () => {
      startWorker({ maxDelayMs: 150 });
      const { jobId } = await queue.enqueue(Reminder, { workflowId: 'remind-2' });
      const waiting = await finished(jobId);
      const [wake] = await queue.queue.getDelayed();
      let deliveries = 0;
      events.on('active', ({ jobId: id }) => id === wake!.id && deliveries++);
      expect((await finished(wake!.id!)).status).to.equal('completed');
      expect(deliveries).to.be.at.least(2);
      const info = await runner.get('remind-2');
      expect(Date.parse(info!.steps.remind!.committedAt!)).to.be.at.least(Date.parse(waiting.wakeAt!));
      expect(count('remind-2', 'remind')).to.equal(1);
    });

    it('sendEvent stores the event and wakes the waiting workflow at once', async () => {
      startWorker();
      const { jobId } = await queue.enqueue(Paid, { workflowId: 'paid-1' });
      const waiting = await finished(jobId);
      expect(waiting).to.deep.include({ status: 'waiting', waitingFor: ['payment'] });
      // No timer: no wake job; the event's sender queues one.
      expect(waiting).to.not.have.property('wakeAt');
      expect(await queue.queue.getDelayed()).to.deep.equal([]);
      const completed = new Promise<QueueJobResult>((resolve) =>
        events.on('completed', ({ returnvalue }) => {
          const value = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as QueueJobResult;
          if (value.status === 'completed') resolve(value);
        }),
      );
      const sent = await queue.sendEvent('paid-1', 'payment', { cents: 900 }, { eventId: 'evt-1' });
      expect(sent).to.deep.equal({ duplicate: false, eventId: 'evt-1', wakes: true });
      expect((await completed).output).to.equal(900);
      // Delivered already, the workflow ended: no other wake job, however long after the first.
      const jobsBefore = (await queue.queue.getJobs(['completed', 'waiting', 'delayed', 'active'])).filter((j) => j.name === 'wake').length;
      expect(await queue.sendEvent('paid-1', 'payment', { cents: 900 }, { eventId: 'evt-1' })).to.deep.equal({ duplicate: true, eventId: 'evt-1', wakes: false, ended: 'completed' });
      expect((await queue.queue.getJobs(['completed', 'waiting', 'delayed', 'active'])).filter((j) => j.name === 'wake').length).to.equal(jobsBefore);
      // The job woke it: nothing was left in the storage's wake index for an embedded worker to sweep.
      expect((await storage.dueWakes(Number.MAX_SAFE_INTEGER, 100)).filter((e) => e.workflowId === 'paid-1')).to.deep.equal([]);
      expect(count('paid-1', 'ship')).to.equal(1);
    });

    it('an event that arrives while the run decides to wait is not missed: the same job runs it again', async () => {
      // The event is stored just before the run writes 'waiting' (it still reads 'running', so its
      // sender wakes nobody), and no wake job is queued: only the run's own second look finds it.
      const writeRecord = storage.writeRecord.bind(storage);
      storage.writeRecord = async (id, record, ...rest) => {
        if (id === 'paid-2' && record.status === 'waiting' && (await storage.listEvents(id)).length === 0) {
          await runner.sendEvent('paid-2', 'payment', { cents: 7 });
        }
        return writeRecord(id, record, ...rest);
      };
      startWorker();
      const { jobId } = await queue.enqueue(Paid, { workflowId: 'paid-2' });
      expect(await finished(jobId)).to.deep.include({ status: 'completed', output: 7 });
      expect(count('paid-2', 'invoice')).to.equal(1);
    });

    it('sendEvent needs the runner that stores events', async () => {
      const bare = new WorkflowQueue({ connection: redis, name });
      try {
        const error = await bare.sendEvent('paid-3', 'payment').catch((e: unknown) => e);
        expect(error).to.be.instanceOf(InvalidOptionError).and.have.property('option', 'runner');
      } finally {
        await bare.close();
      }
    });
  });

  describe('deliveries that are not failures', () => {
    it('cancel: a waiting workflow is cancelled for good, its timer job completes as cancelled and runs nothing', async () => {
      startWorker();
      const { jobId } = await queue.enqueue(Reminder, { workflowId: 'remind-c' });
      expect(await finished(jobId)).to.deep.include({ status: 'waiting' });
      expect(await queue.cancel('remind-c', { reason: 'unsubscribed' })).to.deep.equal({ outcome: 'cancelled', status: 'cancelled' });
      const [timer] = await queue.queue.getDelayed();
      expect(await finished(timer!.id!)).to.deep.equal({ workflowId: 'remind-c', status: 'cancelled' });
      const again = await queue.enqueue(Reminder, { workflowId: 'remind-c', jobId: 'redelivered' });
      expect(await finished(again.jobId), 'a re-delivered start job runs nothing either').to.deep.equal({ workflowId: 'remind-c', status: 'cancelled' });
      expect(count('remind-c', 'send')).to.equal(1);
      expect(count('remind-c', 'remind')).to.equal(0);
    });

    it('cancel: a waiting workflow that compensates gets a job that undoes what it committed', async () => {
      startWorker();
      const { jobId } = await queue.enqueue(HeldPayment, { workflowId: 'held-c' });
      expect(await finished(jobId)).to.deep.include({ status: 'waiting', waitingFor: ['payment'] });
      const compensated = new Promise<void>((resolve) => runner.on('run:failed', ({ workflowId, result }) => workflowId === 'held-c' && result.status === 'compensated' && resolve()));
      expect(await queue.cancel('held-c')).to.deep.equal({ outcome: 'compensating', status: 'compensating' });
      await compensated;
      expect((await runner.get('held-c'))?.status).to.equal('compensated');
      expect(starts.filter((s) => s.startsWith('held-c/'))).to.deep.equal(['held-c/hold', 'held-c/release']);
    });

    it('a wake job of a workflow that is no longer stored completes as not-found', async () => {
      startWorker();
      const job = await queue.queue.add('wake', { waymark: 1, kind: 'wake', workflowId: 'cleared-1' });
      expect(await finished(job.id!)).to.deep.equal({ workflowId: 'cleared-1', status: 'not-found' });
    });

    it('a run whose lease was lost goes back to the queue without using an attempt, and the next delivery finishes it', async () => {
      const commit = storage.commit.bind(storage);
      let fenced = false;
      storage.commit = async (id, checkpoint, lease) => {
        if (id === 'bill-9' && checkpoint.step === 'total' && !fenced) {
          fenced = true;
          throw new LeaseLostError(id, checkpoint.step);
        }
        return commit(id, checkpoint, lease);
      };
      startWorker();
      const { jobId } = await queue.enqueue(Bill, { workflowId: 'bill-9', input: { cents: 4 }, jobOptions: { attempts: 1 } });
      expect((await finished(jobId)).status).to.equal('completed');
      expect(fenced).to.equal(true);
      // One attempt, the one that completed: the fenced run used none (with attempts: 1 it would have failed for good).
      expect((await job(jobId)).attemptsMade).to.equal(1);
      expect(count('bill-9', 'price')).to.equal(1);
      expect(count('bill-9', 'total')).to.equal(2);
    });

    it('a wake job that finds its workflow busy looks again after busyRecheckMs, a start job when the lease expires', async () => {
      const h = hold('held-5');
      runner = new WorkflowRunner({ storage, workflows: [Held, Paid], leaseTtlMs: 10_000, maxInlineWaitMs: 0 });
      startWorker({ busyRecheckMs: 100 });
      await queue.enqueue(Held, { workflowId: 'held-5', jobId: 'holder' });
      await within(h.started.promise, 10_000, 'the slow step never started');
      const delays = new Map<string, number>();
      const both = new Promise<void>((resolve) =>
        events.on('delayed', ({ jobId, delay }) => {
          delays.set(jobId, Number(delay) - Date.now());
          if (delays.size === 2) resolve();
        }),
      );
      await queue.enqueue(Held, { workflowId: 'held-5', jobId: 'late-start' });
      await queue.queue.add('wake', { waymark: 1, kind: 'wake', workflowId: 'held-5' }, { jobId: 'late-wake' });
      await within(both, 10_000, 'the two deliveries were not delayed');
      expect(delays.get('late-wake')).to.be.at.most(100);
      // The lease lasts 10 s: the start job waits for it (less what has passed, plus 250 ms).
      expect(delays.get('late-start')).to.be.greaterThan(5_000);
      h.release.resolve();
    });
  });

  describe('options', () => {
    const queueOptions: [string, () => unknown, string][] = [
      ['no options', () => new WorkflowQueue(undefined as never), 'WorkflowQueue options'],
      ['no connection', () => new WorkflowQueue({ name: 'q' } as never), 'connection'],
      ['a runner that is not one', () => new WorkflowQueue({ connection: redis, name: 'q', runner: {} as never }), 'runner'],
      ['an empty name', () => new WorkflowQueue({ connection: redis, name: '' }), 'name'],
      ['a worker without options', () => new QueueWorker(null as never), 'QueueWorker options'],
      ['a worker without runner', () => new QueueWorker({ connection: redis, queue: name } as never), 'runner'],
      ['a worker runner without workflowInstance', () => new QueueWorker({ connection: redis, queue: name, runner: { resume: () => undefined } as never }), 'runner'],
      ['a worker queue with a colon', () => new QueueWorker({ connection: redis, queue: 'a:b', runner }), 'queue'],
      ['a worker queue that is not a string', () => new QueueWorker({ connection: redis, queue: 5 as never, runner }), 'queue'],
      ['an empty worker queue', () => new QueueWorker({ connection: redis, queue: '', runner }), 'queue'],
      ['a worker without connection', () => new QueueWorker({ queue: name, runner } as never), 'connection'],
      ['no concurrency', () => new QueueWorker({ connection: redis, queue: name, runner, concurrency: 0 }), 'concurrency'],
      ['a fractional concurrency', () => new QueueWorker({ connection: redis, queue: name, runner, concurrency: 1.5 }), 'concurrency'],
      ['no busy recheck', () => new QueueWorker({ connection: redis, queue: name, runner, busyRecheckMs: 0 }), 'busyRecheckMs'],
      ['a fractional busy recheck', () => new QueueWorker({ connection: redis, queue: name, runner, busyRecheckMs: 1.5 }), 'busyRecheckMs'],
      ['no delay', () => new QueueWorker({ connection: redis, queue: name, runner, maxDelayMs: 0 }), 'maxDelayMs'],
      ['a fractional delay', () => new QueueWorker({ connection: redis, queue: name, runner, maxDelayMs: 0.5 }), 'maxDelayMs'],
      ['an onError that is no function', () => new QueueWorker({ connection: redis, queue: name, runner, onError: 'log' as never }), 'onError'],
    ];
    for (const [what, build, option] of queueOptions) {
      it(`refuses ${what}, naming the option`, () => {
        expect(build).to.throw(InvalidOptionError).with.property('option', option);
      });
    }

    const enqueued: [string, () => Promise<unknown>, string][] = [
      ['a class that is not one', () => queue.enqueue('Bill' as never, { workflowId: 'x' }), 'workflow class'],
      ['no options', () => queue.enqueue(Bill, null as never), 'enqueue options'],
      ['a negative delay', () => queue.enqueue(Bill, { workflowId: 'x', delayMs: -1 }), 'delayMs'],
      ['a fractional delay', () => queue.enqueue(Bill, { workflowId: 'x', delayMs: 1.5 }), 'delayMs'],
      ['a priority of 0', () => queue.enqueue(Bill, { workflowId: 'x', priority: 0 }), 'priority'],
      ['a priority past the highest BullMQ takes', () => queue.enqueue(Bill, { workflowId: 'x', priority: 2_097_153 }), 'priority'],
      ['a job id with a colon', () => queue.enqueue(Bill, { workflowId: 'x', jobId: 'a:b' }), 'jobId'],
      ['an integer job id', () => queue.enqueue(Bill, { workflowId: 'x', jobId: '42' }), 'jobId'],
      ['an empty job id', () => queue.enqueue(Bill, { workflowId: 'x', jobId: '' }), 'jobId'],
      ['job options that cannot work', () => queue.enqueue(Bill, { workflowId: 'x', jobOptions: { attempts: 0 } }), 'jobOptions.attempts'],
      ['a schedule of a class that is not one', () => queue.schedule(5 as never, { cron: '* * * * *' }), 'workflow class'],
      ['a schedule without options', () => queue.schedule(Tick, null as never), 'schedule options'],
      ['a schedule with an empty id', () => queue.schedule(Tick, { cron: '* * * * *', id: '' }), 'schedule id'],
    ];
    for (const [what, call, option] of enqueued) {
      it(`refuses ${what}, naming the option, and queues nothing`, async () => {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(InvalidOptionError).with.property('option', option);
        expect(await queue.queue.count()).to.equal(0);
      });
    }

    it('refuses an input or schedule input that cannot be stored, naming where, and queues nothing', async () => {
      const input = await queue.enqueue(Bill, { workflowId: 'x', input: { cents: 1, f: () => 1 } as never }).catch((e: unknown) => e);
      expect(input).to.be.instanceOf(InputSerializationError).with.property('message').that.contains('input.f');
      const slot = await queue.schedule(Tick, { cron: '* * * * *', input: { f: Symbol('s') } as never }).catch((e: unknown) => e);
      expect(slot).to.be.instanceOf(InputSerializationError).with.property('message').that.contains("'tick@(schedule)'");
      expect(await queue.queue.count()).to.equal(0);
      expect(await queue.queue.getJobSchedulersCount()).to.equal(0);
    });

    it('honours delayMs, priority and a prefix', async () => {
      const prefixed = new WorkflowQueue({ connection: redis, name, prefix: 'wmtest' });
      try {
        const { jobId } = await prefixed.enqueue(Bill, { workflowId: 'bill-p', input: { cents: 1 }, delayMs: 60_000, priority: 3 });
        const added = (await prefixed.queue.getJob(jobId))!;
        expect(added.opts).to.include({ delay: 60_000, priority: 3 });
        expect(await added.getState()).to.equal('delayed');
        expect(await queue.queue.getJob(jobId)).to.equal(undefined, 'another prefix is another queue');
        expect(await prefixed.unschedule('none')).to.equal(false);
      } finally {
        await prefixed.queue.obliterate({ force: true });
        await prefixed.close();
      }
    });

    it('close() takes a deadline of 0 or more ms', async () => {
      const worker = startWorker();
      expect(() => worker.close({ deadlineMs: -1 })).to.throw(InvalidOptionError).with.property('option', 'deadlineMs');
      expect(() => worker.close({ deadlineMs: 1.5 })).to.throw(InvalidOptionError);
      const first = worker.close({ deadlineMs: 0 });
      expect(worker.close()).to.equal(first, 'closing twice is one close');
      await first;
    });
  });

  describe('lock loss and shutdown', () => {
    it("losing the job's lock aborts the run's signal; nothing commits after, and the job is delivered again", async () => {
      const h = hold('held-2');
      const reported: string[] = [];
      startWorker({ settings: { lockDuration: 1_000, stalledInterval: 1_000 }, onError: (error) => reported.push((error as Error).message) });
      const { jobId } = await queue.enqueue(Held, { workflowId: 'held-2' });
      const signal = await within(h.started.promise, 10_000, 'the slow step never started');
      // Another worker's stalled check would take the job now: its lock is gone.
      const client = new IORedis(redis);
      await client.del(`bull:${name}:${jobId}:lock`);
      client.disconnect();
      await within(new Promise((resolve) => signal.addEventListener('abort', resolve)), 10_000, 'the signal was never aborted');
      expect(signal.reason).to.be.instanceOf(RunInterruptedError);
      expect((await runner.get('held-2'))?.steps.slow?.status).to.not.equal('committed');
      expect((await finished(jobId)).status).to.equal('completed');
      expect(count('held-2', 'first')).to.equal(1);
      expect(reported).to.include(`could not renew lock for job ${jobId}`);
      expect(count('held-2', 'slow')).to.equal(2);
    });

    it('close() lets a step finish within the deadline', async () => {
      const h = hold('held-3');
      const worker = startWorker();
      const { jobId } = await queue.enqueue(Held, { workflowId: 'held-3' });
      await within(h.started.promise, 10_000, 'the slow step never started');
      const closing = worker.close({ deadlineMs: 10_000 });
      expect(worker.state()).to.equal('closing');
      h.release.resolve();
      await closing;
      expect(worker.state()).to.equal('closed');
      expect(await (await job(jobId)).getState()).to.equal('completed');
      expect(count('held-3', 'slow')).to.equal(1);
    });

    it('close() interrupts a step past the deadline: the lease is released and another worker resumes the job', async () => {
      const h = hold('held-4');
      const worker = startWorker();
      const { jobId } = await queue.enqueue(Held, { workflowId: 'held-4' });
      const signal = await within(h.started.promise, 10_000, 'the slow step never started');
      await worker.close({ deadlineMs: 50 });
      expect(signal.aborted).to.equal(true);
      expect(await storage.readLease('held-4')).to.equal(undefined);
      expect((await runner.get('held-4'))?.status).to.equal('running');
      const state = await (await job(jobId)).getState();
      expect(['delayed', 'waiting']).to.include(state);
      expect((await job(jobId)).attemptsMade).to.equal(0);
      startWorker();
      expect((await finished(jobId)).status).to.equal('completed');
      expect(count('held-4', 'first')).to.equal(1);
      expect(count('held-4', 'slow')).to.equal(2);
    });
  });

  describe('schedules', () => {
    it('a cron schedule served by 3 workers runs each slot once, as workflow <name>@<slot time>', async () => {
      for (let i = 0; i < 3; i++) startWorker({ runner: new WorkflowRunner({ storage, workflows: [Tick], maxInlineWaitMs: 0 }) });
      const slots: string[] = [];
      const three = new Promise<void>((resolve) =>
        events.on('completed', ({ returnvalue }) => {
          const value = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as QueueJobResult;
          if (value.workflowId.startsWith('tick@')) slots.push(value.workflowId);
          if (slots.length === 3) resolve();
        }),
      );
      await queue.schedule(Tick, { cron: '* * * * * *', input: { label: 'every second' } });
      await within(three, 15_000, 'three slots did not run');
      expect(await queue.unschedule(Tick)).to.equal(true);
      for (const id of slots) {
        expect(id).to.match(/^tick@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
        expect(count(id, 'note'), id).to.equal(1);
        expect((await runner.get(id))?.output).to.equal('every second');
      }
      expect(new Set(slots).size).to.equal(3);
    });

    it('refuses a cron pattern that cannot fire, before anything is scheduled', async () => {
      const error = await queue.schedule(Tick, { cron: '0 0 31 2 *' }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(InvalidOptionError);
      expect(await queue.queue.getJobSchedulersCount()).to.equal(0);
    });
  });

  describe('settings', () => {
    const refused: [string, Record<string, unknown>, RegExp][] = [
      ['lock renewal turned off', { skipLockRenewal: true }, /settings\.skipLockRenewal.*lose its job lock/],
      ['the stalled check turned off', { skipStalledCheck: true }, /settings\.skipStalledCheck.*never finish/],
      ['no stalled retries', { maxStalledCount: 0 }, /settings\.maxStalledCount.*first crash/],
      ['a renewal no sooner than expiry', { lockDuration: 5_000, lockRenewTime: 5_000 }, /settings\.lockRenewTime.*expire before it is renewed/],
      ['a lock shorter than a second', { lockDuration: 200 }, /settings\.lockDuration/],
      ['an unknown setting', { lockDurration: 5_000 }, /settings\.lockDurration.*one of lockDuration/],
    ];
    for (const [what, settings, message] of refused) {
      it(`refuses ${what} at construction, naming the setting`, () => {
        expect(() => new QueueWorker({ connection: redis, queue: name, runner, settings: settings as never }))
          .to.throw(InvalidOptionError)
          .with.property('message')
          .that.matches(message);
      });
    }

    it('refuses a retry budget below one delivery, and queue names BullMQ cannot take', () => {
      expect(() => new WorkflowQueue({ connection: redis, name, jobOptions: { attempts: 0 } })).to.throw(InvalidOptionError, /jobOptions\.attempts/);
      expect(() => new WorkflowQueue({ connection: redis, name: 'a:b' })).to.throw(InvalidOptionError, /option 'name'/);
    });

    it('runs with the recommended settings by default', () => {
      const worker = startWorker();
      expect(worker.settings).to.deep.equal({ lockDuration: 30_000, lockRenewTime: 15_000, stalledInterval: 30_000, maxStalledCount: 1_000, drainDelay: 5 });
    });
  });
});
