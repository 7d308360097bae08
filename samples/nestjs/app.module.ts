import { Module } from '@nestjs/common';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStorage } from '../../lib';
import { WaymarkModule } from '../../lib/nestjs';
import { BillingService, InvoiceWorkflow } from './invoice.workflow';

/** Storage directory of this sample run. */
export const STORE = mkdtempSync(join(tmpdir(), 'waymark-nest-'));

@Module({
  imports: [WaymarkModule.forRoot({ storage: new FileStorage({ directory: STORE }) })],
  providers: [BillingService, InvoiceWorkflow],
})
export class AppModule {}
