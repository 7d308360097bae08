/**
 * README's "An incident, step by step", run line by line as it is written there (samples/incident):
 * 300 orders fail at one step, the fix's worker starts, one `waymark resume` with filters retries
 * them all, and they finish, as the CLI and the dashboard's API show.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TS_REGISTER } from './helpers/child';
import { call } from './helpers/http-call';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'bin', 'waymark.js');

/** The walkthrough's command lines, without their comments. */
function walkthrough(): string[] {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- incident-walkthrough -->\n```sh\n([\s\S]*?)```/.exec(text);
  if (block === null) throw new Error('README.md has no incident walkthrough block');
  return block[1]!
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '');
}

/** A command line as the shell would split it: `NAME=value` prefixes, the words, and a trailing `&`. */
function parse(line: string): { env: Record<string, string>; words: string[]; background: boolean } {
  const words = line.split(/\s+/);
  const background = words[words.length - 1] === '&';
  if (background) words.pop();
  const env: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0]!)) {
    const [name, value] = words.shift()!.split('=');
    env[name!] = value!;
  }
  return { env, words, background };
}

interface Started {
  readonly child: ChildProcess;
  /** What it printed on stdout. */
  readonly output: () => string;
  /** What it printed on stderr. */
  readonly errors: () => string;
  readonly done: Promise<number | null>;
}

/** Runs `words` as the walkthrough's shell would: `waymark` is the package's bin, `npx ts-node` runs a sample. */
function start(words: string[], env: Record<string, string>, cwd: string): Started {
  const [command, ...rest] = words;
  const argv = command === 'waymark' ? [BIN, ...rest] : command === 'npx' && rest[0] === 'ts-node' ? ['-r', TS_REGISTER, ...rest.slice(1)] : undefined;
  if (argv === undefined) throw new Error(`the walkthrough runs '${words.join(' ')}', which this spec does not know how to run`);
  const child = spawn(process.execPath, argv, { cwd, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Stdout is what the walkthrough shows; stderr (Node 22 warns that node:sqlite is experimental) is kept for failures.
  let output = '';
  let errors = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (errors += d));
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, output: () => output, errors: () => errors, done };
}

/** Resolves once `started`'s output matches `pattern` (or rejects when it exits first). */
function printed(started: Started, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const look = () => {
      const match = pattern.exec(started.output());
      if (match !== null) {
        started.child.stdout!.off('data', look);
        resolve(match);
      }
    };
    started.child.stdout!.on('data', look);
    look();
    void started.done.then(() => reject(new Error(`exited before printing ${pattern}: ${started.output()}${started.errors()}`)));
  });
}

describe('README: an incident, step by step', function () {
  this.timeout(180_000);
  const dir = join(ROOT, 'samples', 'incident');
  const removeDb = () => ['', '-wal', '-shm'].forEach((suffix) => rmSync(join(dir, `incident.db${suffix}`), { force: true }));
  const background: Started[] = [];
  before(removeDb);
  after(async () => {
    for (const b of background) b.child.kill('SIGTERM');
    await Promise.all(background.map((b) => b.done));
    removeDb();
  });

  it('retries 300 orders failed at one step with one waymark resume, once the fix is deployed, and they finish', async () => {
    const lines = walkthrough();
    expect(lines.map((l) => parse(l).words.slice(0, 2).join(' '))).to.deep.equal(['cd samples/incident', 'npx ts-node', 'waymark list', 'waymark status', 'npx ts-node', 'waymark resume', 'waymark resume', 'waymark list', 'waymark ui']);
    let cwd = ROOT;
    const outputs: string[] = [];
    for (const line of lines) {
      const { env, words, background: inBackground } = parse(line);
      if (words[0] === 'cd') {
        cwd = join(cwd, words[1]!);
        outputs.push('');
        continue;
      }
      const started = start(words, env, cwd);
      if (inBackground || words[1] === 'ui') {
        background.push(started);
        outputs.push('');
        if (words[1] === 'ui') outputs[outputs.length - 1] = (await printed(started, /http:\/\/127\.0\.0\.1:\d+\/#token=\S+/))[0];
        else await printed(started, /worker for release 2 started/);
        continue;
      }
      const code = await started.done;
      expect(code, `${line}\n${started.output()}${started.errors()}`).to.equal(0);
      outputs.push(started.output());
      // The list of completed orders comes once the worker has run them: the walkthrough says "within seconds".
      if (line.includes('--status completed')) {
        for (let tries = 0; outputs[outputs.length - 1]!.trim().split('\n').length < 300 && tries < 120; tries++) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          const again = start(words, env, cwd);
          await again.done;
          outputs[outputs.length - 1] = again.output();
        }
      }
    }
    const [, placed, failed, status, , dryRun, resumed, completed, ui] = outputs;
    expect(placed).to.equal('300 orders placed, 300 failed\n');
    expect(failed!.trim().split('\n')).to.have.length(300).and.include('order-1').and.include('order-300');
    expect(status).to.contain("error        PAYMENT_BAD_AMOUNT in step 'charge': payment API refused amount '1257' (expected e.g. 12.50)");
    expect(status).to.match(/\n\s+at Order\.charge \(.*order\.ts:\d+:\d+\)/);
    expect(dryRun).to.contain('\n300 runs would be requested (--yes asks for them)\n');
    expect(resumed).to.contain('\n300 runs requested: the next worker that has their class runs them');
    expect(completed!.trim().split('\n')).to.have.length(300);

    // The dashboard says the same, and each order's steps: 'reserve' from the first run, 'charge' from the retry.
    const url = new URL(ui!);
    const token = url.hash.slice('#token='.length);
    let cursor: string | undefined;
    let seen = 0;
    do {
      const page = await call(Number(url.port), 'GET', `/api/workflows?status=completed&name=order&limit=100${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, { token });
      seen += (page.json.items as unknown[]).length;
      cursor = page.json.cursor as string | undefined;
    } while (cursor !== undefined);
    expect(seen).to.equal(300);
    const view = (await call(Number(url.port), 'GET', '/api/workflows/order-7', { token })).json as { steps: { name: string; state: string; attempts: number; committedAt: string; startedAt: string }[] };
    const [reserve, charge, confirm] = view.steps;
    expect([reserve, charge, confirm].map((s) => [s!.name, s!.state, s!.attempts])).to.deep.equal([['reserve', 'committed', 1], ['charge', 'committed', 1], ['confirm', 'committed', 1]]);
    expect(Date.parse(charge!.startedAt), "'charge' ran after the fix, 'reserve' before the incident").to.be.greaterThan(Date.parse(reserve!.committedAt));
  });
});
