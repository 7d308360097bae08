/**
 * `npx ts-node samples/order-shipping/main.ts`: an order whose shape is decided at run time. A manager
 * approves it only above a limit (a branch); each of its lines is charged once (a fan-out, an
 * idempotency key per line); then the shipment is polled until the carrier says it is delivered, the
 * workflow waiting between polls with no lease held, woken by a worker. A second order below the limit
 * skips the manager.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage, Step, Workflow, WorkflowRunner, WorkflowWorker, type StepContext } from '../../lib';

interface Line {
  readonly sku: string;
  readonly cents: number;
}

interface Order {
  readonly orderId: string;
  readonly lines: readonly Line[];
}

/** A carrier whose parcels are delivered after three looks. */
class Carrier {
  private readonly looks = new Map<string, number>();
  status(parcel: string): 'in transit' | 'delivered' {
    const n = (this.looks.get(parcel) ?? 0) + 1;
    this.looks.set(parcel, n);
    return n >= 3 ? 'delivered' : 'in transit';
  }
}

const carrier = new Carrier();
const charged = new Map<string, string>();

@Workflow({ name: 'order-shipping' })
class OrderShipping {
  @Step() review(ctx: StepContext<Order>) {
    return ctx.input.lines.reduce((cents, line) => cents + line.cents, 0);
  }

  // Only above 1,000.00: decided once, stored, never asked again by a resume.
  @Step({ after: ['review'], when: (ctx: StepContext) => ctx.result<number>('review') > 100_000 })
  managerApproval(ctx: StepContext<Order>) {
    console.log(`  ${ctx.input.orderId}: a manager approves ${ctx.result<number>('review') / 100}`);
    return 'manager';
  }

  // After the branch, whether the manager step ran or was skipped: once per line, each line its own
  // durable step. The list of lines is committed first, so a resume charges the same lines.
  @Step({ after: ['review', 'managerApproval'], forEach: (ctx: StepContext<Order>) => ctx.input.lines, concurrency: 4 })
  charge(ctx: StepContext<Order>) {
    const line = ctx.item as Line;
    // At least once: the payment service dedupes by the key, so a re-run charges nothing twice.
    const key = `${ctx.workflowId}:charge:${ctx.index}`;
    if (!charged.has(key)) charged.set(key, `ch_${charged.size + 1}`);
    return `${line.sku} ${charged.get(key)!} (${ctx.skipped('managerApproval') ? 'policy' : 'manager'})`;
  }

  // Polled every 200 ms, for at most a minute; each "not yet" is stored and waited out durably.
  @Step({ poll: { timeoutMs: 60_000 } })
  track(ctx: StepContext<Order>) {
    const status = carrier.status(ctx.input.orderId);
    console.log(`  ${ctx.input.orderId}: poll ${ctx.polls + 1}: ${status}`);
    if (status !== 'delivered') ctx.retryAfter(200);
    return status;
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'waymark-order-shipping-'));
  try {
    // maxInlineWaitMs 0: every wait ends the run 'waiting' and gives the lease up; the worker wakes it.
    const runner = new WorkflowRunner({ storage: new SqliteStorage({ path: join(dir, 'waymark.db') }), workflows: [OrderShipping], maxInlineWaitMs: 0 });
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 50 });
    const finished = new Map<string, () => void>();
    runner.on('run:completed', ({ workflowId }) => finished.get(workflowId)?.());
    await worker.start();
    const orders: Order[] = [
      { orderId: 'o-1', lines: [{ sku: 'sofa', cents: 200_000 }, { sku: 'lamp', cents: 50_000 }] },
      { orderId: 'o-2', lines: [{ sku: 'mug', cents: 1_500 }, { sku: 'tea', cents: 3_000 }] },
    ];
    for (const order of orders) {
      const done = new Promise<void>((resolve) => finished.set(order.orderId, resolve));
      const first = await runner.run(new OrderShipping(), { workflowId: order.orderId, input: order });
      console.log(`${order.orderId}: ${first.status} (waits until ${first.wakeAt === undefined ? '-' : 'the next poll'})`);
      await done;
      const info = await runner.get(order.orderId, { outputs: true });
      const steps = Object.entries(info!.steps).map(([name, s]) => `${name}=${s.status}`).join(', ');
      console.log(`${order.orderId}: ${info!.status}: ${steps}; ${JSON.stringify(info!.steps.charge!.output)}`);
    }
    await worker.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
