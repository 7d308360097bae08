import { expect } from 'chai';
import fc from 'fast-check';
import { EMPTY_FLOW, leaveQueue, mayTake, nextInLine, releaseSlot, renewSlot, requestSlot, takeToken, type FlowDoc } from '../../../lib/runner/flow/flow-doc';

const ask = (id: string, now: number, limit = 1) => ({ id, token: `${id}@${now}`, limit, holdUntil: now + 1_000, waitUntil: now + 5_000 });

describe('flow-control documents', () => {
  describe('requestSlot', () => {
    it('grants up to the limit, then queues in arrival order and grants the free slot to the first in line only', () => {
      let doc: FlowDoc = EMPTY_FLOW;
      for (const id of ['a', 'b']) {
        const r = requestSlot(doc, ask(id, 0, 2), 0);
        expect(r.answer.granted, id).to.equal(true);
        doc = r.doc;
      }
      for (const [i, id] of ['c', 'd'].entries()) {
        const r = requestSlot(doc, ask(id, 1, 2), 1);
        expect(r.answer).to.include({ granted: false, position: i, retryAt: 1_000 });
        doc = r.doc;
      }
      const released = releaseSlot(doc, 'a', 'a@0', 2, 2);
      expect(released.next.map((w) => w.id)).to.deep.equal(['c']);
      doc = released.doc!;
      // 'd' came later than 'c': the free slot is c's, even if d asks first.
      expect(requestSlot(doc, ask('d', 3, 2), 3).answer).to.include({ granted: false, position: 1 });
      expect(requestSlot(doc, ask('c', 3, 2), 3).answer.granted).to.equal(true);
      // A newcomer is behind the whole queue.
      expect(requestSlot(doc, ask('e', 3, 2), 3).answer).to.include({ granted: false, position: 2 });
    });

    it('gives a holder asking again under its own id (its process died, its run resumed) its slot back at once', () => {
      const first = requestSlot(EMPTY_FLOW, ask('a', 0), 0).doc;
      const queued = requestSlot(first, ask('b', 1), 1).doc;
      const again = requestSlot(queued, ask('a', 2), 2);
      expect(again.answer).to.deep.equal({ granted: true, token: 'a@2' });
      expect(again.doc.holders.map((h) => h.token)).to.deep.equal(['a@2']);
      // The earlier acquisition can neither renew nor release it.
      expect(renewSlot(again.doc, 'a', 'a@0', 10_000, 3)).to.equal(undefined);
      expect(releaseSlot(again.doc, 'a', 'a@0', 1, 3).doc).to.equal(undefined);
    });

    it('frees the slot of a holder that stopped renewing once its time is past, and forgets a waiter that stopped asking', () => {
      const held = requestSlot(EMPTY_FLOW, ask('a', 0), 0).doc;
      const queued = requestSlot(held, { ...ask('b', 1), waitUntil: 500 }, 1).doc;
      // At 999 a holds it still; at 1000 it is gone, and b (gone at 500) is no longer ahead of c.
      expect(requestSlot(queued, ask('c', 999), 999).answer.granted).to.equal(false);
      expect(requestSlot(queued, ask('c', 1_000), 1_000).answer.granted).to.equal(true);
    });

    it("puts a run whose slot expired (its process died) back at the head of the queue, so it runs before those who came after it", () => {
      let doc = requestSlot(EMPTY_FLOW, { ...ask('a', 0), requeue: true }, 0).doc;
      doc = requestSlot(doc, ask('b', 1), 1).doc;
      // At 1000 a's slot expired: b is not granted the free slot, a is (and nextInLine names a).
      expect(mayTake(doc, 'b', 1, 1_000)).to.equal(false);
      expect(requestSlot(doc, ask('b', 1_000), 1_000).answer).to.include({ granted: false, position: 1 });
      expect(nextInLine(doc, 1, 1_000).map((w) => [w.id, w.durable])).to.deep.equal([['a', true]]);
      expect(mayTake(doc, 'a', 1, 1_000)).to.equal(true);
      expect(requestSlot(doc, ask('a', 1_000), 1_000).answer.granted).to.equal(true);
      // Without requeue (a step's slot), an expired slot simply frees.
      const step = requestSlot(requestSlot(EMPTY_FLOW, ask('s', 0), 0).doc, ask('t', 1), 1).doc;
      expect(requestSlot(step, ask('t', 1_000), 1_000).answer.granted).to.equal(true);
    });

    it('puts a holder released by a run stopped before it ended (lease lost, worker stopping) first in line, and names it next', () => {
      let doc = requestSlot(EMPTY_FLOW, ask('a', 0), 0).doc;
      doc = requestSlot(doc, ask('b', 1), 1).doc;
      const released = releaseSlot(doc, 'a', 'a@0', 1, 2, true);
      expect(released.doc!.queue.map((w) => w.id)).to.deep.equal(['a', 'b']);
      expect(released.next.map((w) => w.id)).to.deep.equal(['a']);
      expect(requestSlot(released.doc!, ask('b', 3), 3).answer.granted).to.equal(false);
    });

    it('keeps a waiter its first place when it asks again, and lets it leave the queue', () => {
      let doc = requestSlot(EMPTY_FLOW, ask('a', 0), 0).doc;
      doc = requestSlot(doc, ask('b', 1), 1).doc;
      doc = requestSlot(doc, ask('c', 2), 2).doc;
      doc = requestSlot(doc, ask('b', 3), 3).doc;
      expect(doc.queue.map((w) => w.id)).to.deep.equal(['b', 'c']);
      expect(leaveQueue(doc, 'b')!.queue.map((w) => w.id)).to.deep.equal(['c']);
      expect(leaveQueue(doc, 'z')).to.equal(undefined);
    });

    it('never has more holders than its limit, and grants in arrival order, whatever asks, releases and expiries come (property)', () => {
      const op = fc.oneof(
        fc.record({ kind: fc.constant('ask' as const), who: fc.integer({ min: 0, max: 7 }) }),
        fc.record({ kind: fc.constant('release' as const), who: fc.integer({ min: 0, max: 7 }) }),
        fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 1_500 }) }),
      );
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 3 }), fc.array(op, { maxLength: 60 }), (limit, ops) => {
          let doc: FlowDoc = EMPTY_FLOW;
          let now = 0;
          const tokens = new Map<string, string>();
          for (const o of ops) {
            if (o.kind === 'tick') now += o.ms;
            else if (o.kind === 'release') {
              const id = `w${o.who}`;
              const token = tokens.get(id);
              if (token !== undefined) doc = releaseSlot(doc, id, token, limit, now).doc ?? doc;
            } else {
              const id = `w${o.who}`;
              const before = doc.queue.filter((w) => w.until > now).map((w) => w.id);
              const holding = doc.holders.some((h) => h.id === id && h.until > now);
              const r = requestSlot(doc, { id, token: `${id}-${now}`, limit, holdUntil: now + 1_000, waitUntil: now + 3_000 }, now);
              doc = r.doc;
              if (r.answer.granted && !holding) {
                tokens.set(id, r.answer.token);
                // Granted (not as a holder taking its own slot back): nobody still waiting came before it beyond the slots that were free.
                const place = before.indexOf(id);
                const ahead = place < 0 ? before.length : place;
                expect(ahead).to.be.lessThan(limit);
              }
            }
            expect(doc.holders.filter((h) => h.until > now).length).to.be.at.most(limit);
            expect(new Set(doc.holders.map((h) => h.id)).size).to.equal(doc.holders.length);
          }
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('takeToken', () => {
    it('admits `limit` calls in a window, then says when the oldest leaves it', () => {
      let doc: FlowDoc = EMPTY_FLOW;
      for (const at of [0, 10, 20]) {
        const r = takeToken(doc, 3, 1_000, at);
        expect(r.answer.granted).to.equal(true);
        doc = r.doc!;
      }
      expect(takeToken(doc, 3, 1_000, 500)).to.deep.equal({ doc: undefined, answer: { granted: false, retryAt: 1_000 } });
      expect(takeToken(doc, 3, 1_000, 1_000).answer.granted).to.equal(true);
    });

    it('never admits more than `limit` in any window of `perMs`, in whatever order clocks wrote (property)', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 10, max: 500 }), fc.array(fc.integer({ min: 0, max: 3_000 }), { maxLength: 80 }), (limit, perMs, times) => {
          let doc: FlowDoc = EMPTY_FLOW;
          const admitted: number[] = [];
          for (const at of [...times].sort((a, b) => a - b)) {
            const r = takeToken(doc, limit, perMs, at);
            if (r.answer.granted) {
              admitted.push(at);
              doc = r.doc!;
            } else expect(r.answer.retryAt).to.be.greaterThan(at);
          }
          for (const start of admitted) expect(admitted.filter((t) => t >= start && t < start + perMs).length).to.be.at.most(limit);
        }),
        { numRuns: 300 },
      );
    });
  });
});
