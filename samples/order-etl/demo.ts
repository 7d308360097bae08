/**
 * `npm run demo`: a crash at the third step, a resume that skips the first two, and a re-submission
 * with a changed input under 'reset' and under 'raise'. Checkpoints go to a SQLite database file (SqliteStorage).
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputChangedError, SqliteStorage, WorkflowFailedError, WorkflowRunner, type RunResult } from '../../lib';
import { OrderEtl, Warehouse } from './order-etl';

const directory = mkdtempSync(join(tmpdir(), 'waymark-demo-'));
const log = (line: string) => console.log(line);
const storage = new SqliteStorage({ path: join(directory, 'waymark.db') });
const runner = new WorkflowRunner({ storage });
runner.on('step:restored', ({ step }) => log(`    ${step}: skipped, restored from its checkpoint`));
runner.on('input:changed', ({ policy }) => log(`    input changed since the checkpoints were written: policy '${policy}'`));

function summary(result: RunResult): string {
  return Object.entries(result.steps)
    .map(([name, step]) => `${name}=${step.status}`)
    .join(', ');
}

async function main(): Promise<void> {
  const warehouse = new Warehouse();
  const workflow = new OrderEtl(warehouse, log);
  console.log(`waymark demo: checkpoints in ${join(directory, 'waymark.db')}\n`);

  console.log('1. First run of order-42; the warehouse is down, so step 3 (load) fails:');
  warehouse.failNextLoad = true;
  try {
    await runner.run(workflow, { workflowId: 'order-42', input: { customerId: 'acme', requestId: 'req-1' } });
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    console.log(`   -> failed: ${(error.cause as Error).message}`);
    console.log(`   -> ${summary(error.result as RunResult)}\n`);
  }

  console.log('2. The queue redelivers order-42 (new request id, excluded from the fingerprint); resume: true');
  const resumed = await runner.run(workflow, { workflowId: 'order-42', input: { customerId: 'acme', requestId: 'req-2' }, resume: true });
  console.log(`   -> ${resumed.status}: ${summary(resumed)}; loaded ${String(resumed.output)} rows\n`);

  console.log("3. order-42 comes back with a different customer; policy 'reset' runs it from scratch:");
  const reset = await runner.run(workflow, { workflowId: 'order-42', input: { customerId: 'globex' }, resume: true, onInputChange: 'reset' });
  console.log(`   -> ${reset.status}: ${summary(reset)}\n`);

  console.log("4. order-42 comes back changed again; policy 'raise' refuses before any step runs:");
  try {
    await runner.run(workflow, { workflowId: 'order-42', input: { customerId: 'initech' }, resume: true, onInputChange: 'raise' });
  } catch (error) {
    if (!(error instanceof InputChangedError)) throw error;
    console.log(`   -> ${error.code}: stored ${error.storedFingerprint.slice(0, 12)}…, current ${error.currentFingerprint.slice(0, 12)}…; nothing was written`);
  }
  console.log(`\nwarehouse received ${warehouse.loaded.length} loads; steps extract and transform of order-42 ran once before the resume.`);
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(directory, { recursive: true, force: true }));
