/**
 * waymark runs on the Node.js versions package.json's engines claim, README states the same, and
 * loading it (the package, any subpath, the CLI) on another version fails at once, saying which.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { UnsupportedNodeError } from '../lib/errors';
import { assertSupportedNode, isSupportedNode, SUPPORTED_NODE } from '../lib/node-version';

const ROOT = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };

/** Runs `script` in a Node that says it is version `version` (process.versions.node), from the built dist/. */
function asNode(version: string, args: string[]): Promise<{ code: number; stderr: string }> {
  const fake = `Object.defineProperty(process.versions, 'node', { value: ${JSON.stringify(version)} });`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', `${fake}\n${args[0]}`, ...args.slice(1)], { cwd: ROOT }, (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }));
  });
}

describe('node-version', () => {
  it('supports exactly what engines claims', () => {
    expect(SUPPORTED_NODE).to.equal(pkg.engines.node);
    for (const version of ['18.20.0', '20.20.2', '21.7.0', '22.0.0', '22.12.9', '22.13.0', '22.18.0', '23.11.1', '24.0.0', '24.11.0', '25.2.0', '26.0.0']) {
      expect(isSupportedNode(version), version).to.equal(semver.satisfies(version, pkg.engines.node));
    }
    expect(isSupportedNode(process.versions.node), 'the suite itself runs on a supported Node').to.equal(true);
  });

  it('README states the versions engines claims', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).to.contain('Node.js 22.13 or newer, or 24 or newer');
    expect(readme, 'no other minimum').to.not.match(/22\.18|24\.11/);
  });

  it('refuses an unsupported Node with a typed error naming both versions and what to do', () => {
    expect(() => assertSupportedNode('24.11.0')).to.not.throw();
    let error: unknown;
    try {
      assertSupportedNode('20.20.2');
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(UnsupportedNodeError);
    expect(error).to.include({ code: 'WAYMARK_UNSUPPORTED_NODE', version: '20.20.2', supported: pkg.engines.node });
    expect((error as Error).message).to.contain('npx --package node@24');
  });

  it('fails at load on Node 20, from the package, a subpath and the CLI', async () => {
    for (const entry of ['./dist/lib/index.js', './dist/lib/storage/postgres/index.js', './dist/lib/testing/index.js']) {
      const { code, stderr } = await asNode('20.20.2', [`require(${JSON.stringify(entry)})`]);
      expect(code, entry).to.equal(1);
      expect(stderr, entry).to.contain('waymark needs Node.js ^22.13.0 || >=24; this is Node.js 20.20.2');
    }
    const cli = await asNode('20.20.2', ["process.argv.splice(1, 0, 'waymark'); require('./bin/waymark.js')", 'list']);
    expect(cli.code).to.equal(1);
    expect(cli.stderr).to.contain('WAYMARK_UNSUPPORTED_NODE');
    expect((await asNode(process.versions.node, ["require('./dist/lib/index.js')"])).code).to.equal(0);
  });
});
