/**
 * Loads `.ts` files in the child processes the specs start (`node -r ./spec/helpers/ts-register.js`).
 *
 * ts-node (which the mocha process uses) transpiles every file again in every process: about a
 * second of CPU per child for the library alone, and the crash rounds start hundreds of children.
 * This hook transpiles a file once per content, tsconfig and TypeScript version, and keeps the
 * JavaScript in a cache under the temp directory; a child whose files are cached never loads
 * TypeScript at all. Output is what ts-node's transpile-only mode gives (the same `transpileModule`
 * with the project's tsconfig), with inline source maps, which Node applies to stack traces.
 */
'use strict';
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');

const ROOT = join(__dirname, '..', '..');
const CACHE = join(tmpdir(), `waymark-ts-cache-${typeof process.getuid === 'function' ? process.getuid() : 'user'}`);
const TSCONFIG = join(ROOT, 'tsconfig.json');
const SALT = [readFileSync(TSCONFIG, 'utf8'), require('typescript/package.json').version, 'v2'].join('\0');

let ts;
let compilerOptions;
function transpile(source, filename) {
  if (compilerOptions === undefined) {
    ts = require('typescript');
    const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(TSCONFIG, ts.sys.readFile).config, ts.sys, ROOT);
    compilerOptions = { ...parsed.options, outDir: undefined, rootDir: undefined, sourceMap: false, inlineSourceMap: true, inlineSources: true, declaration: false, noEmit: false };
  }
  return ts.transpileModule(source, { fileName: filename, compilerOptions }).outputText;
}

require.extensions['.ts'] = function load(module, filename) {
  const source = readFileSync(filename, 'utf8');
  const key = createHash('sha256').update(SALT).update('\0').update(filename).update('\0').update(source).digest('hex');
  const cached = join(CACHE, key.slice(0, 2), `${key}.js`);
  let code;
  try {
    code = readFileSync(cached, 'utf8');
  } catch {
    code = transpile(source, filename);
    // Written under a name of its own, then renamed: a concurrent reader sees all of it or nothing.
    mkdirSync(dirname(cached), { recursive: true });
    const temp = `${cached}.${process.pid}.tmp`;
    writeFileSync(temp, code);
    renameSync(temp, cached);
  }
  module._compile(code, filename);
};
process.setSourceMapsEnabled(true);
