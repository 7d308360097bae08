/**
 * The package as users get it: engines that every dependency honours, and the packed tarball
 * installed (with --engine-strict) into throwaway CommonJS and ESM projects that type-check and run a
 * workflow. Needs the build (npm test builds first) and the packages in npm's cache from `npm ci`.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { tempDir } from './helpers/temp-dir';

const ROOT = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { cwd, env: { ...process.env, NODE_OPTIONS: '' }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

/** The workflow every consumer project runs: one step per decorator use, its output printed. */
const WORKFLOW = (importLine: string) => `${importLine}

@Workflow({ name: 'greeting' })
class Greeting {
  @Step() hello(ctx: StepContext<{ name: string }>) {
    return 'hello ' + ctx.input.name;
  }
  @Step() shout(ctx: StepContext<{ name: string }, string>) {
    return ctx.previous.toUpperCase();
  }
}

const storage: CheckpointStorage = new MemoryStorage();
const contract: typeof describeStorageContract | undefined = undefined;
void contract;
new WorkflowRunner({ storage })
  .run(new Greeting(), { workflowId: 'g-1', input: { name: 'ada' } })
  .then((result) => console.log(JSON.stringify({ output: result.output, status: result.status })));
`;

describe('the package as installed', function () {
  this.timeout(180_000);

  it(`claims Node ${pkg.engines.node}, and every dependency in the lock accepts every such Node`, () => {
    expect(semver.minVersion(pkg.engines.node)!.major, 'Node 20 reached end of life in April 2026').to.be.at.least(22);
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
    const refusing = Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)
      .filter(([path, entry]) => path !== '' && typeof entry.engines?.node === 'string')
      .filter(([, entry]) => !semver.subset(pkg.engines.node, entry.engines!.node!))
      .map(([path, entry]) => `${path.replace(/^.*node_modules\//, '')} wants ${entry.engines!.node}`);
    expect(refusing).to.deep.equal([]);
  });

  it('runs on a Node it claims', () => {
    expect(semver.satisfies(process.versions.node, pkg.engines.node), `this is Node ${process.versions.node}; run the suite on Node ${pkg.engines.node} (e.g. npx -p node@22 -- npm test)`).to.equal(true);
  });

  it('ships the build, the bin and a LICENSE, and no source maps pointing at sources it does not ship', async () => {
    const listing = JSON.parse(await run('npm', ['pack', '--dry-run', '--json'], ROOT))[0].files.map((f: { path: string }) => f.path) as string[];
    expect(listing).to.include.members(['LICENSE', 'package.json', 'README.md', 'bin/waymark.js', 'dist/lib/index.js', 'dist/lib/index.d.ts']);
    expect(listing.filter((f) => f.endsWith('.map'))).to.deep.equal([]);
    expect(listing.filter((f) => f.startsWith('lib/') || f.startsWith('spec/'))).to.deep.equal([]);
  });

  describe('installed from its tarball with --engine-strict', () => {
    let dir: { path: string; remove: () => Promise<void> };
    let tarball: string;
    before(async () => {
      dir = await tempDir('waymark-pack-');
      const packed = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', dir.path], ROOT));
      tarball = join(dir.path, packed[0].filename);
    });
    after(() => dir.remove());

    async function project(name: string, packageJson: object, tsconfig: object, source: string, peers: string[] = []): Promise<string> {
      const root = join(dir.path, name);
      await mkdir(join(root, 'src'), { recursive: true });
      await writeFile(join(root, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...packageJson }));
      await writeFile(join(root, 'tsconfig.json'), JSON.stringify(tsconfig));
      await writeFile(join(root, 'src', 'index.ts'), source);
      const versioned = ['reflect-metadata', '@types/node', ...peers].map((peer) => `${peer}@${pkg.devDependencies[peer]}`);
      await run('npm', ['install', '--engine-strict', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', tarball, ...versioned], root);
      await run(process.execPath, [TSC, '-p', '.'], root);
      return (await run(process.execPath, [join(root, 'dist', 'index.js')], root)).trim();
    }

    const imports = (withPeers: boolean) => `import 'reflect-metadata';
import { MemoryStorage, Step, Workflow, WorkflowRunner, type CheckpointStorage, type StepContext } from 'waymark';
import { describeStorageContract } from 'waymark/testing';
// Type-checks without pg installed: the storage takes any object with a Pool's query and connect.
import type { PostgresStorageOptions } from 'waymark/postgres';
export type PostgresOptions = PostgresStorageOptions;
import { createDashboard, type DashboardOptions } from 'waymark/dashboard';
export const mountDashboard = (options: DashboardOptions) => createDashboard(options);
${withPeers ? `import type { S3StorageOptions } from 'waymark/s3';\nimport type { WaymarkModule } from 'waymark/nestjs';\nimport type { QueueWorkerOptions } from 'waymark/bullmq';\nexport type Peers = [S3StorageOptions, typeof WaymarkModule, QueueWorkerOptions];` : ''}`;
    const expected = JSON.stringify({ output: 'HELLO ADA', status: 'completed' });

    it('a CommonJS project (moduleResolution node10, legacy decorators) type-checks every subpath (with the peers waymark/s3, waymark/nestjs and waymark/bullmq need) and runs a workflow', async () => {
      const compilerOptions = {
        target: 'ES2022', module: 'commonjs', moduleResolution: 'node10', strict: true, outDir: 'dist', rootDir: 'src',
        experimentalDecorators: true, emitDecoratorMetadata: true, types: ['node'], skipLibCheck: false,
      };
      const peers = ['@aws-sdk/client-s3', '@nestjs/common', '@nestjs/core', 'rxjs', 'bullmq', 'ioredis'];
      const output = await project('consumer-cjs', { type: 'commonjs' }, { compilerOptions, include: ['src'] }, WORKFLOW(imports(true)), peers);
      expect(output).to.equal(expected);
    });

    it('an ESM project (module nodenext, standard decorators) type-checks its imports, without optional peers, and runs a workflow', async () => {
      const compilerOptions = { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, outDir: 'dist', rootDir: 'src', types: ['node'], skipLibCheck: false };
      const output = await project('consumer-esm', { type: 'module' }, { compilerOptions, include: ['src'] }, WORKFLOW(imports(false)));
      expect(output).to.equal(expected);
    });
  });
});
