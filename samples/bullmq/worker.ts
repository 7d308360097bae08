/**
 * One worker process, as each machine of a fleet runs it: a QueueWorker on the shared queue and
 * storage. On SIGTERM it closes gracefully: no new jobs, running steps get 10 s to finish.
 */
import 'reflect-metadata';
import { WorkflowRunner, FileStorage } from 'waymark';
import { QueueWorker } from 'waymark/bullmq';
import { InvoiceWorkflow } from './invoice.workflow';
import { redisConnection } from './redis';

const runner = new WorkflowRunner({ storage: new FileStorage({ directory: process.env.STORE! }), workflows: [InvoiceWorkflow], maxInlineWaitMs: 0 });
const worker = new QueueWorker({
  connection: redisConnection(),
  queue: process.env.QUEUE!,
  runner,
  concurrency: 4,
  // A short lock and stalled check, so the demo sees a killed worker's job come back within seconds.
  settings: { lockDuration: 2_000, stalledInterval: 2_000 },
  onError: () => undefined,
});

process.once('SIGTERM', () => {
  void worker.close({ deadlineMs: 10_000 }).then(() => {
    process.send?.({ closed: true });
    process.exit(0);
  });
});
void worker.ready().then(() => process.send?.({ up: true }));
