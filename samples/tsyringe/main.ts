/**
 * `npx ts-node samples/tsyringe/main.ts`: a workflow resolved from a tsyringe container, with an
 * injected mailer that fails once; the resume sends exactly one email.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { container, injectable, singleton } from 'tsyringe';
import { FileStorage, Step, Workflow, WorkflowRunner, type StepContext } from '../../lib';

@singleton()
export class Mailer {
  failNext = false;
  readonly sent: string[] = [];

  async send(to: string, body: string): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('SMTP timeout (simulated)');
    }
    this.sent.push(`${to}: ${body}`);
  }
}

@injectable()
@Workflow({ name: 'welcome' })
export class WelcomeWorkflow {
  constructor(private readonly mailer: Mailer) {}

  @Step() render(ctx: StepContext<{ email: string; name: string }>) {
    return `Welcome, ${ctx.input.name}!`;
  }

  @Step() async send(ctx: StepContext<{ email: string; name: string }, string>) {
    await this.mailer.send(ctx.input.email, ctx.previous);
    return { sentTo: ctx.input.email };
  }
}

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'waymark-tsyringe-'));
  try {
    container.register(WorkflowRunner, { useValue: new WorkflowRunner({ storage: new FileStorage({ directory }) }) });
    const runner = container.resolve(WorkflowRunner);
    const mailer = container.resolve(Mailer);
    const input = { email: 'ada@example.com', name: 'Ada' };

    mailer.failNext = true;
    await runner.run(container.resolve(WelcomeWorkflow), { workflowId: 'welcome-ada', input }).catch((error: Error) => console.log(`first run failed: ${(error.cause as Error).message}`));
    const result = await runner.run(container.resolve(WelcomeWorkflow), { workflowId: 'welcome-ada', input, resume: true });
    console.log(`resumed: render=${result.steps.render.status}, send=${result.steps.send.status}; emails sent: ${mailer.sent.length}`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
