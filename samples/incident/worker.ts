/**
 * `RELEASE=2 npx ts-node worker.ts sqlite:incident.db`: the deployed fix's worker. It recovers and
 * wakes the store's workflows, and runs every one a `waymark resume` (or the dashboard) asked for,
 * until SIGTERM or Ctrl-C.
 */
import 'reflect-metadata';
import { SqliteStorage, WorkflowRunner, WorkflowWorker } from '../../lib';
import { Order } from './order';

async function main(): Promise<void> {
  const store = process.argv[2];
  if (store === undefined || !store.startsWith('sqlite:')) throw new Error('usage: worker.ts sqlite:<file>');
  const runner = new WorkflowRunner({ storage: new SqliteStorage({ path: store.slice('sqlite:'.length) }), workflows: [Order], tracer: false });
  // A failed run's outcome is its own (stored); anything else is said.
  const worker = new WorkflowWorker({ runner, pollIntervalMs: 200, onError: (error, id) => console.error(`${id ?? 'worker'}: ${(error as Error).message}`) });
  await worker.start();
  console.log(`worker for release ${process.env.RELEASE ?? '1'} started`);
  const stop = () => void worker.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
