/**
 * The sample's workflow: charge an invoice (once, with an idempotency key), wait for the warehouse's
 * 'shipped' event, then send the receipt. Steps run at least once, so the charge passes the payment
 * API a key that makes a repeated call a no-op: here, a ledger file with one line per key.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { Step, Workflow, type StepContext } from 'waymark';

export interface InvoiceInput {
  readonly customer: string;
  readonly cents: number;
}

/** A stand-in for a payment API that honours idempotency keys (as Stripe's and Adyen's do). */
export function charge(ledger: string, idempotencyKey: string, cents: number): string {
  const lines = readLedger(ledger);
  const done = lines.find((l) => l.startsWith(`${idempotencyKey} `));
  if (done !== undefined) return done.split(' ')[2]!;
  const chargeId = `ch_${lines.length + 1}`;
  appendFileSync(ledger, `${idempotencyKey} ${cents} ${chargeId}\n`);
  return chargeId;
}

export function readLedger(ledger: string): string[] {
  try {
    return readFileSync(ledger, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

@Workflow({ name: 'invoice' })
export class InvoiceWorkflow {
  @Step() async charge(ctx: StepContext<InvoiceInput>) {
    process.send?.({ step: 'charge', workflowId: ctx.workflowId });
    // Long enough for the demo to kill this process in the middle of it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return charge(process.env.LEDGER!, `invoice:${ctx.workflowId}`, ctx.input.cents);
  }

  @Step({ waitFor: { event: 'shipped' } }) ship(ctx: StepContext<InvoiceInput, string>) {
    return { chargeId: ctx.previous, tracking: ctx.event<{ tracking: string }>()!.tracking };
  }

  @Step() receipt(ctx: StepContext<InvoiceInput, { chargeId: string; tracking: string }>) {
    return `${ctx.input.customer}: ${ctx.input.cents} cents (${ctx.previous.chargeId}), tracking ${ctx.previous.tracking}`;
  }
}
