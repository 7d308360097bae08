/**
 * S3Storage on a real S3 server, Ceph's RADOS Gateway (spec/helpers/ceph-rgw.ts), beside the
 * s3rver-with-proxy the other S3 specs use: the server itself decides conditional writes, so the
 * guarantees (one owner, fencing, no forked record) are checked against S3's semantics, not a model
 * of them.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import sinon from 'sinon';
import { honoursConditionalDelete } from '../../../lib/storage/s3/s3-conditional-delete';
import { RELEASE_GRACE_MS, S3Storage } from '../../../lib/storage/s3/s3-storage';
import { startS3 } from '../../helpers/s3-server';
import { describeStorageContract } from '../../../lib/testing';
import { startRgw, type RgwServer } from '../../helpers/ceph-rgw';

let prefixes = 0;

describe('S3Storage on Ceph RGW (a real S3 server)', function () {
  this.timeout(60_000);
  let rgw: RgwServer;
  let bucket: string;
  before(async () => {
    rgw = await startRgw();
    bucket = await rgw.bucket();
  });

  describe('the server', () => {
    it('decides conditional writes itself: one of 20 concurrent create-if-absent PUTs wins, the others get 412', async () => {
      const client = rgw.client();
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => client.send(new PutObjectCommand({ Bucket: bucket, Key: 'fixture/once', Body: String(i), IfNoneMatch: '*' }))));
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).to.equal(412);
    });

    it('refuses a stale If-Match with 412, and answers 412 (AWS: 404) for If-Match on a missing key', async () => {
      const client = rgw.client();
      const first = await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'fixture/etag', Body: 'one' }));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'fixture/etag', Body: 'two', IfMatch: first.ETag }));
      const stale = await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'fixture/etag', Body: 'three', IfMatch: first.ETag })).catch((e: { $metadata: { httpStatusCode: number } }) => e.$metadata.httpStatusCode);
      expect(stale).to.equal(412);
      const missing = await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'fixture/none', Body: 'x', IfMatch: first.ETag })).catch((e: { $metadata: { httpStatusCode: number } }) => e.$metadata.httpStatusCode);
      expect(missing).to.equal(412);
    });
  });

  describe('a server that ignores If-Match on DELETE', () => {
    it('is found out by the probe, and a release then never deletes a successor\'s lease', async () => {
      const storage = new S3Storage({ client: rgw.client(), bucket, prefix: 'probe', retry: { baseDelayMs: 1 } });
      const first = await storage.acquireLease('job', 'first', 1);
      if (!first.acquired) throw new Error('not acquired');
      while (Date.now() <= first.lease.expiresAt) await new Promise((resolve) => setImmediate(resolve));
      const second = await storage.acquireLease('job', 'second', 60_000);
      if (!second.acquired) throw new Error('not taken over');
      // The probe runs on this first release, and says nothing on the console (an empty body made the SDK warn).
      const warn = sinon.spy(console, 'warn');
      try {
        await storage.releaseLease(first.lease);
      } finally {
        warn.restore();
      }
      expect(warn.callCount, String(warn.firstCall?.args[0])).to.equal(0);
      expect(await storage.readLease('job')).to.deep.include({ owner: 'second' });
      await storage.releaseLease(second.lease);
      expect(await storage.readLease('job')).to.equal(undefined);
      expect(await storage.acquireLease('job', 'third', 60_000)).to.deep.include({ acquired: true });
    });

    it('says so when asked: the probe answers false here and true on a server that honours it (the s3rver proxy)', async () => {
      expect(await honoursConditionalDelete(rgw.client(), bucket, 'probe/~probe/', {})).to.equal(false);
      const s3 = await startS3();
      try {
        expect(await honoursConditionalDelete(s3.client(), s3.bucket, 'probe/~probe/', {})).to.equal(true);
        const left = s3.requests.filter((r) => r.op === 'PUT' || r.op === 'DELETE').map((r) => `${r.op} ${r.status}`);
        expect(left, 'its object is gone again').to.deep.equal(['PUT 200', 'DELETE 412', 'DELETE 204']);
      } finally {
        await s3.close();
      }
    });

    it('a release marked but stalled past a tenth of the grace deletes nothing, and leaves the lease expired: free at once', async () => {
      const client = rgw.client();
      const storage = new S3Storage({ client, bucket, prefix: 'stall', retry: { baseDelayMs: 1 }, conditionalDelete: false });
      const held = await storage.acquireLease('job', 'first', 60_000);
      if (!held.acquired) throw new Error('not acquired');
      const start = Date.now();
      const clock = sinon.stub(Date, 'now').returns(start);
      const sent: string[] = [];
      // Once the mark is stored the clock jumps past a tenth of the grace: the process stalled there.
      client.middlewareStack.add(
        (next) => async (args) => {
          const out = await next(args);
          const input = args.input as { Key?: string; IfMatch?: string };
          if (input.Key?.endsWith('lease.json')) sent.push(`${(args.request as { method?: string }).method} ${input.IfMatch === undefined ? '' : 'if-match'}`.trim());
          if (input.Key?.endsWith('lease.json') && input.IfMatch !== undefined && sent.length === 1) clock.returns(start + RELEASE_GRACE_MS / 10 + 1);
          return out;
        },
        { step: 'finalizeRequest', name: 'stallAfterTheMark' },
      );
      try {
        await storage.releaseLease(held.lease);
        expect(sent, 'the mark, then the lease left expired: never an unconditional DELETE').to.deep.equal(['PUT if-match', 'PUT if-match']);
        expect(await storage.readLease('job')).to.equal(undefined);
        const next = await storage.acquireLease('job', 'second', 60_000);
        expect(next).to.deep.include({ acquired: true });
        expect(await storage.readLease('job')).to.deep.include({ owner: 'second' });
      } finally {
        clock.restore();
      }
    });
  });

  describeStorageContract('S3Storage on Ceph RGW', async () => ({ storage: new S3Storage({ client: rgw.client(), bucket, prefix: `c${++prefixes}`, retry: { baseDelayMs: 1 } }) }));
});
