import { expect } from 'chai';
import sinon from 'sinon';
import { CheckpointCorruptedError, EventTimeoutError, InvalidOptionError } from '../../lib/errors';
import type { StepNode, StepWait } from '../../lib/graph';
import { Mailbox } from '../../lib/runner/mailbox';
import { passGate, startTime, type GateInput } from '../../lib/runner/step-gate';
import type { StoredEvent } from '../../lib/storage/records';

const NOW = Date.parse('2026-12-01T12:00:00.000Z');

function gateInput(wait: StepWait, overrides: Partial<GateInput> = {}): GateInput & { timers: string[] } {
  const timers: string[] = [];
  const node = { name: 'step', method: 'step', after: [], retry: { attempts: 1 }, index: 0, wait } as unknown as StepNode;
  return {
    workflowId: 'wf',
    node,
    readyAt: NOW,
    startAt: () => wait.startAt?.({}),
    onTimer: (at) => timers.push(at),
    mailbox: new Mailbox(async () => [], []),
    maxInlineWaitMs: 0,
    signal: new AbortController().signal,
    timers,
    ...overrides,
  };
}

describe('the step gate', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers({ now: NOW, toFake: ['Date', 'setTimeout', 'clearTimeout'] })));
  afterEach(() => clock.restore());

  describe('startTime', () => {
    it('reads a Date, an ISO string or epoch ms, up to the largest time a Date holds', () => {
      expect(startTime(new Date(NOW), 'wf', 's')).to.equal(NOW);
      expect(startTime('2026-12-01T12:00:00.000Z', 'wf', 's')).to.equal(NOW);
      expect(startTime(8.64e15, 'wf', 's')).to.equal(8.64e15);
      expect(startTime(-8.64e15, 'wf', 's')).to.equal(-8.64e15);
    });

    it('refuses anything else, naming the step and the workflow', () => {
      for (const value of ['soon', NaN, Infinity, 8.64e15 + 1, null, {}]) {
        expect(() => startTime(value, 'wf', 's'), String(value)).to.throw(InvalidOptionError, "option 'startAt of step 's' in workflow 'wf'' is");
      }
      expect(() => startTime('soon', 'wf', 's')).to.throw("expected a valid Date, an ISO date string or epoch ms");
    });
  });

  describe('timers', () => {
    it('waits for the later of delayMs and startAt, telling the run the computed start time once', async () => {
      const later = gateInput({ delayMs: 5_000, startAt: () => NOW + 2_000 });
      expect(await passGate(later)).to.deep.equal({ kind: 'wait', wakeAt: NOW + 5_000 });
      expect(later.timers).to.deep.equal([new Date(NOW + 2_000).toISOString()]);
      const startLater = gateInput({ delayMs: 2_000, startAt: () => NOW + 5_000 });
      expect(await passGate(startLater)).to.deep.equal({ kind: 'wait', wakeAt: NOW + 5_000 });
    });

    it('uses a stored start time without calling startAt again', async () => {
      const input = gateInput({ startAt: () => expect.fail('startAt called again') }, { storedTimer: new Date(NOW + 9_000).toISOString() });
      expect(await passGate(input)).to.deep.equal({ kind: 'wait', wakeAt: NOW + 9_000 });
      expect(input.timers).to.deep.equal([]);
    });

    it('opens at once when the time has come, to the millisecond', async () => {
      expect(await passGate(gateInput({ delayMs: 0 }))).to.deep.equal({ kind: 'open' });
      expect(await passGate(gateInput({ startAt: () => NOW }))).to.deep.equal({ kind: 'open' });
      expect(await passGate(gateInput({ delayMs: 1_000 }, { readyAt: NOW - 1_000 }))).to.deep.equal({ kind: 'open' });
    });

    it('sleeps a wait of up to maxInlineWaitMs, then opens; a longer one waits, with the awaited event named', async () => {
      expect(await passGate(gateInput({ delayMs: 501, event: { name: 'go', onTimeout: 'fail' } }, { maxInlineWaitMs: 500 }))).to.deep.equal({ kind: 'wait', wakeAt: NOW + 501, event: 'go' });
      const sleeping = passGate(gateInput({ delayMs: 500 }, { maxInlineWaitMs: 500 }));
      await clock.tickAsync(499);
      let settled = false;
      void sleeping.then(() => (settled = true));
      await Promise.resolve();
      expect(settled).to.equal(false);
      await clock.tickAsync(1);
      expect(await sleeping).to.deep.equal({ kind: 'open' });
    });

    it('is cancelled when its signal aborts during the sleep', async () => {
      const controller = new AbortController();
      const sleeping = passGate(gateInput({ delayMs: 500 }, { maxInlineWaitMs: 1_000, signal: controller.signal }));
      await clock.tickAsync(100);
      controller.abort();
      expect(await sleeping).to.deep.equal({ kind: 'cancelled' });
    });
  });

  describe('events', () => {
    const stored = (payload: unknown): StoredEvent => ({ formatVersion: 1, eventId: 'e1', name: 'go', payload, sentAt: new Date(NOW).toISOString() }) as StoredEvent;

    it('opens with the first unclaimed event, its payload decoded', async () => {
      const mailbox = new Mailbox(async () => [stored({ $wm: 'bigint', v: '12' })], []);
      expect(await passGate(gateInput({ event: { name: 'go', onTimeout: 'fail' } }, { mailbox }))).to.deep.equal({ kind: 'open', event: { name: 'go', eventId: 'e1', payload: 12n } });
    });

    it('names the event whose stored payload cannot be decoded', async () => {
      const mailbox = new Mailbox(async () => [stored({ $wm: 'nope' })], []);
      const error = await passGate(gateInput({ event: { name: 'go', onTimeout: 'fail' } }, { mailbox })).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(CheckpointCorruptedError);
      expect((error as Error).message).to.match(/^workflow 'wf': stored data at event 'e1' is corrupted: payload: unknown tag "nope"\./);
      expect((error as Error).cause).to.have.property('path', 'payload');
    });

    it('waits for an event without a timeout for as long as it takes, with no wake time', async () => {
      expect(await passGate(gateInput({ event: { name: 'go', onTimeout: 'fail' } }))).to.deep.equal({ kind: 'wait', event: 'go' });
    });

    it('waits until the timeout, counted from when the step became ready; at the timeout it fails or runs without an event', async () => {
      const fail = { event: { name: 'go', timeoutMs: 1_000, onTimeout: 'fail' as const } };
      expect(await passGate(gateInput(fail, { readyAt: NOW - 999 }))).to.deep.equal({ kind: 'wait', wakeAt: NOW + 1, event: 'go' });
      const timedOut = await passGate(gateInput(fail, { readyAt: NOW - 1_000 }));
      expect(timedOut.kind).to.equal('timeout');
      expect((timedOut as { error: EventTimeoutError }).error).to.be.instanceOf(EventTimeoutError).with.property('message').that.contains("no 'go' event arrived within 1000 ms");
      expect(await passGate(gateInput({ event: { name: 'go', timeoutMs: 1_000, onTimeout: 'run' } }, { readyAt: NOW - 1_000 }))).to.deep.equal({ kind: 'open', event: { name: 'go' } });
    });
  });
});
