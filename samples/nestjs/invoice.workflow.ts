/**
 * A workflow that is an ordinary Nest provider: Nest injects its BillingService.
 */
import { Injectable } from '@nestjs/common';
import { Step, Workflow, type StepContext } from '../../lib';

/** A billing API client; `outage` makes the next charge fail, to show a resume. */
@Injectable()
export class BillingService {
  outage = false;
  readonly charges: string[] = [];

  async charge(customerId: string, cents: number): Promise<string> {
    if (this.outage) {
      this.outage = false;
      throw new Error('billing API unavailable (simulated)');
    }
    const id = `ch_${this.charges.length + 1}`;
    this.charges.push(`${id}:${customerId}:${cents}`);
    return id;
  }
}

export interface InvoiceInput {
  customerId: string;
  lines: { sku: string; cents: number }[];
}

@Injectable()
@Workflow({ name: 'invoice' })
export class InvoiceWorkflow {
  constructor(private readonly billing: BillingService) {}

  @Step()
  total(ctx: StepContext<InvoiceInput>): number {
    return ctx.input.lines.reduce((sum, line) => sum + line.cents, 0);
  }

  @Step()
  async charge(ctx: StepContext<InvoiceInput, number>): Promise<string> {
    return this.billing.charge(ctx.input.customerId, ctx.previous);
  }

  @Step()
  receipt(ctx: StepContext<InvoiceInput, string>): string {
    return `receipt for ${ctx.previous}`;
  }
}
