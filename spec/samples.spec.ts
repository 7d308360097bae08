import { expect } from 'chai';
import { runTs } from './helpers/child';
import { redisTarget } from './helpers/redis';

describe('samples', function () {
  this.timeout(60_000);

  it('the demo crashes at step 3, resumes skipping steps 1-2, resets on a changed input and raises under raise', async () => {
    const { code, stdout, stderr } = await runTs('samples/order-etl/demo.ts', {});
    expect(code, stderr).to.equal(0);
    expect(stdout).to.contain('-> extract=completed, transform=completed, load=failed');
    expect(stdout).to.contain('extract: skipped, restored from its checkpoint');
    expect(stdout).to.contain('-> completed: extract=restored, transform=restored, load=completed');
    expect(stdout).to.contain("policy 'reset'");
    expect(stdout).to.contain('-> completed: extract=completed, transform=completed, load=completed');
    expect(stdout).to.contain('WAYMARK_INPUT_CHANGED');
    expect(stdout.match(/extract: reading/g)).to.have.length(2, 'extract ran in the first run and after the reset only');
  });

  it('the order-shipping sample branches on the amount, charges each line once, and polls the shipment through a worker', async () => {
    const { code, stdout, stderr } = await runTs('samples/order-shipping/main.ts', {});
    expect(code, stderr).to.equal(0);
    expect(stdout).to.contain('  o-1: a manager approves 2500\n');
    expect(stdout).to.not.contain('o-2: a manager approves');
    expect(stdout).to.contain('o-1: waiting (waits until the next poll)\n');
    expect(stdout.match(/o-1: poll \d/g)).to.deep.equal(['o-1: poll 1', 'o-1: poll 2', 'o-1: poll 3']);
    expect(stdout).to.contain('o-1: completed: review=committed, managerApproval=committed, charge=committed, track=committed; ["sofa ch_1 (manager)","lamp ch_2 (manager)"]');
    expect(stdout).to.contain('o-2: completed: review=committed, managerApproval=skipped, charge=committed, track=committed; ["mug ch_3 (policy)","tea ch_4 (policy)"]');
  });

  it('the warehouse-order sample ships from two warehouses through child workflows, and a cancel while it waits cancels and undoes its shipments', async () => {
    const { code, stdout, stderr } = await runTs('samples/warehouse-order/main.ts', {});
    expect(code, stderr).to.equal(0);
    expect(stdout).to.contain("o-1: waiting for children of 'ship'\no-1 started o-1/ship/0 (shipment), o-1/ship/1 (shipment)\n");
    expect(stdout).to.contain('reserved: o-1/ship/0=desk+lamp, o-1/ship/1=chair\n');
    expect(stdout).to.contain('o-1: completed: order o-1 shipped: lyon: TRK-L1; nantes: TRK-N1\n');
    expect(stdout).to.contain('o-2: cancel cancelled\n');
    expect(stdout).to.contain("o-2/ship/0: compensated (cancelled: its parent 'o-2' was cancelled)\no-2/ship/1: compensated (cancelled: its parent 'o-2' was cancelled)\n");
    expect(stdout).to.contain('o-2: cancelled; stock still reserved: 0\n');
    expect(stdout.match(/released res-o-2\/ship\/\d/g)!.sort()).to.deep.equal(['released res-o-2/ship/0', 'released res-o-2/ship/1']);
  });

  it('the NestJS sample resumes an injected workflow without charging twice', async () => {
    const { code, stdout, stderr } = await runTs('samples/nestjs/main.ts', {});
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(/first run failed: .*step 'charge' failed after 1 attempt: billing API unavailable/);
    expect(stdout).to.contain('resumed: {"total":"restored","charge":"completed","receipt":"completed"}');
    expect(stdout).to.match(/charges: ch_1:acme:1500$/m);
  });

  it('the tsyringe sample resumes a resolved workflow and sends one email', async () => {
    const { code, stdout, stderr } = await runTs('samples/tsyringe/main.ts', {});
    expect(code, stderr).to.equal(0);
    expect(stdout).to.contain('resumed: render=restored, send=completed; emails sent: 1');
  });

  it('the booking saga refunds and releases once when tickets are sold out, keeps its outcome on redelivery, and prunes what ended', async () => {
    const { code, stdout, stderr } = await runTs('samples/booking-saga/main.ts', {});
    expect(code, stderr).to.equal(0);
    expect(stdout).to.contain('booking-1: booked {"ticket":"T-12A","hold":"hold-12A"}');
    expect(stdout).to.contain('  undo charge: refunded ch_2\n  undo reserve: released hold-12B (because issue failed: sold out)\n');
    expect(stdout).to.contain('booking-2: compensated (reserve=compensated, charge=compensated)\nbooking-2: compensated (reserve=restored, charge=restored)');
    expect(stdout).to.contain('ledger: charge ch_1 4242 9900; charge ch_2 5555 9900; refund ch_2\nseats held: 12A\n');
    expect(stdout).to.contain('would prune: booking-1, booking-2\npruned 2; left: 0');
  });

  it('the BullMQ sample survives a worker killed mid-charge, charges each invoice once and closes its workers gracefully', async () => {
    const redis = await redisTarget();
    const { code, stdout, stderr } = await runTs('samples/bullmq/main.ts', { REDIS_URL: `redis://${redis.host}:${redis.port}/${redis.db}` });
    expect(code, stderr).to.equal(0);
    expect(stdout).to.contain('enqueued 3 invoices, and inv-2 again: duplicate=true');
    expect(stdout).to.match(/killed a worker in the middle of charging inv-\d/);
    for (const line of [/^inv-1: acme: 1500 cents \(ch_\d\), tracking T-inv-1$/m, /^inv-2: globex: 990 cents \(ch_\d\), tracking T-inv-2$/m, /^inv-3: initech: 4200 cents \(ch_\d\), tracking T-inv-3$/m]) {
      expect(stdout).to.match(line);
    }
    expect(stdout).to.contain('charges: 3 (one per invoice)');
    expect(stdout).to.contain('workers closed gracefully');
  });
});
