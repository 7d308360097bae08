import 'reflect-metadata';
import { Step } from '../decorators';
import { WorkflowRunner } from '../lib';
import type { StepContext } from '../lib/runner/step-context';
import { freshSchema } from '../spec/helpers/postgres';
const N = Number(process.env.N ?? 3000);
async function main() {
  const pg = await freshSchema(10);
  for (const c of [50]) {
    class Items {
      @Step({ forEach: () => Array.from({ length: N }, (_, i) => i), concurrency: c })
      each(ctx: StepContext) { return (ctx.item as number) * 2; }
    }
    const started = Date.now();
    await new WorkflowRunner({ storage: pg.storage, tracer: false, concurrency: 50 }).run(new Items(), { workflowId: `w${c}` });
    console.log(c, Math.round(N / ((Date.now() - started) / 1000)), 'items/s');
  }
  await pg.drop();
  process.exit(0);
}
void main();
