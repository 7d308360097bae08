/**
 * `npx ts-node place-orders.ts sqlite:incident.db [count]`: places `count` orders (300 by default) on
 * release 1, the one with the bug: each fails at `charge`, as a queue's jobs would in production.
 */
import 'reflect-metadata';
import { SqliteStorage, WorkflowFailedError, WorkflowRunner } from '../../lib';
import { Order } from './order';

async function main(): Promise<void> {
  const [store, countText = '300'] = process.argv.slice(2);
  if (store === undefined || !store.startsWith('sqlite:')) throw new Error('usage: place-orders.ts sqlite:<file> [count]');
  const runner = new WorkflowRunner({ storage: new SqliteStorage({ path: store.slice('sqlite:'.length) }), workflows: [Order], tracer: false });
  let failed = 0;
  for (let i = 1; i <= Number(countText); i++) {
    await runner.run(new Order(), { workflowId: `order-${i}`, input: { orderId: `order-${i}`, cents: 1250 + i } }).catch((error: unknown) => {
      if (!(error instanceof WorkflowFailedError)) throw error;
      failed++;
    });
  }
  console.log(`${countText} orders placed, ${failed} failed`);
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
