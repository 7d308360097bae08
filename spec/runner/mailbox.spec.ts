import { expect } from 'chai';
import { Mailbox } from '../../lib/runner/mailbox';
import type { StoredEvent } from '../../lib/storage/records';

function event(eventId: string, name: string): StoredEvent {
  return { formatVersion: 1, eventId, name, payload: eventId, sentAt: '2026-12-01T00:00:00.000Z' } as StoredEvent;
}

describe('Mailbox', () => {
  it('hands out the first unclaimed event of the asked name, skipping other names and consumed ids', async () => {
    let loads = 0;
    const stored = [event('e1', 'payment'), event('e2', 'refund'), event('e3', 'payment'), event('e4', 'refund')];
    const box = new Mailbox(async () => (loads++, stored), ['e1']);
    expect((await box.claim('payment'))?.eventId).to.equal('e3');
    expect((await box.claim('refund'))?.eventId).to.equal('e2');
    expect((await box.claim('refund'))?.eventId).to.equal('e4');
    expect(await box.claim('payment')).to.equal(undefined);
    expect(await box.claim('refund')).to.equal(undefined);
    expect(loads).to.equal(1, 'listed once for the whole run');
  });

  it('gives a released event back to the next claim of its name', async () => {
    const box = new Mailbox(async () => [event('e1', 'go')], []);
    expect((await box.claim('go'))?.eventId).to.equal('e1');
    expect(await box.claim('go')).to.equal(undefined);
    box.release('e1');
    expect((await box.claim('go'))?.eventId).to.equal('e1');
  });

  it('says an awaited event arrived only for an unclaimed event of a name it is asked about, listing again', async () => {
    const stored = [event('e1', 'payment')];
    let loads = 0;
    const box = new Mailbox(async () => (loads++, [...stored]), []);
    expect(await box.arrived(new Set(['payment']))).to.equal(true);
    expect(await box.arrived(new Set(['refund']))).to.equal(false, 'another name');
    await box.claim('payment');
    expect(await box.arrived(new Set(['payment']))).to.equal(false, 'claimed already');
    stored.push(event('e2', 'payment'));
    expect(await box.arrived(new Set(['payment']))).to.equal(true, 'a new one, seen by listing again');
    expect(loads).to.equal(4);
    expect((await box.claim('payment'))?.eventId).to.equal('e2', 'the new listing serves claims');
  });
});
