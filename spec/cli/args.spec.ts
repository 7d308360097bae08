/**
 * Strict command lines: every command refuses unknown options, values given to flags, missing
 * values and extra arguments with exit 2 and a suggestion, before it opens the store or touches a
 * workflow.
 */
import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { Step } from '../../decorators';
import { parseCommandArgs, suggestOption, UsageError } from '../../lib/cli/args';
import { main } from '../../lib/cli/main';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { tempDir } from '../helpers/temp-dir';

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    stdin: new PassThrough(),
    cwd: process.cwd(),
  });
  return { code, stdout, stderr };
}

class Done {
  @Step() only() {
    return 1;
  }
}

describe('cli/args', () => {
  let dir: string;
  let store: string;
  let remove: () => Promise<void>;
  afterEach(() => remove());
  beforeEach(async () => {
    ({ path: dir, remove } = await tempDir());
    store = `file:${dir}`;
    const runner = new WorkflowRunner({ storage: new FileStorage({ directory: dir }), tracer: false });
    await runner.run(new Done(), { workflowId: 'kept' });
  });

  it('refuses a misspelt --dry-run with exit 2 and a suggestion, and prunes nothing', async () => {
    const { code, stderr } = await cli(['prune', '--store', store, '--older-than', '0', '--dryrun', '--yes']);
    expect(code).to.equal(2);
    expect(stderr).to.contain("unknown option '--dryrun'").and.contain('did you mean --dry-run?');
    const runner = new WorkflowRunner({ storage: new FileStorage({ directory: dir }), tracer: false });
    expect((await runner.get('kept'))?.status).to.equal('completed');
  });

  it('refuses a misspelt option on every command', async () => {
    const cases: [string[], string][] = [
      [['list', '--store', store, '--sttaus', 'failed'], '--status'],
      [['status', 'kept', '--store', store, '--jsno'], '--json'],
      [['clear', 'kept', '--store', store, '--yse'], '--yes'],
      [['prune', '--store', store, '--older-then', '1d'], '--older-than'],
      [['send-event', 'kept', 'go', '--store', store, '--event_id', 'e1'], '--event-id'],
      [['graph', 'samples/order-etl/order-etl.ts', 'OrderEtl', '--txt'], '--text'],
      [['ui', '--store', store, '--prot', '4100'], '--port'],
    ];
    for (const [argv, meant] of cases) {
      const { code, stderr } = await cli(argv);
      expect(code, argv.join(' ')).to.equal(2);
      expect(stderr, argv.join(' ')).to.contain(`did you mean ${meant}?`).and.contain('usage:');
    }
    expect((await cli(['status', 'kept', '--store', store, '--frobnicate'])).stderr).to.contain("unknown option '--frobnicate'").and.not.contain('did you mean');
  });

  it('refuses extra positional arguments, naming them', async () => {
    const cases: string[][] = [
      ['list', 'extra', '--store', store],
      ['status', 'kept', 'other', '--store', store],
      ['clear', 'kept', 'other', '--store', store, '--yes'],
      ['prune', 'now', '--store', store, '--older-than', '0', '--yes'],
      ['send-event', 'kept', 'go', 'more', '--store', store],
      ['graph', 'samples/order-etl/order-etl.ts', 'OrderEtl', 'Extra'],
      ['ui', 'x', '--store', store],
    ];
    for (const argv of cases) {
      const { code, stderr } = await cli(argv);
      expect(code, argv.join(' ')).to.equal(2);
      expect(stderr, argv.join(' ')).to.match(/takes (no arguments|\d arguments?).*unexpected: '/);
    }
    const runner = new WorkflowRunner({ storage: new FileStorage({ directory: dir }), tracer: false });
    expect((await runner.get('kept'))?.status, 'clear with an extra argument cleared nothing').to.equal('completed');
  });

  it('uses exit 2 for bad option values, missing values and values given to flags', async () => {
    const cases: [string[], string][] = [
      [['list', '--store', store, '--status', 'faild'], "did you mean failed?"],
      [['prune', '--store', store, '--older-than', '3 fortnights'], 'a duration'],
      [['prune', '--store', store, '--older-than', '1d', '--status', 'running'], 'is not one of completed, failed, cancelled, compensated'],
      [['list', '--store'], '--store needs a value'],
      [['list', '--store', store, '--json=yes'], '--json takes no value'],
      [['ui', '--store', store, '--port', 'http'], 'is not a port number'],
      [['send-event', 'kept', 'go', '--store', store, '--payload', '{x'], '--payload is not JSON'],
    ];
    for (const [argv, message] of cases) {
      const { code, stderr } = await cli(argv);
      expect(code, argv.join(' ')).to.equal(2);
      expect(stderr, argv.join(' ')).to.contain(message);
    }
  });

  it('refuses unknown commands and options before a command, with a suggestion', async () => {
    expect(await cli(['lsit'])).to.include({ code: 2 }).and.satisfy((r: { stderr: string }) => r.stderr.includes('did you mean list?'));
    const typo = await cli(['--verison']);
    expect(typo.code).to.equal(2);
    expect(typo.stderr).to.contain('did you mean --version?');
    expect((await cli(['--help', 'list'])).code).to.equal(2);
    expect((await cli(['list', '--help'])).code).to.equal(0);
    expect((await cli(['--version'])).code).to.equal(0);
  });

  it('parses --name value, --name=value and flags into the same shape as before', () => {
    const parsed = parseCommandArgs('send-event', ['wf', '--store=file:x', 'go', '--event-id', 'e1', '--json'], { valued: ['store', 'event-id', 'payload'], flags: ['json'], positionals: ['workflowId', 'event'] });
    expect(parsed.positionals).to.deep.equal(['send-event', 'wf', 'go']);
    expect([...parsed.options]).to.deep.equal([['store', 'file:x'], ['event-id', 'e1']]);
    expect([...parsed.flags]).to.deep.equal(['json']);
    expect(() => parseCommandArgs('list', ['-x'], { valued: [], flags: [], positionals: [] })).to.throw(UsageError, "unknown option '-x'");
  });

  it('suggests only options close enough to be a typo', () => {
    expect(suggestOption('dryrun', ['dry-run', 'yes'])).to.equal('dry-run');
    expect(suggestOption('older-then', ['older-than', 'status'])).to.equal('older-than');
    expect(suggestOption('frobnicate', ['json', 'store'])).to.equal(undefined);
  });
});
