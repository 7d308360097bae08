import { DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type DeleteObjectsCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Step } from '../../../decorators';
import { CheckpointCorruptedError, InvalidOptionError, InvalidWorkflowIdError, LeaseLostError, StorageError, WorkflowFailedError } from '../../../lib/errors';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import type { StepContext } from '../../../lib/runner/step-context';
import { S3Storage } from '../../../lib/storage/s3';
import { describeStorageContract, sampleCheckpoint, sampleRecord } from '../../../lib/testing';
import { countRequests } from '../../helpers/count-requests';
import { deferred, within } from '../../helpers/deferred';
import { startS3, type S3Fixture } from '../../helpers/s3-server';
import { TS_REGISTER } from '../../helpers/child';

const ROOT = join(__dirname, '..', '..', '..');
let prefixes = 0;

describe('S3Storage', function () {
  this.timeout(60_000);
  let s3: S3Fixture;
  before(async () => {
    s3 = await startS3();
  });
  after(async () => s3?.close());

  const fresh = (options: { requestTimeoutMs?: number; sdkRetries?: boolean } = {}) => {
    const client = s3.client(options);
    // The proxy honours If-Match on DELETE (as AWS does): said here, so no probe adds requests to what these specs count.
    return { client, storage: new S3Storage({ client, bucket: s3.bucket, prefix: `t${++prefixes}`, retry: { baseDelayMs: 1 }, conditionalDelete: true }) };
  };

  describe('test server', () => {
    it('gives exactly one success to 20 concurrent create-if-absent PUTs', async () => {
      const client = s3.client();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'fixture/once', Body: String(i), IfNoneMatch: '*' }))),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).to.equal(412);
    });
    it('pages ListObjectsV2 with continuation tokens, with and without a delimiter, on a Node without OpenSSL\'s legacy provider', async () => {
      expect(process.execArgv.join(' ') + (process.env.NODE_OPTIONS ?? ''), 'the suite runs without the legacy provider').not.to.include('legacy');
      const client = s3.client();
      const keys = ['pages/a', 'pages/b&c', 'pages/d/1', 'pages/d/2', 'pages/e <f>', 'pages/g'];
      for (const key of keys) await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'x' }));
      const list = async (delimiter?: string) => {
        const seen: string[] = [];
        let token: string | undefined;
        do {
          const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'pages/', Delimiter: delimiter, MaxKeys: 2, ContinuationToken: token }));
          seen.push(...(page.Contents ?? []).map((o) => o.Key!), ...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
          token = page.NextContinuationToken;
        } while (token !== undefined);
        return [...new Set(seen)].sort();
      };
      expect(await list()).to.deep.equal([...keys].sort());
      expect(await list('/')).to.deep.equal(['pages/a', 'pages/b&c', 'pages/d/', 'pages/e <f>', 'pages/g']);
    });
    it('leaves no temp directory behind, even when the process ends without close() (a hook that timed out)', () => {
      const script = "require('./spec/helpers/s3-server').startS3().then((s) => { console.log(s.endpoint && require('node:fs').readdirSync(require('node:os').tmpdir()).filter((n) => n.startsWith('waymark-s3-')).join(',')); process.exit(0); })";
      const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('waymark-s3-')));
      const out = execFileSync(process.execPath, ['-r', TS_REGISTER, '-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' } });
      const theirs = out.trim().split(',').filter((n) => !before.has(n));
      expect(theirs, 'the child made its own directory').to.have.length(1);
      expect(existsSync(join(tmpdir(), theirs[0])), `${theirs[0]} removed at exit`).to.equal(false);
    });
  });

  describeStorageContract('S3Storage', async () => ({ storage: fresh().storage }));

  it('refuses an empty prefix, so clear() can never reach the whole bucket', () => {
    const client = s3.client();
    for (const prefix of ['', '/', '//']) expect(() => new S3Storage({ client, bucket: s3.bucket, prefix })).to.throw(InvalidOptionError, 'prefix');
  });

  it('checks its options, naming what is wrong', () => {
    const client = s3.client();
    const refused = (options: object): InvalidOptionError => {
      try {
        new S3Storage(options as never);
      } catch (error) {
        expect(error).to.be.instanceOf(InvalidOptionError);
        return error as InvalidOptionError;
      }
      return expect.fail('accepted');
    };
    expect(refused({ bucket: 'b', prefix: 'p' }).option).to.equal('S3Storage client');
    expect(refused({ client: {}, bucket: 'b', prefix: 'p' }).option).to.equal('S3Storage client');
    expect(refused({ client, bucket: '', prefix: 'p' }).option).to.equal('S3Storage bucket');
    expect(refused({ client, bucket: 7, prefix: 'p' }).option).to.equal('S3Storage bucket');
    expect(refused({ client, bucket: 'b', prefix: 7 }).expected).to.contain('an empty prefix would let clear() reach the whole bucket');
    for (const prefix of ['~workflows', 'a/~workflows', 'a/~workflows/b']) {
      expect(refused({ client, bucket: 'b', prefix }).expected, prefix).to.equal("a key prefix without a '~workflows' segment (that segment holds a store's workflows or one of its indexes; this prefix would sit inside another store)");
    }
    for (const prefix of ['~wakes', 'a/~wakes/b']) expect(refused({ client, bucket: 'b', prefix }).expected, prefix).to.contain("without a '~wakes' segment");
    for (const prefix of ['~ended', 'a/~ended/b']) expect(refused({ client, bucket: 'b', prefix }).expected, prefix).to.contain("without a '~ended' segment");
    expect(new S3Storage({ client, bucket: 'b', prefix: 'a/~wakesX' }).prefix).to.equal('a/~wakesX');
    expect(new S3Storage({ client, bucket: 'b', prefix: 'a/~workflowsX' }).prefix).to.equal('a/~workflowsX');
    expect(new S3Storage({ client, bucket: 'b', prefix: 'waymark/prod//' })).to.include({ prefix: 'waymark/prod', bucket: 'b' });
  });

  it("refuses an id whose keys would pass S3's 1,024 bytes (with room for step names), before any request", async () => {
    const client = s3.client();
    const requests = countRequests(client);
    // <prefix>/~workflows/a/ is the prefix plus 14 bytes; at most 704 are allowed. (The test server
    // keeps objects as files and cannot hold such keys: a missing bucket shows the id passed the check.)
    const fits = new S3Storage({ client, bucket: 'no-such-bucket', prefix: `k${'p'.repeat(689)}`, retry: { attempts: 1 } });
    const over = new S3Storage({ client, bucket: 'no-such-bucket', prefix: `k${'p'.repeat(690)}`, retry: { attempts: 1 } });
    const passed = await fits.load('a').catch((e: unknown) => e);
    expect(passed).to.be.instanceOf(StorageError);
    const sent = [...requests.values()].reduce((a, b) => a + b, 0);
    expect(sent).to.be.greaterThan(0);
    const error = await over.load('a').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InvalidWorkflowIdError);
    expect((error as InvalidWorkflowIdError).reason).to.equal('its S3 keys would exceed 1024 bytes');
    for (const call of [over.commit('a', sampleCheckpoint('s')), over.acquireLease('a', 'me', 1_000), over.clear('a'), over.readRecord('a')]) {
      expect(await call.catch((e: unknown) => e)).to.be.instanceOf(InvalidWorkflowIdError);
    }
    expect([...requests.values()].reduce((a, b) => a + b, 0), 'no request for a refused id').to.equal(sent);
  });

  it('wraps what S3 answers in StorageError naming the operation, the workflow, the step and the key', async () => {
    const storage = new S3Storage({ client: s3.client(), bucket: 'no-such-bucket', prefix: 'p', retry: { attempts: 1 } });
    const error = (await storage.commit('wf', sampleCheckpoint('step-1')).catch((e: unknown) => e)) as StorageError;
    expect(error).to.be.instanceOf(StorageError);
    expect(error).to.include({ workflowId: 'wf', operation: 'commit', step: 'step-1', location: 's3://no-such-bucket/p/~workflows/wf/steps/step-1.json' });
    const listing = (await storage.list().catch((e: unknown) => e)) as StorageError;
    expect(listing).to.include({ workflowId: '*', operation: 'list', location: 's3://no-such-bucket/p/~workflows/' });
    const loading = (await storage.load('wf').catch((e: unknown) => e)) as StorageError;
    expect(loading).to.be.instanceOf(StorageError);
    expect(loading).to.include({ operation: 'load' });
  });

  it('renews and releases nothing for a lease it did not hand out (no version)', async () => {
    const { client, storage } = fresh();
    const attempt = await storage.acquireLease('versionless', 'me', 60_000);
    if (!attempt.acquired) expect.fail('not acquired');
    const requests = countRequests(client);
    const { version: _, ...bare } = attempt.lease;
    expect(await storage.renewLease(bare, 60_000)).to.equal(undefined);
    await storage.releaseLease(bare);
    expect([...requests.values()]).to.deep.equal([]);
    expect((await storage.acquireLease('versionless', 'other', 60_000)).acquired, 'still held').to.equal(false);
  });

  it('keeps stores at nested prefixes apart: neither lists, loads nor clears the other', async () => {
    const client = s3.client();
    const outer = new S3Storage({ client, bucket: s3.bucket, prefix: 'nest' });
    const inner = new S3Storage({ client, bucket: s3.bucket, prefix: 'nest/prod' });
    await inner.writeRecord('job', sampleRecord('job'), null);
    await inner.commit('job', sampleCheckpoint('s', 'inner'));
    expect(await outer.list(), "the outer store sees no workflow named 'prod'").to.deep.equal([]);
    expect(await outer.load('prod')).to.equal(undefined);
    class One {
      @Step() s() {
        return 'outer';
      }
    }
    await new WorkflowRunner({ storage: outer }).run(new One(), { workflowId: 'prod' });
    await outer.clear('prod');
    expect((await inner.readCheckpoint('job', 's')).output).to.equal('inner');
    expect(await inner.list()).to.deep.equal(['job']);
    for (const prefix of ['x/~workflows', '~workflows', 'a/~workflows/b']) expect(() => new S3Storage({ client, bucket: s3.bucket, prefix })).to.throw(InvalidOptionError, '~workflows');
  });

  it('keeps stores whose prefixes share a beginning apart', async () => {
    const client = s3.client();
    const a = new S3Storage({ client, bucket: s3.bucket, prefix: 'shared' });
    const b = new S3Storage({ client, bucket: s3.bucket, prefix: 'shared-2' });
    await a.commit('job', sampleCheckpoint('s', 'a'));
    await b.commit('job', sampleCheckpoint('s', 'b'));
    await a.clear('job');
    expect((await b.readCheckpoint('job', 's')).output).to.equal('b');
    expect(await a.list()).to.deep.equal([]);
  });

  it('resumes a failed 200-step workflow with 199 committed in 1 LIST and 3 GETs (the record twice and the one output needed)', async () => {
    const { client, storage } = fresh();
    let failLast = true;
    class Long {}
    for (let i = 0; i < 200; i++) {
      const name = `s${String(i).padStart(3, '0')}`;
      Object.defineProperty(Long.prototype, name, {
        value: (ctx: StepContext<unknown, number | undefined>) => {
          if (i === 199 && failLast) throw new Error('last step fails');
          return (ctx.previous ?? 0) + 1;
        },
      });
      Step()(Long.prototype, name, Object.getOwnPropertyDescriptor(Long.prototype, name)!);
    }
    const runner = new WorkflowRunner({ storage });
    await runner.run(new Long(), { workflowId: 'long' }).catch((e) => expect(e).to.be.instanceOf(WorkflowFailedError));
    failLast = false;
    const counts = countRequests(client);
    const result = await runner.run(new Long(), { workflowId: 'long', resume: true });
    expect(result.output).to.equal(200);
    expect(Object.fromEntries(counts)).to.deep.equal({
      PutObjectCommand: 6, // lease + wake entry + the record back to 'running' (it was 'failed') + the one commit + its entry in the index of ended workflows + the record marked completed
      ListObjectsV2Command: 1,
      GetObjectCommand: 3, // record before the lease (is it a late duplicate?) + record after it + output of step 199
      HeadObjectCommand: 3, // the lease fence of the two record writes and of the commit
      DeleteObjectCommand: 2, // wake entry + lease release
    });
    // A late duplicate of the now completed workflow costs one GET and nothing else.
    counts.clear();
    expect((await runner.run(new Long(), { workflowId: 'long', resume: true })).output).to.equal(200);
    expect(Object.fromEntries(counts)).to.deep.equal({ GetObjectCommand: 1 });
  });

  it('clears more than 1,000 checkpoints with paginated LISTs and DeleteObjects batches of at most 1,000', async () => {
    const { storage } = fresh();
    const from = s3.requests.length;
    const ids = Array.from({ length: 1100 }, (_, i) => `step-${i}`);
    for (let i = 0; i < ids.length; i += 50) await Promise.all(ids.slice(i, i + 50).map((s) => storage.commit('big', sampleCheckpoint(s))));
    await storage.commit('big-sibling', sampleCheckpoint('s'));
    expect((await storage.load('big'))?.committedSteps).to.have.length(1100);
    await storage.clear('big');
    const seen = s3.requests.slice(from);
    const batches = seen.filter((r) => r.op === 'DELETE_BATCH' && r.status === 200).map((r) => r.keys);
    expect(batches).to.deep.equal([1000, 100]);
    expect(seen.filter((r) => r.op === 'LIST' && r.key.endsWith('/big/steps/'))).to.have.length(2, 'one LIST per 1,000 checkpoints');
    expect(await storage.load('big')).to.equal(undefined);
    expect((await storage.load('big-sibling'))?.committedSteps).to.deep.equal(['s']);
  });

  it('reports keys a DeleteObjects batch could not delete (its per-key Errors) as a StorageError naming them, and a later clear finishes', async () => {
    const { client, storage } = fresh();
    for (const step of ['a', 'b', 'c']) await storage.commit('stubborn', sampleCheckpoint(step));
    let refuse = true;
    // S3 answers 200 to a batch and lists the keys it could not delete in Errors (AccessDenied, say).
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'DeleteObjectsCommand' || !refuse) return next(args);
        const input = args.input as DeleteObjectsCommandInput;
        const [kept, ...rest] = input.Delete!.Objects!;
        const out = (await next({ ...args, input: { ...input, Delete: { ...input.Delete, Objects: rest } } as DeleteObjectsCommandInput })) as { output: { Errors?: unknown[] } };
        out.output.Errors = [{ Key: kept.Key, Code: 'AccessDenied', Message: 'Access Denied' }];
        return out as Awaited<ReturnType<typeof next>>;
      },
      { step: 'initialize', name: 'refuseOneDelete' },
    );
    const error = await storage.clear('stubborn').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(StorageError).and.include({ workflowId: 'stubborn', operation: 'clear' });
    expect((error as Error).message).to.contain('1 of').and.contain('AccessDenied').and.contain('stubborn/steps/');
    expect((await storage.load('stubborn'))?.committedSteps, 'the key that was not deleted is still there').to.have.length(1);
    refuse = false;
    await storage.clear('stubborn');
    expect(await storage.load('stubborn')).to.equal(undefined);
  });

  it('takes over an expired lease conditionally: of 10 takers that all judged it expired, exactly one wins', async () => {
    const { client, storage } = fresh();
    const old = await storage.acquireLease('contested', 'old', 1);
    expect(old.acquired).to.equal(true);
    while (old.acquired && Date.now() <= old.lease.expiresAt) await new Promise((r) => setImmediate(r));
    // Every takeover write waits until all 10 takers have judged the old lease expired and are writing.
    const allWriting = deferred();
    let writing = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string; IfNoneMatch?: string };
        if (context.commandName === 'PutObjectCommand' && input.Key?.endsWith('/lease.json') && input.IfNoneMatch === undefined) {
          if (++writing === 10) allWriting.resolve();
          await allWriting.promise;
        }
        return next(args);
      },
      { step: 'initialize', name: 'takeoverBarrier' },
    );
    const attempts = await within(Promise.all(Array.from({ length: 10 }, (_, i) => storage.acquireLease('contested', `taker-${i}`, 60_000))), 20_000, `only ${writing} takers reached the takeover write`);
    expect(writing).to.equal(10);
    expect(attempts.filter((a) => a.acquired)).to.have.length(1);
  });

  describe('transient faults', () => {
    it('retries 503 SlowDown, 500 and reset connections, then succeeds', async () => {
      const { storage } = fresh();
      s3.inject({ op: 'PUT', keyIncludes: '/steps/a.json', kind: 503, times: 2 });
      s3.inject({ op: 'GET', keyIncludes: '/steps/a.json', kind: 'reset' });
      s3.inject({ op: 'LIST', kind: 500 });
      await storage.commit('faulty', sampleCheckpoint('a', 1));
      expect((await storage.readCheckpoint('faulty', 'a')).output).to.equal(1);
      expect((await storage.load('faulty'))?.committedSteps).to.deep.equal(['a']);
    });

    it('retries a request that times out', async () => {
      const { storage } = fresh({ requestTimeoutMs: 300 });
      s3.inject({ op: 'PUT', keyIncludes: 'slow', kind: 'hang' });
      await storage.commit('slow', sampleCheckpoint('a', 1));
      expect((await storage.readCheckpoint('slow', 'a')).output).to.equal(1);
    });

    it('treats a conditional write whose first try landed before the connection dropped as done', async () => {
      const { storage } = fresh();
      s3.inject({ op: 'PUT', keyIncludes: 'landed/record.json', kind: 'reset-after-apply' });
      const version = await storage.writeRecord('landed', sampleRecord('landed'), null);
      expect((await storage.load('landed'))?.recordVersion).to.equal(version);
    });

    for (const sdkRetries of [true, false]) {
      describe(`a conditional write applied but answered by a dropped connection, retried ${sdkRetries ? "by the SDK (its default retries)" : 'by waymark (SDK maxAttempts: 1)'}`, () => {
        it('is recognised as our own when taking the lease, creating and replacing the record, and renewing', async () => {
          const { storage } = fresh({ sdkRetries });
          s3.inject({ op: 'PUT', keyIncludes: 'lost/lease.json', kind: 'reset-after-apply' });
          const attempt = await storage.acquireLease('lost', 'me', 60_000);
          if (!attempt.acquired) expect.fail(`taking the lease failed: held by ${attempt.holder}`);
          s3.inject({ op: 'PUT', keyIncludes: 'lost/record.json', kind: 'reset-after-apply' });
          const v1 = await storage.writeRecord('lost', sampleRecord('lost', 'a'.repeat(64)), null, attempt.lease);
          s3.inject({ op: 'PUT', keyIncludes: 'lost/record.json', kind: 'reset-after-apply' });
          const v2 = await storage.writeRecord('lost', sampleRecord('lost', 'b'.repeat(64)), v1, attempt.lease);
          expect(await storage.readRecord('lost')).to.deep.equal({ record: sampleRecord('lost', 'b'.repeat(64)), version: v2 });
          s3.inject({ op: 'PUT', keyIncludes: 'lost/lease.json', kind: 'reset-after-apply' });
          const renewed = await storage.renewLease(attempt.lease, 60_000);
          expect(renewed, 'the renewal is not a lost lease').to.not.equal(undefined);
          await storage.releaseLease(renewed!);
          expect((await storage.acquireLease('lost', 'next', 1_000)).acquired, 'released').to.equal(true);
        });
      });
    }

    it('a renewal or release from a version our own unanswered renewal replaced still finds the lease ours', async () => {
      const { storage } = fresh();
      const attempt = await storage.acquireLease('stale', 'me', 60_000);
      if (!attempt.acquired) expect.fail('not acquired');
      // A renewal applied whose answer never came back: the keeper still has the old ETag.
      await storage.renewLease(attempt.lease, 60_000);
      const renewed = await storage.renewLease(attempt.lease, 60_000);
      expect(renewed, 'not lost: nobody else holds it').to.not.equal(undefined);
      await storage.releaseLease(attempt.lease);
      expect((await storage.acquireLease('stale', 'next', 1_000)).acquired, 'the release from the stale version left nothing').to.equal(true);
      // A lease taken over is not ours: neither renewed nor released.
      const other = await storage.acquireLease('taken', 'me', 1);
      if (!other.acquired) expect.fail('not acquired');
      while (Date.now() <= other.lease.expiresAt) await new Promise((r) => setImmediate(r));
      const thief = await storage.acquireLease('taken', 'thief', 60_000);
      expect(thief.acquired).to.equal(true);
      expect(await storage.renewLease(other.lease, 60_000)).to.equal(undefined);
      await storage.releaseLease(other.lease);
      expect(await storage.acquireLease('taken', 'third', 1_000)).to.include({ acquired: false, holder: 'thief' });
    });

    it('fails the run with StorageError when a commit keeps failing, and never records the step as done', async () => {
      const { storage } = fresh();
      s3.inject({ op: 'PUT', keyIncludes: 'doomed/steps/second', kind: 500, times: 100 });
      class Two {
        @Step() first() {
          return 1;
        }
        @Step() second() {
          return 2;
        }
      }
      const error = await new WorkflowRunner({ storage }).run(new Two(), { workflowId: 'doomed' }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(WorkflowFailedError);
      const cause = ((error as WorkflowFailedError).cause as Error).cause as StorageError;
      expect(cause).to.be.instanceOf(StorageError).and.include({ workflowId: 'doomed', step: 'second', operation: 'commit' });
      expect(cause.message).to.contain('s3://waymark-test/').and.contain('steps/second.json');
      expect((await storage.load('doomed'))?.committedSteps).to.deep.equal(['first']);
    });
  });

  it('fences a commit whose lease has less than a third of its TTL left: nothing is written', async () => {
    const { storage } = fresh();
    const attempt = await storage.acquireLease('margin', 'me', 60_000);
    if (!attempt.acquired) expect.fail('not acquired');
    expect(attempt.lease.ttlMs).to.equal(60_000);
    await storage.commit('margin', sampleCheckpoint('fresh'), attempt.lease);
    const late = { ...attempt.lease, expiresAt: Date.now() + 19_000 };
    expect(await storage.commit('margin', sampleCheckpoint('late'), late).catch((e: unknown) => e)).to.be.instanceOf(LeaseLostError);
    expect((await storage.load('margin'))?.committedSteps).to.deep.equal(['fresh']);
  });

  it('fences a commit whose lease was taken over: nothing is written', async () => {
    const { storage } = fresh();
    const old = await storage.acquireLease('fenced', 'old', 1);
    expect(old.acquired).to.equal(true);
    while (old.acquired && Date.now() <= old.lease.expiresAt) await new Promise((r) => setImmediate(r));
    const taker = await storage.acquireLease('fenced', 'new', 60_000);
    expect(taker).to.include({ acquired: true });
    const error = old.acquired ? await storage.commit('fenced', sampleCheckpoint('s'), { ...old.lease, expiresAt: Date.now() + 60_000 }).catch((e: unknown) => e) : undefined;
    expect(error).to.be.instanceOf(LeaseLostError);
    expect(await storage.load('fenced')).to.equal(undefined);
  });

  describe('every answer S3 can give, one at a time', () => {
    type Fault = { command: string; key?: RegExp; status: number; name: string; when?: (input: Record<string, unknown>) => boolean };
    /** Makes the client fail matching requests before they are sent, as S3 would answer them; counts what it refused. */
    const refuse = (client: S3Client, ...faults: Fault[]) => {
      const refused: string[] = [];
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as Record<string, unknown>;
          const fault = faults.find((f) => f.command === context.commandName && (f.key === undefined || f.key.test(String(input.Key))) && (f.when?.(input) ?? true));
          if (fault === undefined) return next(args);
          refused.push(`${context.commandName} ${String(input.Key)}`);
          throw Object.assign(new Error(`${fault.name} (injected)`), { name: fault.name, $metadata: { httpStatusCode: fault.status } });
        },
        { step: 'initialize', name: `refuse${++prefixes}` },
      );
      return refused;
    };
    const leaseOf = async (storage: S3Storage, id: string, ttlMs = 60_000) => {
      const attempt = await storage.acquireLease(id, 'me', ttlMs);
      return attempt.acquired ? attempt.lease : expect.fail('not acquired');
    };

    it("writes the lease's token and expiry as object metadata (what the commit fence reads), and JSON as JSON", async () => {
      const { client, storage } = fresh();
      const lease = await leaseOf(storage, 'meta');
      await storage.writeRecord('meta', sampleRecord('meta'), null, lease);
      await storage.commit('meta', sampleCheckpoint('s'), lease);
      const head = (key: string) => client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `${storage.prefix}/~workflows/meta/${key}` }));
      const stored = await head('lease.json');
      expect(stored.Metadata).to.deep.equal({ 'waymark-token': lease.token, 'waymark-expires-at': String(lease.expiresAt) });
      for (const key of ['lease.json', 'record.json', 'steps/s.json']) expect((await head(key)).ContentType, key).to.equal('application/json');
    });

    it('counts only .json objects under steps/ as checkpoints', async () => {
      const { client, storage } = fresh();
      await storage.commit('odd', sampleCheckpoint('real'));
      for (const key of ['steps/partial.tmp', 'steps/Upper.json', 'steps/notes']) {
        await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${storage.prefix}/~workflows/odd/${key}`, Body: '{}' }));
      }
      expect((await storage.load('odd'))?.committedSteps).to.deep.equal(['real']);
    });

    it('names the object in what it reports: a corrupted record, a missing checkpoint', async () => {
      const { client, storage } = fresh();
      const key = `${storage.prefix}/~workflows/named/record.json`;
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: '{"formatVersion": 9}' }));
      const corrupted = await storage.load('named').catch((e: unknown) => e);
      expect(corrupted).to.be.instanceOf(CheckpointCorruptedError).and.include({ location: `s3://${s3.bucket}/${key}` });
      expect(await storage.readRecord('named').catch((e: unknown) => e)).to.be.instanceOf(CheckpointCorruptedError);
      const missing = (await storage.readCheckpoint('named', 'nope').catch((e: unknown) => e)) as StorageError;
      expect(missing).to.be.instanceOf(StorageError).and.include({ operation: 'read checkpoint', step: 'nope', location: `s3://${s3.bucket}/${storage.prefix}/~workflows/named/steps/nope.json` });
      expect(missing.message).to.contain('no such checkpoint');
    });

    it('a clear under a lease keeps the lease: the run goes on holding it', async () => {
      const { storage } = fresh();
      const lease = await leaseOf(storage, 'keep');
      await storage.commit('keep', sampleCheckpoint('s'), lease);
      await storage.clear('keep', { lease });
      expect(await storage.load('keep')).to.equal(undefined);
      expect((await storage.acquireLease('keep', 'other', 60_000)).acquired).to.equal(false);
      expect(await storage.renewLease(lease, 60_000)).to.not.equal(undefined);
      await storage.commit('keep', sampleCheckpoint('after'), lease);
    });

    it('lists workflows across as many pages as S3 splits the listing into', async () => {
      const { client, storage } = fresh();
      const ids = ['a', 'b', 'c', 'd', 'e'];
      for (const id of ids) await storage.commit(id, sampleCheckpoint('s'));
      // S3 may answer any listing in pages (up to MaxKeys, and fewer); this one answers two prefixes at a time.
      const tokens = new Map<string, string>();
      let pages = 0;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName !== 'ListObjectsV2Command') return next(args);
          const input = args.input as { ContinuationToken?: string; StartAfter?: string };
          const after = input.ContinuationToken === undefined ? undefined : tokens.get(input.ContinuationToken);
          const out = (await next({ ...args, input: { ...input, ContinuationToken: undefined, StartAfter: after } })) as { output: { CommonPrefixes?: { Prefix?: string }[]; IsTruncated?: boolean; NextContinuationToken?: string } };
          pages++;
          const all = out.output.CommonPrefixes ?? [];
          out.output.CommonPrefixes = all.slice(0, 2);
          out.output.IsTruncated = all.length > 2;
          out.output.NextContinuationToken = all.length > 2 ? `page-${pages}` : undefined;
          // The next page starts after every key under the last prefix given ('0' follows '/').
          if (all.length > 2) tokens.set(`page-${pages}`, `${all[1].Prefix!.slice(0, -1)}0`);
          return out as Awaited<ReturnType<typeof next>>;
        },
        { step: 'initialize', name: 'pagesOfTwo' },
      );
      expect(await storage.list()).to.deep.equal(ids);
      expect(pages).to.equal(3);
    });

    it('gives up taking a lease that keeps changing hands after 8 rounds, with a StorageError that says so', async () => {
      const { client, storage } = fresh();
      const refused = refuse(
        client,
        { command: 'PutObjectCommand', key: /lease\.json$/, status: 412, name: 'PreconditionFailed' },
        { command: 'GetObjectCommand', key: /lease\.json$/, status: 404, name: 'NoSuchKey' },
      );
      const error = (await storage.acquireLease('churn', 'me', 1_000).catch((e: unknown) => e)) as StorageError;
      expect(error).to.be.instanceOf(StorageError).and.include({ operation: 'acquire lease' });
      expect(error.message).to.contain('the lease changed hands too often to decide; try again');
      expect(refused.filter((r) => r.startsWith('PutObjectCommand'))).to.have.length(8);
    });

    it('takes over a stored lease it cannot read (no token, or an expiry that is not a number)', async () => {
      const { client, storage } = fresh();
      for (const [id, body] of [['no-token', { owner: 'x', expiresAt: Date.now() + 60_000 }], ['bad-expiry', { owner: 'x', token: 't', expiresAt: 'later' }], ['garbage', '{not json']] as const) {
        await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${storage.prefix}/~workflows/${id}/lease.json`, Body: typeof body === 'string' ? body : JSON.stringify(body) }));
        expect((await storage.acquireLease(id, 'me', 60_000)).acquired, id).to.equal(true);
      }
    });

    it('renews from a version that keeps failing at most twice, then calls the lease lost', async () => {
      const { client, storage } = fresh();
      const lease = await leaseOf(storage, 'twice');
      const refused = refuse(client, { command: 'PutObjectCommand', key: /lease\.json$/, status: 412, name: 'PreconditionFailed' });
      expect(await storage.renewLease(lease, 60_000)).to.equal(undefined);
      expect(refused).to.have.length(2);
    });

    it('release: tries a version that keeps failing at most twice; a lease already gone is released; another fault is a StorageError', async () => {
      const { client, storage } = fresh();
      const lease = await leaseOf(storage, 'rel');
      const refused = refuse(client, { command: 'DeleteObjectCommand', status: 412, name: 'PreconditionFailed', when: () => refusing === 'condition' }, { command: 'DeleteObjectCommand', status: 403, name: 'AccessDenied', when: () => refusing === 'denied' });
      let refusing: 'condition' | 'denied' | 'none' = 'condition';
      await storage.releaseLease(lease);
      expect(refused).to.have.length(2);
      refusing = 'denied';
      const denied = await storage.releaseLease(lease).catch((e: unknown) => e);
      expect(denied).to.be.instanceOf(StorageError).and.include({ operation: 'release lease' });
      refusing = 'none';
      await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `${storage.prefix}/~workflows/rel/lease.json` }));
      await storage.releaseLease(lease);
      expect(await storage.renewLease(lease, 1_000), 'a renewal of a deleted lease finds it gone').to.equal(undefined);
    });

    it('fences a commit by the expiry S3 stores, and by the lease object being there at all', async () => {
      const { client, storage } = fresh();
      const lease = await leaseOf(storage, 'fence');
      const key = `${storage.prefix}/~workflows/fence/lease.json`;
      // The stored lease says it expired, whatever the caller's copy says.
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: '{}', Metadata: { 'waymark-token': lease.token, 'waymark-expires-at': String(Date.now() - 1) } }));
      expect(await storage.commit('fence', sampleCheckpoint('late'), lease).catch((e: unknown) => e)).to.be.instanceOf(LeaseLostError);
      await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
      expect(await storage.commit('fence', sampleCheckpoint('gone'), lease).catch((e: unknown) => e)).to.be.instanceOf(LeaseLostError);
      expect(await storage.load('fence')).to.equal(undefined);
    });

    it('passes on faults that are not "not found" or a failed condition as StorageError, never as absence or conflict', async () => {
      const { client, storage } = fresh();
      await storage.writeRecord('denied', sampleRecord('denied'), null);
      const refused = refuse(client, { command: 'GetObjectCommand', status: 403, name: 'AccessDenied' }, { command: 'PutObjectCommand', key: /record\.json$/, status: 403, name: 'AccessDenied' });
      expect(await storage.readRecord('denied').catch((e: unknown) => e)).to.be.instanceOf(StorageError).and.include({ operation: 'read record' });
      expect(await storage.writeRecord('denied', sampleRecord('denied'), null).catch((e: unknown) => e)).to.be.instanceOf(StorageError).and.include({ operation: 'write record' });
      expect(refused).to.have.length(2);
    });

    it('names the operation and the object of every request that fails for good', async () => {
      const { client, storage } = fresh();
      const lease = await leaseOf(storage, 'named');
      await storage.commit('named', sampleCheckpoint('s'), lease);
      await storage.writeRecord('named', sampleRecord('named'), null, lease);
      const base = `s3://${s3.bucket}/${storage.prefix}/~workflows/named/`;
      refuse(client, ...['ListObjectsV2Command', 'GetObjectCommand', 'HeadObjectCommand', 'DeleteObjectsCommand', 'PutObjectCommand'].map((command) => ({ command, status: 403, name: 'AccessDenied' })));
      // One request at a time, each awaited before the next starts.
      const failures: [() => Promise<unknown>, string, string][] = [
        [() => storage.readCheckpoint('named', 's'), 'read checkpoint', `${base}steps/s.json`],
        [() => storage.clear('named'), 'clear', base],
        [() => storage.commit('named', sampleCheckpoint('t'), lease), 'check lease', `${base}lease.json`],
        [() => storage.renewLease(lease, 60_000), 'renew lease', `${base}lease.json`],
        [() => storage.readLease('named'), 'read lease', `${base}lease.json`],
        [() => storage.listEvents('named'), 'list events', `${base}events/`],
        [() => storage.putEvent('named', { formatVersion: 1, eventId: 'e', name: 'n', payload: 1, sentAt: 'now' }), 'store event', `${base}events/e.json`],
        [() => storage.addWake({ workflowId: 'named', wakeAt: 5 }), 'add wake', `s3://${s3.bucket}/${storage.prefix}/~wakes/0000000000000005~named`],
        [() => storage.dueWakes(Date.now(), 10), 'scan wakes', `s3://${s3.bucket}/${storage.prefix}/~wakes/`],
      ];
      for (const [call, operation, location] of failures) {
        const error = await call().catch((e: unknown) => e);
        expect(error, operation).to.be.instanceOf(StorageError).and.include({ operation });
        expect((error as Error).message, operation).to.contain(`storage ${operation} failed at ${location}`);
      }
      // Requests that come after one that succeeds: the deletes of a clear, an event's read, a wake's removal.
      const later = fresh();
      await later.storage.commit('named', sampleCheckpoint('s'));
      await later.storage.putEvent('named', { formatVersion: 1, eventId: 'e', name: 'n', payload: 1, sentAt: 'now' });
      refuse(later.client, ...['DeleteObjectsCommand', 'GetObjectCommand', 'DeleteObjectCommand'].map((command) => ({ command, status: 403, name: 'AccessDenied' })));
      const laterBase = `s3://${s3.bucket}/${later.storage.prefix}/~workflows/named/`;
      for (const [call, operation, location] of [
        [() => later.storage.listEvents('named'), 'read event', `${laterBase}events/e.json`],
        [() => later.storage.clear('named'), 'clear', laterBase],
        [() => later.storage.removeWake({ workflowId: 'named', wakeAt: 5 }), 'remove wake', `s3://${s3.bucket}/${later.storage.prefix}/~wakes/0000000000000005~named`],
      ] as const) {
        const error = await call().catch((e: unknown) => e);
        expect((error as Error).message, operation).to.contain(`storage ${operation} failed at ${location}`);
      }
      // A load is two requests at once: each names its own object.
      for (const [command, object] of [['ListObjectsV2Command', 'steps/'], ['GetObjectCommand', 'record.json']]) {
        const other = fresh();
        await other.storage.commit('named', sampleCheckpoint('s'));
        await other.storage.writeRecord('named', sampleRecord('named'), null);
        refuse(other.client, { command: command!, status: 403, name: 'AccessDenied' });
        const error = (await other.storage.load('named').catch((e: unknown) => e)) as StorageError;
        expect(error.message, command).to.contain(`storage load failed at s3://${s3.bucket}/${other.storage.prefix}/~workflows/named/${object}`);
      }
    });

    it('says which deletes of a clear failed, with their codes and messages', async () => {
      const { client, storage } = fresh();
      await storage.commit('partial', sampleCheckpoint('a'));
      await storage.commit('partial', sampleCheckpoint('b'));
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName !== 'DeleteObjectsCommand') return next(args);
          const objects = ((args.input as { Delete: { Objects: { Key: string }[] } }).Delete.Objects);
          return { output: { $metadata: {}, Errors: [{ Key: objects[0]!.Key, Code: 'AccessDenied', Message: 'no' }, { Key: objects[1]!.Key }] }, response: {} } as never;
        },
        { step: 'initialize', name: `partial${++prefixes}` },
      );
      const error = (await storage.clear('partial').catch((e: unknown) => e)) as StorageError;
      expect(error).to.be.instanceOf(StorageError);
      expect(error.message).to.match(/2 of 2 deletes failed: [^ ]+\/steps\/a\.json: AccessDenied no; [^ ]+\/steps\/b\.json: error$/);
    });

    it('passes on a fault of the fence that is not "not found" as a StorageError, not as a lost lease', async () => {
      const { client, storage } = fresh();
      const lease = await leaseOf(storage, 'fenced');
      refuse(client, { command: 'HeadObjectCommand', status: 403, name: 'AccessDenied' });
      expect(await storage.commit('fenced', sampleCheckpoint('s'), lease).catch((e: unknown) => e)).to.be.instanceOf(StorageError).and.include({ operation: 'check lease' });
    });

    it('refuses what is not a client, a bucket or a prefix, saying what it expects', () => {
      const refused = (options: unknown) => {
        try {
          new S3Storage(options as never);
        } catch (error) {
          return error as InvalidOptionError;
        }
        return expect.fail('accepted');
      };
      expect(refused(undefined)).to.include({ option: 'S3Storage client', expected: 'an S3Client' });
      expect(refused({ client: s3.client(), bucket: '', prefix: 'p' })).to.include({ option: 'S3Storage bucket', expected: 'a bucket name' });
      expect(refused({ client: s3.client(), bucket: 'b', prefix: '/' })).to.include({ option: 'S3Storage prefix', expected: "a non-empty key prefix such as 'waymark' (an empty prefix would let clear() reach the whole bucket)" });
      expect(refused({ client: s3.client(), bucket: 'b', prefix: 'a/~workflows' }).option).to.equal('S3Storage prefix');
    });
  });
});
