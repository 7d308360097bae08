/**
 * Workflows the compiler checks (lib/workflow-types.ts): spec/fixtures/typed-workflow.ts compiles in
 * both decorator modes, and each of its `@ts-expect-error` lines fails for the reason it quotes once
 * the directives are taken out. Then the same workflows run: the types cost nothing at run time.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import ts from 'typescript';
import { MemoryStorage } from '../lib/storage/memory-storage';
import { WorkflowRunner } from '../lib/runner/workflow-runner';
import { TypedOrder, typedRuns, Untyped } from './fixtures/typed-workflow';

const FIXTURE = join(__dirname, 'fixtures', 'typed-workflow.ts');
const DIRECTIVE = /\/\/ @ts-expect-error: (.+)$/;

/** The fixture's errors by line (1-based), compiled in `mode`, its text changed by `edit`. */
function errors(mode: 'legacy' | 'standard', edit: (text: string) => string = (text) => text): Map<number, string[]> {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
    ...(mode === 'legacy' ? { experimentalDecorators: true, emitDecoratorMetadata: true } : {}),
  };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  host.readFile = (file) => (file === FIXTURE ? edit(read(file)!) : read(file));
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, language, onError) => (file === FIXTURE ? ts.createSourceFile(file, host.readFile(file)!, language, true) : getSourceFile(file, language, onError));
  const program = ts.createProgram([FIXTURE], options, host);
  const source = program.getSourceFile(FIXTURE)!;
  const byLine = new Map<number, string[]>();
  for (const diagnostic of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
    const line = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1;
    byLine.set(line, [...(byLine.get(line) ?? []), ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')]);
  }
  return byLine;
}

/** The lines after each `@ts-expect-error` directive (1-based), with the reason it quotes for `mode` (`legacy: …; standard: …` where they differ). */
function expectations(text: string, mode: 'legacy' | 'standard'): Map<number, string> {
  const expected = new Map<number, string>();
  text.split('\n').forEach((line, index) => {
    const match = DIRECTIVE.exec(line.trim());
    if (match === null) return;
    const perMode = /^legacy: (.+); standard: (.+)$/.exec(match[1]);
    expected.set(index + 2, perMode === null ? match[1] : perMode[mode === 'legacy' ? 1 : 2]);
  });
  return expected;
}

describe('workflows the compiler checks', function () {
  // Each compilation type-checks waymark's sources too.
  this.timeout(120_000);
  const text = ts.sys.readFile(FIXTURE)!;

  it('finds the directives it checks', () => {
    expect(expectations(text, 'legacy').size).to.equal(8);
  });

  for (const mode of ['legacy', 'standard'] as const) {
    describe(`with ${mode} decorators`, () => {
      // With the directives out, exactly their lines fail, each for its reason: so with them in, the
      // file compiles (what `npm run typecheck` checks in legacy mode), and no directive is idle.
      it('fails each @ts-expect-error line for the reason it quotes, and compiles every other line', () => {
        const found = errors(mode, (source) => source.split('\n').map((line) => (DIRECTIVE.test(line.trim()) ? '' : line)).join('\n'));
        const expected = expectations(text, mode);
        expect([...found.keys()].sort((a, b) => a - b)).to.deep.equal([...expected.keys()]);
        for (const [line, reason] of expected) expect(found.get(line)!.join('\n'), `line ${line}`).to.contain(reason);
      });
    });
  }

  it('runs the typed workflows as any other: the types cost nothing at run time', async () => {
    const runner = new WorkflowRunner({ storage: new MemoryStorage(), workflows: [TypedOrder, Untyped] });
    expect(await typedRuns(runner)).to.deep.equal({ receipt: { id: 'typed-1', total: 5 }, untyped: 8 });
  });
});
