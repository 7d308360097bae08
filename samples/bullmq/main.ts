/**
 * waymark on BullMQ, end to end: two worker processes share a queue and a FileStorage. The demo
 * enqueues three invoices (one of them twice), kills a worker in the middle of a charge, sends the
 * 'shipped' events the invoices wait for, and stops the workers gracefully. Each customer is charged
 * once; every invoice completes.
 *
 * Run: `npx ts-node --transpile-only samples/bullmq/main.ts` with Redis at REDIS_URL (default 127.0.0.1:6379).
 */
import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStorage, WorkflowRunner } from 'waymark';
import { WorkflowQueue } from 'waymark/bullmq';
import { InvoiceWorkflow, readLedger, type InvoiceInput } from './invoice.workflow';
import { redisConnection } from './redis';

const dir = mkdtempSync(join(tmpdir(), 'waymark-bullmq-'));
const env = { ...process.env, STORE: join(dir, 'store'), LEDGER: join(dir, 'ledger.txt'), QUEUE: `invoices-${process.pid}` };
const runner = new WorkflowRunner({ storage: new FileStorage({ directory: env.STORE }), workflows: [InvoiceWorkflow] });
const queue = new WorkflowQueue({ connection: redisConnection(), name: env.QUEUE, runner });

/** Called with the first worker that starts a charge, and the invoice it charges. */
let onFirstCharge: ((child: ChildProcess, workflowId: string) => void) | undefined;

function startWorker(): Promise<ChildProcess> {
  const child = fork(join(__dirname, 'worker.ts'), { env, execArgv: ['-r', 'ts-node/register/transpile-only'] });
  child.on('message', (m: { step?: string; workflowId?: string }) => {
    if (m.step !== 'charge' || onFirstCharge === undefined) return;
    onFirstCharge(child, m.workflowId!);
    onFirstCharge = undefined;
  });
  return new Promise((resolve) => child.on('message', (m: { up?: boolean }) => m.up && resolve(child)));
}

/** Resolves when every invoice reached `status` (the demo checks the store, as a dashboard would). */
async function all(ids: string[], status: string): Promise<void> {
  while (!(await Promise.all(ids.map((id) => runner.get(id)))).every((info) => info?.status === status)) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main(): Promise<void> {
  const invoices: Record<string, InvoiceInput> = { 'inv-1': { customer: 'acme', cents: 1500 }, 'inv-2': { customer: 'globex', cents: 990 }, 'inv-3': { customer: 'initech', cents: 4200 } };
  for (const [workflowId, input] of Object.entries(invoices)) await queue.enqueue(InvoiceWorkflow, { workflowId, input });
  const again = await queue.enqueue(InvoiceWorkflow, { workflowId: 'inv-2', input: invoices['inv-2'] });
  console.log(`enqueued 3 invoices, and inv-2 again: duplicate=${again.duplicate}`);

  // Kill the first worker that starts a charge, in the middle of it; a replacement takes its place.
  const victim = new Promise<{ child: ChildProcess; workflowId: string }>((resolve) => (onFirstCharge = (child, workflowId) => resolve({ child, workflowId })));
  const workers = await Promise.all([startWorker(), startWorker()]);
  const { child: killed, workflowId } = await victim;
  killed.kill('SIGKILL');
  console.log(`killed a worker in the middle of charging ${workflowId}`);
  workers[workers.indexOf(killed)] = await startWorker();

  const ids = Object.keys(invoices);
  await all(ids, 'waiting');
  console.log('every invoice is charged and waits for its shipment (no worker holds it)');
  for (const id of ids) await queue.sendEvent(id, 'shipped', { tracking: `T-${id}` }, { eventId: `ship-${id}` });
  await all(ids, 'completed');
  for (const id of ids) console.log(`${id}: ${(await runner.get<InvoiceInput, string>(id))?.output}`);
  console.log(`charges: ${readLedger(env.LEDGER).length} (one per invoice)`);

  await Promise.all(workers.map((child) => new Promise<void>((resolve) => (child.on('exit', () => resolve()), child.kill('SIGTERM')))));
  console.log('workers closed gracefully');
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    await queue.queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    rmSync(dir, { recursive: true, force: true });
  });
