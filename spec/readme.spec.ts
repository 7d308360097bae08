import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..');

/** The ```ts blocks of README.md, each compiled as its own module against the real library. */
function readmeBlocks(): { name: string; code: string }[] {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m, i) => ({ name: join(ROOT, 'spec', `__readme_block_${i + 1}.ts`), code: m[1] }));
}

describe('README.md', function () {
  this.timeout(60_000);

  it('has TypeScript examples, and every one compiles', () => {
    const blocks = readmeBlocks();
    expect(blocks.length).to.be.greaterThan(5);
    const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
    const virtual = new Map(blocks.map((b) => [b.name, b.code]));
    const host = ts.createCompilerHost({ ...options, noEmit: true });
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (file, language, onError, create) =>
      virtual.has(file) ? ts.createSourceFile(file, virtual.get(file)!, language, true) : getSourceFile(file, language, onError, create);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (file) => virtual.has(file) || fileExists(file);
    const program = ts.createProgram({ rootNames: [...virtual.keys()], options: { ...options, noEmit: true, noUnusedLocals: false }, host });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || virtual.has(d.file.fileName))
      .map((d) => {
        const where = d.file ? `${d.file.fileName.replace(/.*__readme_block_/, 'README block ')}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
        return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems).to.deep.equal([]);
  });

  it('gives the two commands a fresh clone needs', () => {
    const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(text).to.contain('npm ci && npm run demo').and.contain('npm test');
  });
});
