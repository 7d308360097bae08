/**
 * `npx ts-node samples/booking-saga/main.ts`: a booking saga. It holds a seat, charges a card and
 * issues a ticket; when the tickets are sold out, the charge is refunded and the seat released, each
 * once, and the workflow ends 'compensated'. Then retention deletes what ended.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage, Step, Workflow, WorkflowFailedError, WorkflowRunner, type CompensationContext, type StepContext } from '../../lib';

interface Booking {
  readonly seat: string;
  readonly card: string;
  readonly cents: number;
}
interface Hold {
  readonly holdId: string;
}
interface Charge {
  readonly chargeId: string;
}

/** A payment service that answers a repeated idempotency key with the first answer, as real ones do. */
class Payments {
  readonly ledger: string[] = [];
  private readonly seen = new Map<string, string>();

  async charge(card: string, cents: number, key: string): Promise<Charge> {
    const known = this.seen.get(key);
    if (known !== undefined) return { chargeId: known };
    const chargeId = `ch_${this.seen.size + 1}`;
    this.seen.set(key, chargeId);
    this.ledger.push(`charge ${chargeId} ${card} ${cents}`);
    return { chargeId };
  }

  async refund(chargeId: string, key: string): Promise<void> {
    if (this.seen.has(key)) return;
    this.seen.set(key, chargeId);
    this.ledger.push(`refund ${chargeId}`);
  }
}

const payments = new Payments();
const seats = new Set<string>();
let ticketsLeft = 1;

@Workflow({ name: 'booking' })
export class BookingFlow {
  @Step({ compensate: 'releaseSeat' })
  reserve(ctx: StepContext<Booking>): Hold {
    seats.add(ctx.input.seat);
    return { holdId: `hold-${ctx.input.seat}` };
  }

  @Step({ compensate: 'refund', compensateRetry: { attempts: 5, delayMs: 100, backoff: 2 } })
  charge(ctx: StepContext<Booking>): Promise<Charge> {
    return payments.charge(ctx.input.card, ctx.input.cents, `${ctx.workflowId}:charge`);
  }

  @Step({ after: ['reserve', 'charge'] })
  issue(ctx: StepContext<Booking>) {
    if (ticketsLeft === 0) throw Object.assign(new Error('sold out'), { code: 'SOLD_OUT' });
    ticketsLeft--;
    return { ticket: `T-${ctx.input.seat}`, hold: ctx.result<Hold>('reserve').holdId };
  }

  releaseSeat(ctx: CompensationContext<Booking, Hold>): void {
    seats.delete(ctx.input.seat);
    console.log(`  undo reserve: released ${ctx.output.holdId} (because ${ctx.error.step} failed: ${String((ctx.error.cause as Error).message)})`);
  }

  async refund(ctx: CompensationContext<Booking, Charge>): Promise<void> {
    await payments.refund(ctx.output.chargeId, `${ctx.workflowId}:refund`);
    console.log(`  undo charge: refunded ${ctx.output.chargeId}`);
  }
}

async function book(runner: WorkflowRunner, workflowId: string, input: Booking): Promise<void> {
  try {
    const result = await runner.run(new BookingFlow(), { workflowId, input, resume: true });
    console.log(`${workflowId}: booked ${JSON.stringify(result.output)}`);
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    const undone = Object.entries(error.result.steps).flatMap(([step, r]) => (r.compensation ? [`${step}=${r.compensation.status}`] : []));
    console.log(`${workflowId}: ${error.result.status} (${undone.join(', ')})`);
  }
}

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'waymark-saga-'));
  try {
    const runner = new WorkflowRunner({ storage: new SqliteStorage({ path: join(directory, 'waymark.db') }), workflows: [BookingFlow], tracer: false });
    await book(runner, 'booking-1', { seat: '12A', card: '4242', cents: 9900 });
    await book(runner, 'booking-2', { seat: '12B', card: '5555', cents: 9900 });
    // A queue delivering booking-2 again: its outcome stands, nothing is charged or refunded again.
    await book(runner, 'booking-2', { seat: '12B', card: '5555', cents: 9900 });
    console.log(`ledger: ${payments.ledger.join('; ')}`);
    console.log(`seats held: ${[...seats].join(', ')}`);
    console.log(`booking-2 is ${(await runner.get('booking-2'))?.status}`);

    // Retention: what ended goes (here at once; in production after, say, 30 days).
    const preview = await runner.prune({ olderThan: 0, dryRun: true });
    console.log(`would prune: ${preview.workflowIds.join(', ')}`);
    const pruned = await runner.prune({ olderThan: 0 });
    console.log(`pruned ${pruned.workflowIds.length}; left: ${(await runner.list()).items.length}`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
