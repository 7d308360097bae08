/**
 * The dashboard's server side over real HTTP: its token, its host check, its JSON API and the
 * actions, fenced as the runner fences them. What the page does with it is spec/dashboard/browser.spec.ts.
 */
import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Step, Workflow } from '../../decorators';
import { createDashboard, serveDashboard, type ServedDashboard, type WorkflowView } from '../../lib/dashboard';
import { InvalidOptionError, WorkflowNotFoundError } from '../../lib/errors';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import type { WorkflowRecord } from '../../lib/storage/records';
import { deferred } from '../helpers/deferred';
import { call } from '../helpers/http-call';
import { Delivery, Payout, type DeliveryInput } from '../fixtures/dashboard-flows';
import { SagaFlow } from '../fixtures/saga-flow';
import { OrderV1, OrderV2 } from '../fixtures/order-versions';

const input = (orderId: string): DeliveryInput => ({ orderId, items: ['lamp', 'desk'], meta: { requestId: `req-${orderId}` } });

describe('dashboard (HTTP)', () => {
  let storage: MemoryStorage;
  let runner: WorkflowRunner;
  let served: ServedDashboard;
  const get = (path: string, token = served.token) => call(served.port, 'GET', path, { token });
  const post = (path: string, body: unknown, token = served.token) => call(served.port, 'POST', path, { token, body });

  beforeEach(async () => {
    storage = new MemoryStorage();
    runner = new WorkflowRunner({ storage, workflows: [Delivery, Payout], tracer: false });
    served = await serveDashboard({ runner, port: 0 });
  });
  afterEach(async () => {
    await served.close();
  });

  describe('the token and the host', () => {
    it('refuses every API call without the token, or with another, and acts on nothing', async () => {
      await runner.run(new Delivery(), { workflowId: 'd-1', input: input('1') });
      for (const token of [undefined, '', 'x'.repeat(24), `${served.token}x`]) {
        for (const [method, path, body] of [
          ['GET', '/api/workflows', undefined],
          ['GET', '/api/workflows/d-1', undefined],
          ['POST', '/api/workflows/d-1/clear', { confirm: 'd-1' }],
          ['POST', '/api/workflows/d-1/events', { event: 'picked-up' }],
        ] as const) {
          const answer = await call(served.port, method, path, { ...(token === undefined ? {} : { token }), body });
          expect(answer.status, `${method} ${path} with ${String(token)}`).to.equal(403);
          expect(answer.json.error.code).to.equal('WAYMARK_DASHBOARD_TOKEN');
          expect(answer.json.error.message).to.contain('x-waymark-token');
        }
      }
      expect((await runner.get('d-1', { events: true }))!.events, 'no event stored').to.deep.equal([]);
      expect((await runner.get('d-1'))!.status, 'not cleared').to.equal('waiting');
    });

    it('serves the page without the token (it holds no data), with a policy that allows nothing from elsewhere', async () => {
      const page = await call(served.port, 'GET', '/workflows/d-1');
      expect(page.status).to.equal(200);
      expect(page.headers['content-type']).to.equal('text/html; charset=utf-8');
      expect(page.text).to.contain('<script src="/assets/app.js" defer></script>');
      expect(page.headers['content-security-policy']).to.contain("default-src 'none'").and.contain("script-src 'self'").and.contain("frame-ancestors 'none'");
      expect(page.headers['x-content-type-options']).to.equal('nosniff');
      expect((await call(served.port, 'GET', '/assets/app.js')).headers['content-type']).to.equal('text/javascript; charset=utf-8');
      expect((await call(served.port, 'GET', '/assets/style.css')).text).to.contain('prefers-color-scheme: dark');
      expect((await call(served.port, 'GET', '/nothing')).status).to.equal(404);
      expect((await call(served.port, 'POST', '/')).status).to.equal(405);
      const head = await call(served.port, 'HEAD', '/');
      expect([head.status, head.text, head.headers['content-type']]).to.deep.equal([200, '', 'text/html; charset=utf-8']);
      for (const [method, path] of [['GET', '/api/workflows/d-1/steps/pack'], ['GET', '/api/workflows/d-1/steps/pack/input'], ['GET', '/api/workflows/d-1/outputs/pack/output'], ['POST', '/api/workflows/d-1/clear/now'], ['GET', '/api/workflows/d-1/resume'], ['PUT', '/api/workflows/d-1'], ['POST', '/api/workflows/d-1'], ['POST', '/api/workflows'], ['DELETE', '/api/workflows/d-1/clear']] as const) {
        const answer = await call(served.port, method, path, { token: served.token });
        expect([answer.status, answer.json?.error.code], `${method} ${path}`).to.deep.equal([404, 'WAYMARK_NOT_FOUND']);
      }
      expect(served.url).to.equal(`http://127.0.0.1:${served.port}/#token=${encodeURIComponent(served.token)}`);
    });

    it('answers only to the host names it is served on (a DNS-rebinding page is refused)', async () => {
      for (const host of ['127.0.0.1', 'localhost', '[::1]']) {
        expect((await call(served.port, 'GET', '/api/workflows', { token: served.token, host: `${host}:${served.port}` })).status, host).to.equal(200);
      }
      const rebound = await call(served.port, 'GET', '/api/workflows', { token: served.token, host: `attacker.invalid:${served.port}` });
      expect(rebound.status).to.equal(403);
      expect(rebound.text).to.contain("host 'attacker.invalid");
    });

    it('takes a token of its own, and refuses options it cannot use', async () => {
      const own = await serveDashboard({ runner, port: 0, token: 'a-token-of-sixteen+' });
      try {
        expect(own.token).to.equal('a-token-of-sixteen+');
        expect((await call(own.port, 'GET', '/api/workflows', { token: 'a-token-of-sixteen+' })).status).to.equal(200);
      } finally {
        await own.close();
      }
      expect(() => createDashboard({ runner, token: 'short' })).to.throw(InvalidOptionError, "option 'token' is 'short'; expected a string of at least 16 characters");
      expect(() => createDashboard({ runner, token: 'x'.repeat(15) })).to.throw(InvalidOptionError, "option 'token'");
      expect(() => createDashboard({ runner, token: 16 as never })).to.throw(InvalidOptionError, "option 'token'");
      expect(createDashboard({ runner, token: 'x'.repeat(16) }).token, 'sixteen is enough').to.equal('x'.repeat(16));
      expect(() => createDashboard({ runner, allowedHosts: ['localhost', 1] as never })).to.throw(InvalidOptionError, "option 'allowedHosts'");
      for (const [options, message] of [
        [{ port: -1 }, "option 'port' is -1; expected an integer from 0 to 65535"],
        [{ port: 1.5 }, "option 'port' is 1.5"],
        [{ port: 65536 }, "option 'port' is 65536"],
        [{ host: '' }, "option 'host' is ''; expected an address to bind, e.g. 127.0.0.1"],
        [{ host: 5 }, "option 'host' is 5"],
      ] as const) {
        const refused = await serveDashboard({ runner, ...(options as object) }).catch((e: unknown) => e);
        expect(refused, message).to.be.instanceOf(InvalidOptionError);
        expect((refused as Error).message).to.contain(message);
      }
      const ipv6 = await serveDashboard({ runner, port: 0, host: '::1' });
      try {
        expect(ipv6.url).to.match(/^http:\/\/\[::1\]:\d+\/#token=/);
      } finally {
        await ipv6.close();
      }
      expect(() => createDashboard({ runner: {} as never })).to.throw(InvalidOptionError, "option 'runner'");
      expect(() => createDashboard({ runner, allowedHosts: 'localhost' as never })).to.throw(InvalidOptionError, "option 'allowedHosts'");
      expect(() => createDashboard(null as never)).to.throw(InvalidOptionError, 'dashboard options');
      const error = await serveDashboard({ runner, port: 70000 }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(InvalidOptionError);
    });
  });

  describe('the list', () => {
    it('filters by status, workflow name and id prefix, and says when waiting ones wake and what they await', async () => {
      for (const id of ['d-1', 'd-2', 'x-1']) await runner.run(new Delivery(), { workflowId: id, input: input(id) });
      await runner.run(new Payout(), { workflowId: 'p-1' }).catch(() => undefined);
      const all = await get('/api/workflows');
      expect(all.json.items.map((i: { workflowId: string }) => i.workflowId)).to.deep.equal(['d-1', 'd-2', 'p-1', 'x-1']);
      expect(all.json.items[0]).to.deep.include({ workflowName: 'delivery', status: 'waiting', waitingFor: ['picked-up'] });
      expect(Date.parse(all.json.now)).to.be.a('number');
      expect((await get('/api/workflows?status=failed')).json.items.map((i: { workflowId: string; status: string }) => [i.workflowId, i.status])).to.deep.equal([['p-1', 'failed']]);
      expect((await get('/api/workflows?status=failed')).json.items[0].error).to.deep.include({ code: 'ACCOUNT_CLOSED', step: 'transfer' });
      expect((await get('/api/workflows?status=failed,waiting&name=delivery')).json.items).to.have.length(3);
      expect((await get('/api/workflows?id=d-')).json.items.map((i: { workflowId: string }) => i.workflowId)).to.deep.equal(['d-1', 'd-2']);
      const first = await get('/api/workflows?limit=2');
      expect(first.json.cursor).to.equal('d-2');
      expect((await get(`/api/workflows?limit=2&cursor=${first.json.cursor}`)).json.items.map((i: { workflowId: string }) => i.workflowId)).to.deep.equal(['p-1', 'x-1']);
      expect((await get('/api/workflows?limit=1')).json.items).to.have.length(1);
      expect((await get('/api/workflows?name=&id=&cursor=&status=')).json.items, 'empty filters filter nothing').to.have.length(4);
      expect((await get('/api/workflows?limit=200')).json.items).to.have.length(4);
      for (const [query, message] of [
        ['status=sleeping', "status 'sleeping' is not one of running, waiting"],
        ['limit=0', 'limit must be an integer from 1 to 200'],
        ['limit=201', 'limit must be an integer from 1 to 200'],
        ['limit=x', 'limit must be an integer from 1 to 200'],
      ] as const) {
        const answer = await get(`/api/workflows?${query}`);
        expect(answer.status, query).to.equal(400);
        expect(answer.json.error).to.deep.equal({ code: 'WAYMARK_INVALID_OPTION', message: answer.json.error.message });
        expect(answer.json.error.message).to.contain(message);
      }
    });

    it('pages through 100,000 stored workflows reading only the records of the page, and bounds what a rare filter reads per request', async function () {
      this.timeout(60_000);
      const record = (id: string, status: 'completed' | 'failed'): WorkflowRecord => ({ formatVersion: 1, workflowId: id, workflowName: 'bulk', fingerprint: 'f', steps: [], updatedAt: '2026-12-01T00:00:00.000Z', status });
      const ids = Array.from({ length: 100_000 }, (_, i) => `w${String(i).padStart(6, '0')}`);
      for (const id of ids) await storage.writeRecord(id, record(id, id === 'w050000' || id === 'w099999' ? 'failed' : 'completed'), null);
      let reads = 0;
      let loads = 0;
      const readRecord = storage.readRecord.bind(storage);
      storage.readRecord = (id) => {
        reads++;
        return readRecord(id);
      };
      storage.load = () => {
        loads++;
        throw new Error('the list must not load whole workflows');
      };
      const first = await get('/api/workflows?limit=50');
      expect(first.json.items).to.have.length(50);
      expect(reads).to.equal(50);
      reads = 0;
      const deep = await get('/api/workflows?limit=50&cursor=w079999');
      expect(deep.json.items.map((i: { workflowId: string }) => i.workflowId).slice(0, 2)).to.deep.equal(['w080000', 'w080001']);
      expect(reads).to.equal(50);
      // Two failed among 100,000: each request reads at most 2,000 records and hands on a cursor.
      const found: string[] = [];
      let cursor: string | undefined;
      let requests = 0;
      do {
        reads = 0;
        const page = await get(`/api/workflows?status=failed&limit=50${cursor === undefined ? '' : `&cursor=${cursor}`}`);
        expect(reads).to.be.at.most(2000);
        found.push(...page.json.items.map((i: { workflowId: string }) => i.workflowId));
        cursor = page.json.cursor;
        requests++;
      } while (cursor !== undefined);
      expect(found).to.deep.equal(['w050000', 'w099999']);
      expect(requests).to.equal(50);
      expect(loads).to.equal(0);
    });
  });

  describe('a workflow', () => {
    it("shows each step's state, the graph laid out, outputs capped, the mailbox and what the fingerprint ignores", async () => {
      await runner.run(new Delivery(), { workflowId: 'd-1', input: input('1') });
      await runner.sendEvent('d-1', 'noise', { big: 'y'.repeat(5000) }, { eventId: 'e-0' });
      const answer = await get('/api/workflows/d-1');
      expect(answer.status).to.equal(200);
      const view = answer.json as WorkflowView;
      expect(view).to.deep.include({ workflowId: 'd-1', workflowName: 'delivery', status: 'waiting', interrupted: false, waitingFor: ['picked-up'], canResume: true, ignoredInput: ['meta.requestId'] });
      // The input as lines in its own types, each leaf with its path (what the fingerprint ignores is struck through by it).
      expect(view.input).to.deep.equal([
        { text: '{' },
        { text: '  "orderId": "1",', path: 'orderId' },
        { text: '  "items": [' },
        { text: '    "lamp",', path: 'items[0]' },
        { text: '    "desk"', path: 'items[1]' },
        { text: '  ],' },
        { text: '  "meta": {' },
        { text: '    "requestId": "req-1"', path: 'meta.requestId' },
        { text: '  }' },
        { text: '}' },
      ]);
      expect(view.steps.map((s) => [s.name, s.state, s.detail])).to.deep.equal([
        ['pack', 'committed', undefined],
        ['label', 'committed', undefined],
        ['invoice', 'committed', undefined],
        ['dispatch', 'waiting', "waits for event 'picked-up'"],
      ]);
      expect(view.steps[0]!.durationMs, "this process ran it: its duration is known").to.be.a('number');
      const label = view.steps.find((s) => s.name === 'label')!;
      expect(label.output).to.include({ truncated: true, length: JSON.stringify({ tracking: 'TRK-1', notes: 'x'.repeat(3000) }, null, 2).length });
      expect(label.output!.text).to.have.length(2000);
      const full = await get('/api/workflows/d-1/steps/label/output');
      expect(JSON.parse(full.json.text)).to.deep.equal({ tracking: 'TRK-1', notes: 'x'.repeat(3000) });
      expect((await get('/api/workflows/d-1/steps/dispatch/output')).json.error.code).to.equal('WAYMARK_STEP_NOT_COMMITTED');
      expect(view.events.map((e) => [e.eventId, e.name, e.payload.truncated, e.consumedBy])).to.deep.equal([['e-0', 'noise', true, undefined]]);
      const nodes = Object.fromEntries(view.layout.nodes.map((n) => [n.name, n]));
      expect(nodes.pack!.x).to.be.below(nodes.label!.x);
      expect(nodes.label!.x).to.equal(nodes.invoice!.x, 'label and invoice side by side');
      expect(nodes.label!.y).to.not.equal(nodes.invoice!.y);
      expect(nodes.dispatch!.x).to.be.above(nodes.label!.x);
      expect(view.layout.edges.map((e) => `${e.from}>${e.to}`).sort()).to.deep.equal(['invoice>dispatch', 'label>dispatch', 'pack>invoice', 'pack>label']);
      expect((await get('/api/workflows/nope')).status).to.equal(404);
    });

    it('says failed with the error, compensated, running and restored as the runs and the store tell it', async () => {
      await runner.run(new Payout(), { workflowId: 'p-1' }).catch(() => undefined);
      const failed = (await get('/api/workflows/p-1')).json as WorkflowView;
      expect(failed.steps.map((s) => [s.name, s.state])).to.deep.equal([['approve', 'committed'], ['transfer', 'failed'], ['notify', 'not-run']]);
      expect(failed.steps[1]!.detail).to.equal('ACCOUNT_CLOSED: account closed');
      expect(failed.error).to.deep.include({ code: 'ACCOUNT_CLOSED', step: 'transfer', attempts: 1 });

      const sagas = new WorkflowRunner({ storage, tracer: false });
      await sagas.run(new SagaFlow(), { workflowId: 's-1', input: { seat: '7F' } }).catch(() => undefined);
      const saga = (await get('/api/workflows/s-1')).json as WorkflowView;
      expect(saga.status).to.equal('compensated');
      expect(saga.steps.map((s) => [s.name, s.state])).to.deep.equal([['reserve', 'compensated'], ['charge', 'compensated'], ['email', 'compensated'], ['issue', 'failed']]);
      expect(saga.compensation!.cause).to.deep.include({ code: 'NO_TICKETS', step: 'issue' });

      // A run in this process: its running step, then the steps it restored.
      const gate = deferred<void>();
      const started = deferred<void>();
      let failSecond = true;
      @Workflow({ name: 'held' })
      class Held {
        @Step() first() {
          return 1;
        }
        @Step() async second() {
          started.resolve();
          await gate.promise;
          if (failSecond) throw new Error('not yet');
          return 2;
        }
      }
      const own = new WorkflowRunner({ storage, workflows: [Held], tracer: false });
      const dashboard = createDashboard({ runner: own });
      const server = createServer(dashboard).listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const port = (server.address() as AddressInfo).port;
      try {
        const run = own.run(new Held(), { workflowId: 'h-1' });
        await started.promise;
        const running = (await call(port, 'GET', '/api/workflows/h-1', { token: dashboard.token })).json as WorkflowView;
        expect(running.steps.map((s) => [s.name, s.state])).to.deep.equal([['first', 'committed'], ['second', 'running']]);
        expect(running.lease).to.have.property('owner');
        expect((await call(port, 'GET', '/api/workflows?status=running', { token: dashboard.token })).json.items[0].lease, 'the list says who holds it').to.have.property('owner', running.lease!.owner);
        expect(running.interrupted).to.equal(false);
        // The same store seen from another dashboard: the store alone says a run holds the lease.
        const elsewhere = (await get('/api/workflows/h-1')).json as WorkflowView;
        expect(elsewhere.steps.map((s) => [s.name, s.state, s.detail])).to.deep.equal([['first', 'committed', undefined], ['second', 'running', 'its dependencies are committed and a run holds the lease']]);
        gate.resolve();
        await run.catch(() => undefined);
        failSecond = false;
        await own.run(new Held(), { workflowId: 'h-1', resume: true });
        const restored = (await call(port, 'GET', '/api/workflows/h-1', { token: dashboard.token })).json as WorkflowView;
        expect(restored.steps.map((s) => [s.name, s.state])).to.deep.equal([['first', 'restored'], ['second', 'committed']]);
        expect(((await get('/api/workflows/h-1')).json as WorkflowView).steps[0]!.state, 'another process cannot tell').to.equal('committed');
        expect(restored.output).to.deep.equal({ text: '2', length: 1, truncated: false });
      } finally {
        server.close();
        await dashboard.close();
      }
    });

    it('says what a waiting step waits for, a failed compensation, and infers running only once every dependency committed', async () => {
      const base = { formatVersion: 1 as const, workflowName: 'x', fingerprint: 'f', updatedAt: '2026-12-01T00:00:00.000Z' };
      await storage.writeRecord('w-1', { ...base, workflowId: 'w-1', status: 'waiting', steps: [{ name: 'timer', after: [] }, { name: 'event', after: [] }, { name: 'both', after: [] }], waiting: { timer: { wakeAt: '2026-12-02T00:00:00.000Z' }, event: { event: 'go' }, both: { event: 'go', wakeAt: '2026-12-03T00:00:00.000Z' } } }, null);
      const waiting = (await get('/api/workflows/w-1')).json as WorkflowView;
      expect(waiting.steps.map((s) => s.detail)).to.deep.equal(['waits until 2026-12-02T00:00:00.000Z', "waits for event 'go'", "waits for event 'go' (times out at 2026-12-03T00:00:00.000Z)"]);
      // A step called again later: what it did so far (a poll's "not yet" answers, a durable retry's failed attempts).
      const polled = { wakeAt: '2026-12-02T00:05:00.000Z' };
      await storage.writeRecord('p-1', { ...base, workflowId: 'p-1', status: 'waiting', steps: [{ name: 'track', after: [] }, { name: 'upload', after: [] }], waiting: { track: polled, upload: polled }, polls: { track: { next: polled.wakeAt, count: 3, since: base.updatedAt }, upload: { next: polled.wakeAt, count: 0, since: base.updatedAt, attempts: 2 } } }, null);
      const polling = (await get('/api/workflows/p-1')).json as WorkflowView;
      expect(polling.steps.map((s) => s.detail)).to.deep.equal(['waits until 2026-12-02T00:05:00.000Z (3 "not yet" answers)', 'waits until 2026-12-02T00:05:00.000Z (2 failed attempts)']);
      const checkpoint = (step: string) => ({ formatVersion: 1 as const, step, status: 'completed' as const, attempts: 1, committedAt: '2026-12-01T00:00:01.000Z', output: null });
      await storage.writeRecord('c-1', { ...base, workflowId: 'c-1', status: 'failed', steps: [{ name: 'a', after: [] }, { name: 'b', after: ['a'] }], error: { code: 'BOOM', message: 'b failed', step: 'b' }, compensation: { startedAt: base.updatedAt, cause: { code: 'BOOM', message: 'b failed', step: 'b' }, done: {}, errors: [{ code: 'REFUND_DOWN', message: 'refund failed', step: 'a' }] } }, null);
      await storage.commit('c-1', checkpoint('a'));
      const saga = (await get('/api/workflows/c-1')).json as WorkflowView;
      expect(saga.steps.map((s) => [s.name, s.state, s.detail])).to.deep.equal([['a', 'failed', 'compensation failed: REFUND_DOWN: refund failed'], ['b', 'failed', 'BOOM: b failed']]);
      await storage.writeRecord('r-1', { ...base, workflowId: 'r-1', status: 'running', steps: [{ name: 'a', after: [] }, { name: 'b', after: [] }, { name: 'c', after: ['a', 'b'] }] }, null);
      await storage.commit('r-1', checkpoint('a'));
      const held = await storage.acquireLease('r-1', 'elsewhere', 60_000);
      const running = (await get('/api/workflows/r-1')).json as WorkflowView;
      expect(running.steps.map((s) => [s.name, s.state])).to.deep.equal([['a', 'committed'], ['b', 'running'], ['c', 'not-run']]);
      if (held.acquired) await storage.releaseLease(held.lease);
      // Compensating: the steps left are not run forward, whoever holds the lease.
      await storage.writeRecord('k-1', { ...base, workflowId: 'k-1', status: 'compensating', steps: [{ name: 'a', after: [] }, { name: 'b', after: ['a'] }], error: { code: 'X', message: 'x', step: 'c' }, compensation: { startedAt: base.updatedAt, cause: { code: 'X', message: 'x' }, done: {} } }, null);
      await storage.commit('k-1', checkpoint('a'));
      const compensating = (await get('/api/workflows/k-1')).json as WorkflowView;
      expect([compensating.interrupted, compensating.steps[1]!.state]).to.deep.equal([true, 'not-run']);
      const holding = await storage.acquireLease('k-1', 'compensator', 60_000);
      const underWay = (await get('/api/workflows/k-1')).json as WorkflowView;
      expect([underWay.interrupted, underWay.steps[1]!.state]).to.deep.equal([false, 'not-run']);
      if (holding.acquired) await storage.releaseLease(holding.lease);
    });

    it('says interrupted for a running workflow no run holds, and not-run for the step it had reached', async () => {
      await storage.writeRecord('i-1', { formatVersion: 1, workflowId: 'i-1', workflowName: 'delivery', fingerprint: 'f', steps: [{ name: 'pack', after: [] }, { name: 'label', after: ['pack'] }], updatedAt: '2026-12-01T00:00:00.000Z', status: 'running' }, null);
      await storage.commit('i-1', { formatVersion: 1, step: 'pack', status: 'completed', attempts: 1, committedAt: '2026-12-01T00:00:01.000Z', output: { boxes: 1 } });
      const view = (await get('/api/workflows/i-1')).json as WorkflowView;
      expect(view.interrupted).to.equal(true);
      expect(view.steps[1]).to.not.have.property('output');
      expect(view).to.not.have.property('output');
      expect(view.steps.map((s) => [s.name, s.state])).to.deep.equal([['pack', 'committed'], ['label', 'not-run']]);
      expect(view.canResume, 'no input stored').to.equal(false);
    });
  });

  describe('versions', () => {
    it('counts runs per version, offers the migration it can check, moves and restarts only once the id is typed, and says why it refuses', async () => {
      const v1 = new WorkflowRunner({ storage, workflows: [OrderV1], tracer: false });
      await v1.run(new OrderV1(), { workflowId: 'o-1', input: { sku: 'a' } });
      const versioned = await serveDashboard({ runner: new WorkflowRunner({ storage, workflows: [OrderV1, OrderV2], tracer: false }), port: 0 });
      try {
        const at = (method: string, path: string, body?: unknown) => call(versioned.port, method, path, { token: versioned.token, body });
        const counts = await at('GET', '/api/workflows?view=versions');
        expect(counts.json).to.deep.equal({ versions: [{ workflowName: 'order', version: 1, statuses: { waiting: 1 }, unfinished: 1, stranded: 0 }], examined: 1, complete: true });
        const view = (await at('GET', '/api/workflows/o-1')).json as WorkflowView;
        expect(view).to.deep.include({ version: 1, canResume: true, migration: { to: 2, plan: { kept: ['reserve'], renamed: {}, dropped: [], toRun: ['charge', 'ship', 'notify'], converted: [] } } });
        const unconfirmed = await at('POST', '/api/workflows/o-1/migrate', { confirm: 'o-2' });
        expect(unconfirmed.status).to.equal(400);
        expect(unconfirmed.json.error.code).to.equal('WAYMARK_CONFIRMATION_MISMATCH');
        expect((await at('POST', '/api/workflows/o-1/migrate', { confirm: 'o-1', to: 'two' })).status).to.equal(400);
        const moved = await at('POST', '/api/workflows/o-1/migrate', { confirm: 'o-1', to: 2 });
        expect(moved.status).to.equal(200);
        expect(moved.json).to.deep.include({ from: 1, to: 2 });
        expect(((await at('GET', '/api/workflows/o-1')).json as WorkflowView).migration, 'nothing newer to offer').to.equal(undefined);
        expect((await at('POST', '/api/workflows/o-1/restart', { confirm: 'o-1' })).json.error.message).to.contain('"from"');
        const refused = await at('POST', '/api/workflows/o-1/restart', { confirm: 'o-1', from: 'nope' });
        expect(refused.status).to.equal(409);
        expect(refused.json.error.code).to.equal('WAYMARK_RESTART_REFUSED');
        const restarted = await at('POST', '/api/workflows/o-1/restart', { confirm: 'o-1', from: 'reserve' });
        expect(restarted.json).to.deep.include({ rerun: ['reserve', 'charge', 'ship', 'notify'], discarded: ['reserve'] });
        const back = await at('POST', '/api/workflows/o-1/migrate', { confirm: 'o-1', to: 1 });
        expect(back.status).to.equal(409);
        expect(back.json.error.message).to.contain('runs only move forward');
      } finally {
        await versioned.close();
      }
    });
  });

  describe('actions', () => {
    it('sends an event (idempotent by event id) that the waiting workflow consumes when resumed', async () => {
      await runner.run(new Delivery(), { workflowId: 'd-1', input: input('1') });
      const sent = await post('/api/workflows/d-1/events', { event: 'picked-up', payload: { courier: 'ups' }, eventId: 'e-1' });
      expect(sent.json).to.deep.equal({ duplicate: false, eventId: 'e-1', wakes: true });
      expect((await post('/api/workflows/d-1/events', { event: 'picked-up', eventId: 'e-1' })).json).to.deep.equal({ duplicate: true, eventId: 'e-1', wakes: true });
      const resumed = await post('/api/workflows/d-1/resume', {});
      expect(resumed.json).to.deep.equal({ started: true });
      await served.close(); // waits for the resume it started
      const info = await runner.get('d-1', { outputs: true });
      expect(info!.status).to.equal('completed');
      expect(info!.steps.dispatch!.output).to.deep.equal({ courier: 'ups' });
      served = await serveDashboard({ runner, port: 0 });
      for (const [body, code, message] of [
        [{}, 'WAYMARK_INVALID_OPTION', 'the body needs "event"'],
        [{ event: '' }, 'WAYMARK_INVALID_OPTION', 'the body needs "event"'],
        [{ event: 'x', eventId: 5 }, 'WAYMARK_INVALID_OPTION', '"eventId" must be a string'],
        [{ event: 'x', payload: 1n }, 'WAYMARK_INVALID_JSON', ''],
      ] as const) {
        const answer = typeof body === 'object' && 'payload' in body ? await call(served.port, 'POST', '/api/workflows/d-1/events', { token: served.token, raw: '{"event":' }) : await post('/api/workflows/d-1/events', body);
        expect(answer.status).to.equal(400);
        expect(answer.json.error.code).to.equal(code);
        expect(answer.json.error.message).to.contain(message);
      }
      expect((await post('/api/workflows/none/events', { event: 'x' })).json.error.code).to.equal('WAYMARK_WORKFLOW_NOT_FOUND');
      for (const raw of ['[]', 'null', '"x"', '{"event":']) {
        const answer = await call(served.port, 'POST', '/api/workflows/d-1/events', { token: served.token, raw });
        expect([answer.status, answer.json.error.code], raw).to.deep.equal([400, 'WAYMARK_INVALID_JSON']);
        expect(answer.json.error.message).to.contain('the body is not a JSON object');
      }
      const large = await call(served.port, 'POST', '/api/workflows/d-1/events', { token: served.token, raw: JSON.stringify({ event: 'x', payload: 'y'.repeat(1024 * 1024) }) });
      expect([large.status, large.json.error.code]).to.deep.equal([413, 'WAYMARK_BODY_TOO_LARGE']);
      const exactly = JSON.stringify({ event: 'big', payload: 'y'.repeat(1024 * 1024 - 28) });
      expect(exactly).to.have.length(1024 * 1024);
      const justUnder = await call(served.port, 'POST', '/api/workflows/d-1/events', { token: served.token, raw: exactly });
      expect(justUnder.status, 'a body of up to 1 MiB is read').to.equal(200);
    });

    it('clears only with the workflow id typed as confirmation, and never under a run that holds the lease', async () => {
      for (const id of ['d-1', 'd-10']) await runner.run(new Delivery(), { workflowId: id, input: input(id) });
      const unconfirmed = await post('/api/workflows/d-1/clear', { confirm: 'd-10' });
      expect(unconfirmed.status).to.equal(400);
      expect(unconfirmed.json.error).to.deep.equal({ code: 'WAYMARK_CONFIRMATION_MISMATCH', message: "type the workflow id 'd-1' to confirm the clear" });
      const held = await storage.acquireLease('d-1', 'a worker', 60_000);
      const busy = await post('/api/workflows/d-1/clear', { confirm: 'd-1' });
      expect(busy.status).to.equal(409);
      expect(busy.json.error.code).to.equal('WAYMARK_WORKFLOW_BUSY');
      expect(busy.json.error.message).to.contain('a worker');
      expect(await runner.get('d-1')).to.not.equal(undefined);
      if (held.acquired) await storage.releaseLease(held.lease);
      expect((await post('/api/workflows/d-1/clear', { confirm: 'd-1' })).json).to.deep.equal({ cleared: true, checkpoints: 3 });
      expect(await runner.get('d-1')).to.equal(undefined);
      expect(await runner.get('d-10'), 'the sibling sharing a prefix stays').to.not.equal(undefined);
      expect((await post('/api/workflows/d-1/clear', { confirm: 'd-1' })).json).to.deep.equal({ cleared: false, checkpoints: 0 });
    });

    it('cancels only with the workflow id typed as confirmation, and says what it did', async () => {
      await runner.run(new Delivery(), { workflowId: 'd-1', input: input('d-1') });
      const unconfirmed = await post('/api/workflows/d-1/cancel', { confirm: 'd-' });
      expect(unconfirmed.status).to.equal(400);
      expect(unconfirmed.json.error).to.deep.equal({ code: 'WAYMARK_CONFIRMATION_MISMATCH', message: "type the workflow id 'd-1' to confirm the cancel" });
      expect((await post('/api/workflows/d-1/cancel', { confirm: 'd-1', reason: 7 })).json.error.code).to.equal('WAYMARK_INVALID_OPTION');
      expect((await runner.get('d-1'))!.status).to.equal('waiting');
      expect((await post('/api/workflows/d-1/cancel', { confirm: 'd-1', reason: 'address unknown' })).json).to.deep.equal({ outcome: 'cancelled', status: 'cancelled' });
      expect((await runner.get('d-1'))!.error!.message).to.equal('cancelled: address unknown');
      expect((await post('/api/workflows/d-1/cancel', { confirm: 'd-1' })).json).to.deep.equal({ outcome: 'ended', status: 'cancelled' });
      expect((await post('/api/workflows/nobody/cancel', { confirm: 'nobody' })).status).to.equal(404);
    });

    it('resumes what its runner can run, asks a worker for the rest, and not while a run holds the lease', async () => {
      await runner.run(new Delivery(), { workflowId: 'd-1', input: input('1') });
      const bare = await serveDashboard({ runner: new WorkflowRunner({ storage, tracer: false }), port: 0 });
      try {
        // Without the class, a run is asked for: a wake entry now, for a worker that has it.
        const requested = await call(bare.port, 'POST', '/api/workflows/d-1/resume', { token: bare.token, body: {} });
        expect(requested.json).to.deep.equal({ requested: true });
        expect((await storage.dueWakes(Date.now(), 10)).map((e) => e.workflowId)).to.include('d-1');
        expect(((await call(bare.port, 'GET', '/api/workflows/d-1', { token: bare.token })).json as WorkflowView).canResume).to.equal(false);
        expect(((await call(bare.port, 'GET', '/api/workflows/d-1', { token: bare.token })).json as WorkflowView).ignoredInput).to.equal(null);
      } finally {
        await bare.close();
      }
      const held = await storage.acquireLease('d-1', 'a worker', 60_000);
      const busy = await post('/api/workflows/d-1/resume', {});
      expect(busy.status).to.equal(409);
      expect(busy.json.error.code).to.equal('WAYMARK_WORKFLOW_BUSY');
      if (held.acquired) await storage.releaseLease(held.lease);
      expect((await post('/api/workflows/none/resume', {})).status).to.equal(404);
      expect((await post('/api/workflows/d-1/nothing', {})).status).to.equal(404);
    });
  });

  it('answers 500 naming nothing for an error it did not expect, and tells onError; a resume it started reports only what the store does not keep', async () => {
    const errors: unknown[] = [];
    const broken = new MemoryStorage();
    const own = await serveDashboard({ runner: new WorkflowRunner({ storage: broken, workflows: [Payout], tracer: false }), port: 0, onError: (e) => errors.push(e) });
    try {
      await new WorkflowRunner({ storage: broken, tracer: false }).run(new Payout(), { workflowId: 'p-1' }).catch(() => undefined);
      const resumed = await call(own.port, 'POST', '/api/workflows/p-1/resume', { token: own.token, body: {} });
      expect(resumed.json).to.deep.equal({ started: true });
      await own.close();
      expect(errors, 'a run that failed again is stored as failed: nothing to report').to.deep.equal([]);
      broken.readRecord = () => Promise.reject(new Error('disk on fire'));
      const reopened = await serveDashboard({ runner: new WorkflowRunner({ storage: broken, workflows: [Payout], tracer: false }), port: 0, onError: (e) => errors.push(e) });
      try {
        const answer = await call(reopened.port, 'GET', '/api/workflows', { token: reopened.token });
        expect(answer.status).to.equal(500);
        expect(answer.json).to.deep.equal({ error: { code: 'WAYMARK_DASHBOARD_ERROR', message: 'the dashboard failed to answer; see the server log' } });
        expect(errors.map((e) => (e as Error).message)).to.deep.equal(['disk on fire']);
      } finally {
        await reopened.close();
      }
      const lease = broken.acquireLease.bind(broken);
      broken.readRecord = MemoryStorage.prototype.readRecord.bind(broken);
      const third = await serveDashboard({ runner: new WorkflowRunner({ storage: broken, workflows: [Payout], tracer: false }), port: 0, onError: (e) => errors.push(e) });
      broken.acquireLease = () => Promise.reject(new Error('lease table gone'));
      try {
        expect((await call(third.port, 'POST', '/api/workflows/p-1/resume', { token: third.token, body: {} })).json).to.deep.equal({ started: true });
      } finally {
        await third.close();
        broken.acquireLease = lease;
      }
      const fourth = await serveDashboard({ runner: new WorkflowRunner({ storage: broken, workflows: [Payout], tracer: false }), port: 0, onError: (e) => errors.push(e) });
      broken.acquireLease = () => Promise.reject(new WorkflowNotFoundError('p-1'));
      try {
        expect((await call(fourth.port, 'POST', '/api/workflows/p-1/resume', { token: fourth.token })).json, 'no body at all is an empty one').to.deep.equal({ started: true });
      } finally {
        await fourth.close();
        broken.acquireLease = lease;
      }
      expect(errors.map((e) => (e as Error).message)).to.deep.equal(['disk on fire', 'lease table gone', new WorkflowNotFoundError('p-1').message]);
    } finally {
      await own.close();
    }
  });

  it('close() waits for the resumes it started, and stops serving', async () => {
    const gate = deferred<void>();
    const entered = deferred<void>();
    @Workflow({ name: 'slow' })
    class Slow {
      @Step() async only() {
        entered.resolve();
        await gate.promise;
        return 'done';
      }
    }
    const slowRunner = new WorkflowRunner({ storage, workflows: [Slow], tracer: false });
    const own = await serveDashboard({ runner: slowRunner, port: 0 });
    await storage.writeRecord('s-1', { formatVersion: 1, workflowId: 's-1', workflowName: 'slow', fingerprint: 'f', steps: [{ name: 'only', after: [] }], updatedAt: '2026-12-01T00:00:00.000Z', status: 'running', input: null }, null);
    expect((await call(own.port, 'POST', '/api/workflows/s-1/resume', { token: own.token, body: {} })).json).to.deep.equal({ started: true });
    await entered.promise;
    let closed = false;
    const closing = own.close().then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed, 'a started resume is still running').to.equal(false);
    gate.resolve();
    await closing;
    expect((await slowRunner.get('s-1'))!.status).to.equal('completed');
    const refused = await call(own.port, 'GET', '/').catch((e: unknown) => e);
    expect(refused).to.have.property('code', 'ECONNREFUSED');
    const anywhere = await serveDashboard({ runner, port: 0, host: '0.0.0.0' });
    try {
      expect(anywhere.url, 'bound to every address, opened on this machine').to.match(/^http:\/\/127\.0\.0\.1:\d+\/#token=/);
    } finally {
      await anywhere.close();
    }
  });

  it('finds its assets where an app mounted it (Express keeps the mount path in originalUrl)', async () => {
    const dashboard = createDashboard({ runner });
    const server = createServer((req, res) => {
      if (!req.url!.startsWith('/ops/waymark')) return void res.writeHead(404).end();
      Object.assign(req, { originalUrl: req.url, url: req.url!.slice('/ops/waymark'.length) || '/' });
      dashboard(req, res);
    }).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const page = await call((server.address() as AddressInfo).port, 'GET', '/ops/waymark/workflows/d-1');
      expect(page.text).to.contain('<script src="/ops/waymark/assets/app.js" defer></script>').and.contain('data-base="/ops/waymark"');
    } finally {
      server.close();
      await dashboard.close();
    }
  });

});
