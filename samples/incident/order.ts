/**
 * The incident walkthrough's workflow (README "An incident, step by step"): an order reserves its
 * stock, charges the card, and confirms. Release 1 has a bug in `charge` (it sends cents where the
 * payment API wants a decimal amount, and the API refuses); release 2 (`RELEASE=2`) is the fix. The
 * same workflow, same version: the fix changes the step's code, not the graph, so the failed runs
 * are simply retried from their failed step.
 */
import { Step, Workflow, type StepContext } from '../../lib';

export interface OrderInput {
  readonly orderId: string;
  readonly cents: number;
}

/** The payment API: it takes a decimal amount, and refuses one that is not. */
function chargeCard(orderId: string, amount: string): string {
  if (!/^\d+\.\d\d$/.test(amount)) throw Object.assign(new Error(`payment API refused amount '${amount}' (expected e.g. 12.50)`), { code: 'PAYMENT_BAD_AMOUNT' });
  return `ch_${orderId}`;
}

@Workflow({ name: 'order' })
export class Order {
  @Step() reserve(ctx: StepContext<OrderInput>) {
    return { reservation: `res_${ctx.input.orderId}` };
  }

  @Step() charge(ctx: StepContext<OrderInput>) {
    const { orderId, cents } = ctx.input;
    // Release 1's bug: the amount in cents. Release 2 formats it as the API wants.
    const amount = process.env.RELEASE === '2' ? (cents / 100).toFixed(2) : String(cents);
    return { chargeId: chargeCard(orderId, amount) };
  }

  @Step() confirm(ctx: StepContext<OrderInput>) {
    return `order ${ctx.input.orderId} confirmed`;
  }
}
