/**
 * The same workflow source compiled by the TypeScript compiler with legacy decorators
 * (`experimentalDecorators`) and with TC39 standard decorators (TypeScript 5's default, as tsx and
 * esbuild emit them), then run.
 */
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ts from 'typescript';
import { WorkflowDefinitionError } from '../../lib/errors';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { buildGraph } from '../../lib/graph';
import type { Constructor } from '../../lib/metadata';
import { tempDir } from '../helpers/temp-dir';

const WAYMARK = join(__dirname, '..', '..', 'lib', 'index.ts');

const SOURCE = `
import { Fingerprint, OnInputChange, Step, Workflow, type StepContext } from ${JSON.stringify(WAYMARK)};

export const calls: string[] = [];

@Workflow({ name: 'shipping' })
@OnInputChange('raise')
@Fingerprint({ exclude: ['requestId'] })
export class Shipping {
  @Step() pick(ctx: StepContext<{ items: number; requestId?: string }>) {
    calls.push('pick');
    return ctx.input.items;
  }
  @Step({ after: [] }) label() {
    calls.push('label');
    return 'LBL';
  }
  @Step({ after: ['pick', 'label'], name: 'ship' }) send(ctx: StepContext) {
    calls.push('ship');
    return \`\${ctx.result<string>('label')}:\${ctx.result<number>('pick')}\`;
  }
}

export class Express extends Shipping {
  @Step() notify(ctx: StepContext<unknown, string>) {
    calls.push('notify');
    return 'notified ' + ctx.previous;
  }
}
`;

type Compiled = { Shipping: Constructor & (new () => object); Express: Constructor & (new () => object); calls: string[] };

async function compile(dir: string, mode: 'legacy' | 'standard', source = SOURCE): Promise<Compiled> {
  const options: ts.CompilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true };
  if (mode === 'legacy') Object.assign(options, { experimentalDecorators: true, emitDecoratorMetadata: true });
  const { outputText, diagnostics } = ts.transpileModule(source, { compilerOptions: options, reportDiagnostics: true });
  expect(diagnostics ?? []).to.deep.equal([]);
  if (mode === 'standard') expect(outputText).to.contain('__esDecorate', 'compiled as standard decorators');
  else expect(outputText).to.contain('__decorate(', 'compiled as legacy decorators');
  const file = join(dir, `workflow-${mode}-${Math.random().toString(36).slice(2)}.js`);
  await writeFile(file, outputText);
  return require(file) as Compiled;
}

describe('decorator modes', () => {
  let dir: { path: string; remove: () => Promise<void> };
  before(async () => {
    dir = await tempDir();
  });
  after(() => dir.remove());

  for (const mode of ['legacy', 'standard'] as const) {
    it(`${mode} decorators: the graph, names, options and inheritance are recorded, and the workflow runs and resumes`, async () => {
      const { Shipping, Express, calls } = await compile(dir.path, mode);
      const graph = buildGraph(Shipping);
      expect(graph.workflowName).to.equal('shipping');
      expect(graph.steps.map((s) => [s.name, s.after])).to.deep.equal([
        ['pick', []],
        ['label', []],
        ['ship', ['pick', 'label']],
      ]);
      expect(buildGraph(Express).steps.map((s) => s.name)).to.deep.equal(['pick', 'label', 'ship', 'notify']);

      const runner = new WorkflowRunner({ storage: new MemoryStorage() });
      const result = await runner.run(new Express(), { workflowId: 'w', input: { items: 3, requestId: 'a' } });
      expect(result.output).to.equal('notified LBL:3');
      expect([...calls].sort()).to.deep.equal(['label', 'notify', 'pick', 'ship']);
      // @Fingerprint excludes requestId, @OnInputChange('raise') refuses a real change.
      const same = await runner.run(new Express(), { workflowId: 'w', input: { items: 3, requestId: 'b' }, resume: true });
      expect(same.steps.pick.status).to.equal('restored');
      const changed = await runner.run(new Express(), { workflowId: 'w', input: { items: 4 }, resume: true }).catch((e: unknown) => e);
      expect((changed as { code?: string }).code).to.equal('WAYMARK_INPUT_CHANGED');
      if (mode === 'legacy') expect(Reflect.getMetadata('design:paramtypes', Shipping)).to.equal(undefined, 'no constructor parameters');
    });
  }

  it('standard decorators: @Step() on a getter, a static or a private method is a definition error naming it', async () => {
    for (const [member, what] of [
      ['@Step() get value() { return 1; }', 'a getter'],
      ['@Step() static run() { return 1; }', 'a static method'],
      ['@Step() #hidden() { return 1; }', 'a private (#) method'],
    ]) {
      const source = `import { Step } from ${JSON.stringify(WAYMARK)};\nexport class Bad { ${member} @Step() ok() { return 1; } }\nexport const Shipping = Bad, Express = Bad, calls = [];`;
      const error = await compile(dir.path, 'standard', source).catch((e: unknown) => e);
      expect(error, what).to.be.instanceOf(WorkflowDefinitionError);
      expect((error as Error).message).to.contain(what);
    }
  });
});
