/**
 * `npx ts-node samples/warehouse-order/main.ts`: an order that ships from two warehouses. Its `ship`
 * step starts one Shipment workflow per warehouse (child workflows, started exactly once) and waits
 * for them with no lease held; each shipment reserves stock, waits for the carrier's pick-up (an
 * event), and is woken by a worker. The first order completes once both are picked up. The second
 * is cancelled by the customer while it waits: its shipments are cancelled with it, and each undoes
 * its stock reservation (a compensation).
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage, Step, Workflow, WorkflowRunner, WorkflowWorker, type StepContext } from '../../lib';

interface OrderInput {
  readonly orderId: string;
  /** Items by the warehouse that holds them. */
  readonly items: Readonly<Record<string, readonly string[]>>;
}

interface ShipmentInput {
  readonly orderId: string;
  readonly warehouse: string;
  readonly items: readonly string[];
}

/** Stock reserved per warehouse, as the warehouses' own systems would keep it. */
const reserved = new Map<string, string[]>();

@Workflow({ name: 'shipment' })
class Shipment {
  @Step({ compensate: 'release' })
  reserve(ctx: StepContext<ShipmentInput>) {
    // Steps run at least once: the reservation is keyed by the child's own (deterministic) id.
    reserved.set(ctx.workflowId, [...ctx.input.items]);
    return { reservation: `res-${ctx.workflowId}` };
  }
  release(ctx: { workflowId: string; output: { reservation: string } }) {
    reserved.delete(ctx.workflowId);
    console.log(`  ${ctx.workflowId}: released ${ctx.output.reservation}`);
  }
  @Step({ waitFor: { event: 'picked-up' } })
  handOver(ctx: StepContext<ShipmentInput>) {
    return `${ctx.input.warehouse}: ${ctx.event<{ tracking: string }>()!.tracking}`;
  }
}

@Workflow({ name: 'warehouse-order' })
class WarehouseOrder {
  @Step({
    forEach: (ctx: StepContext<OrderInput>) => Object.keys(ctx.input.items),
    spawn: (ctx: StepContext<OrderInput>) => ({ workflow: Shipment, input: { orderId: ctx.input.orderId, warehouse: ctx.item as string, items: ctx.input.items[ctx.item as string]! } }),
  })
  ship(ctx: StepContext) {
    return ctx.children as string[];
  }
  @Step()
  notify(ctx: StepContext<OrderInput, string[]>) {
    return `order ${ctx.input.orderId} shipped: ${ctx.previous.join('; ')}`;
  }
}

/** Resolves once `count` shipments of order `orderId` reserved their stock (heard before the order starts). */
function reservations(runner: WorkflowRunner, orderId: string, count: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    const off = runner.on('step:committed', (e) => {
      if (e.step === 'reserve' && e.workflowId.startsWith(`${orderId}/`) && ++seen === count) {
        off();
        resolve();
      }
    });
  });
}

/** Resolves with the next status workflow `workflowId` ends a run with. */
function settled(runner: WorkflowRunner, workflowId: string): Promise<string> {
  return new Promise((resolve) => {
    for (const status of ['completed', 'failed', 'cancelled'] as const) runner.on(`run:${status}`, (e) => e.workflowId === workflowId && resolve(status));
  });
}

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'waymark-warehouse-order-'));
  try {
    const runner = new WorkflowRunner({ storage: new SqliteStorage({ path: join(directory, 'waymark.db') }), workflows: [WarehouseOrder, Shipment] });
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 100 });
    worker.start();

    const items = { lyon: ['desk', 'lamp'], nantes: ['chair'] };
    const firstReserved = reservations(runner, 'o-1', 2);
    const first = await runner.run(new WarehouseOrder(), { workflowId: 'o-1', input: { orderId: 'o-1', items } });
    console.log(`o-1: ${first.status} for ${first.waitingFor!.join(', ')}`);
    const children = (await runner.get('o-1'))!.children!;
    console.log(`o-1 started ${children.map((c) => `${c.workflowId} (${c.workflowName})`).join(', ')}`);
    // Each shipment reserves its stock, then waits for the carrier.
    await firstReserved;
    console.log(`reserved: ${[...reserved].sort(([a], [b]) => a.localeCompare(b)).map(([id, stock]) => `${id}=${stock.join('+')}`).join(', ')}`);
    const done = settled(runner, 'o-1');
    await runner.sendEvent('o-1/ship/0', 'picked-up', { tracking: 'TRK-L1' });
    await runner.sendEvent('o-1/ship/1', 'picked-up', { tracking: 'TRK-N1' });
    console.log(`o-1: ${await done}: ${(await runner.get('o-1'))!.output as string}`);

    const secondReserved = reservations(runner, 'o-2', 2);
    const second = await runner.run(new WarehouseOrder(), { workflowId: 'o-2', input: { orderId: 'o-2', items } });
    console.log(`o-2: ${second.status}`);
    // The customer cancels while the order waits for its shipments (each reserved its stock).
    await secondReserved;
    const shipments = (await runner.get('o-2'))!.children!.map((c) => c.workflowId);
    const undone = Promise.all(shipments.map((id) => settled(runner, id)));
    const result = await runner.cancel('o-2', { reason: 'customer cancelled' });
    console.log(`o-2: cancel ${result.outcome}`);
    await undone;
    for (const id of shipments) {
      const info = (await runner.get(id))!;
      console.log(`${id}: ${info.status} (${info.error!.message})`);
    }
    console.log(`o-2: ${(await runner.get('o-2'))!.status}; stock still reserved: ${[...reserved.keys()].filter((id) => id.startsWith('o-2')).length}`);
    await worker.stop();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
