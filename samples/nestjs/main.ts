/**
 * `npx ts-node samples/nestjs/main.ts`: a Nest application context runs an injected workflow, the
 * billing API fails once, and a resume finishes it without charging twice.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { rmSync } from 'node:fs';
import { WorkflowRunner } from '../../lib';
import { AppModule, STORE } from './app.module';
import { BillingService, InvoiceWorkflow } from './invoice.workflow';

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  try {
    const runner = app.get(WorkflowRunner);
    const workflow = app.get(InvoiceWorkflow);
    const billing = app.get(BillingService);
    const input = { customerId: 'acme', lines: [{ sku: 'a', cents: 1200 }, { sku: 'b', cents: 300 }] };

    billing.outage = true;
    await runner.run(workflow, { workflowId: 'invoice-7', input }).catch((error: Error) => console.log(`first run failed: ${(error.cause as Error).message}`));
    const result = await runner.run(workflow, { workflowId: 'invoice-7', input, resume: true });
    console.log(`resumed: ${JSON.stringify(Object.fromEntries(Object.entries(result.steps).map(([k, v]) => [k, v.status])))}`);
    console.log(`output: ${String(result.output)}; charges: ${billing.charges.join(', ')}`);
  } finally {
    await app.close();
    rmSync(STORE, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
