/**
 * The sample workflow: extract an order's rows, transform them, load them into a warehouse.
 * The warehouse is a stand-in that can be told to fail, so the demo can show a crash and a resume.
 */
import 'reflect-metadata';
import { IsOptional, IsString } from 'class-validator';
import { Fingerprint, Step, Workflow, type StepContext } from '../../lib';

/** The job payload as it arrives from the queue. */
export class OrderInput {
  @IsString() customerId!: string;
  @IsOptional() @IsString() requestId?: string;
}

export interface Row {
  sku: string;
  cents: number;
}

/** A warehouse client; `failNextLoad` simulates an outage. */
export class Warehouse {
  failNextLoad = false;
  readonly loaded: Row[][] = [];

  async save(rows: Row[]): Promise<number> {
    if (this.failNextLoad) {
      this.failNextLoad = false;
      throw new Error('warehouse unavailable (simulated outage)');
    }
    this.loaded.push(rows);
    return rows.length;
  }
}

@Workflow({ name: 'order-etl', input: OrderInput })
@Fingerprint({ exclude: ['requestId'] })
export class OrderEtl {
  constructor(
    private readonly warehouse: Warehouse,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  @Step()
  async extract(ctx: StepContext<OrderInput>): Promise<Row[]> {
    this.log(`    extract: reading orders of ${ctx.input.customerId}`);
    return [
      { sku: `${ctx.input.customerId}-A`, cents: 1250 },
      { sku: `${ctx.input.customerId}-B`, cents: 399 },
    ];
  }

  @Step()
  async transform(ctx: StepContext<OrderInput, Row[]>): Promise<Row[]> {
    this.log(`    transform: pricing ${ctx.previous.length} rows`);
    return ctx.previous.map((row) => ({ ...row, cents: Math.round(row.cents * 1.2) }));
  }

  @Step()
  async load(ctx: StepContext<OrderInput, Row[]>): Promise<number> {
    this.log(`    load: writing ${ctx.previous.length} rows`);
    return this.warehouse.save(ctx.previous);
  }
}
