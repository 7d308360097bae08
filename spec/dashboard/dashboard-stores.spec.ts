/**
 * The dashboard over each storage provider (real servers: a local S3, PostgreSQL): it uses the
 * runner's public API only, so what it shows and does is the same on all of them.
 */
import { expect } from 'chai';
import { serveDashboard, type WorkflowView } from '../../lib/dashboard';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { CheckpointStorage } from '../../lib/storage/checkpoint-storage';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { S3Storage } from '../../lib/storage/s3';
import { SqliteStorage } from '../../lib/storage/sqlite';
import { Delivery, Payout, type DeliveryInput } from '../fixtures/dashboard-flows';
import { freshSchema } from '../helpers/postgres';
import { startS3 } from '../helpers/s3-server';
import { tempDir } from '../helpers/temp-dir';
import { call } from '../helpers/http-call';

const input = (orderId: string): DeliveryInput => ({ orderId, items: ['lamp'], meta: { requestId: `req-${orderId}` } });

describe('dashboard (HTTP) on every store', () => {
  const stores: [string, () => Promise<{ storage: CheckpointStorage; close: () => Promise<void> }>][] = [
    ['FileStorage', async () => {
      const dir = await tempDir('waymark-dash-');
      return { storage: new FileStorage({ directory: dir.path }), close: dir.remove };
    }],
    ['SqliteStorage', async () => {
      const dir = await tempDir('waymark-dash-');
      const storage = new SqliteStorage({ path: `${dir.path}/waymark.db` });
      return { storage, close: async () => (await storage.close(), await dir.remove()) };
    }],
    ['S3Storage', async () => {
      const s3 = await startS3();
      return { storage: new S3Storage({ client: s3.client(), bucket: s3.bucket, prefix: 'dash' }), close: s3.close };
    }],
    ['PostgresStorage', async () => {
      const pg = await freshSchema();
      return { storage: pg.storage, close: pg.drop };
    }],
  ];
  for (const [name, open] of stores) {
    it(`${name}: lists, shows, sends an event to and clears workflows`, async () => {
      const store = await open();
      const own = await serveDashboard({ runner: new WorkflowRunner({ storage: store.storage, workflows: [Delivery, Payout], tracer: false }), port: 0 });
      try {
        const storeRunner = new WorkflowRunner({ storage: store.storage, tracer: false });
        for (const id of ['d-1', 'd-2']) await storeRunner.run(new Delivery(), { workflowId: id, input: input(id) });
        await storeRunner.run(new Payout(), { workflowId: 'p-1' }).catch(() => undefined);
        const ask = (method: string, path: string, body?: unknown) => call(own.port, method, path, { token: own.token, body });
        expect((await ask('GET', '/api/workflows?status=waiting')).json.items.map((i: { workflowId: string }) => i.workflowId)).to.deep.equal(['d-1', 'd-2']);
        const view = (await ask('GET', '/api/workflows/p-1')).json as WorkflowView;
        expect(view.steps.map((st) => st.state)).to.deep.equal(['committed', 'failed', 'not-run']);
        expect((await ask('POST', '/api/workflows/d-1/events', { event: 'picked-up', eventId: 'e-1' })).json).to.deep.equal({ duplicate: false, eventId: 'e-1', wakes: true });
        expect(((await ask('GET', '/api/workflows/d-1')).json as WorkflowView).events.map((e) => e.eventId)).to.deep.equal(['e-1']);
        expect((await ask('POST', '/api/workflows/d-2/clear', { confirm: 'd-2' })).json).to.deep.equal({ cleared: true, checkpoints: 3 });
        expect((await ask('GET', '/api/workflows')).json.items.map((i: { workflowId: string }) => i.workflowId)).to.deep.equal(['d-1', 'p-1']);
      } finally {
        await own.close();
        await store.close();
      }
    });
  }
});
