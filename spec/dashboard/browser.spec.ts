/**
 * The dashboard end to end, as a user meets it: `waymark ui --store file:<dir>` (the real bin over
 * dist/, in a child process) opened in Debian's Chromium through playwright-core, over a store a
 * crashed process, failed and compensated runs and waiting workflows left behind. With
 * WAYMARK_SCREENSHOTS=<dir> it saves the pictures README shows.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Step, Workflow } from '../../decorators';
import { createDashboard } from '../../lib/dashboard';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { StepContext } from '../../lib/runner/step-context';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { WorkflowWorker } from '../../lib/worker/workflow-worker';
import { Delivery, Payout, type DeliveryInput } from '../fixtures/dashboard-flows';
import { SagaFlow } from '../fixtures/saga-flow';
import { launchChromium } from '../helpers/browser';
import { runTs } from '../helpers/child';
import { deferred } from '../helpers/deferred';
import { tempDir } from '../helpers/temp-dir';
import { PurchaseFlow } from '../fixtures/branch-flow';
import { InvoiceLines } from '../fixtures/fan-out-flow';
import { OrderV1, OrderV2 } from '../fixtures/order-versions';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'waymark.js');
const SCREENSHOTS = process.env.WAYMARK_SCREENSHOTS;

/** A workflow whose outputs are not plain JSON: a Date, a BigInt, bytes, a Set, undefined. */
@Workflow({ name: 'stamped' })
class Stamped {
  @Step() stamp() {
    return { at: new Date('2026-12-01T00:00:00.000Z'), cents: 1200n, bytes: Buffer.from('hi'), tags: new Set(['a']), none: undefined };
  }
  @Step() count() {
    return 7;
  }
}

const flaky = { failures: 1 };

/** A step retried once, then a timer: the timeline shows the retry and the wait as a gap. */
@Workflow({ name: 'timed' })
class Timed {
  @Step({ retry: { attempts: 2, delayMs: 20 } }) fetch() {
    if (flaky.failures-- > 0) throw Object.assign(new Error('partner timed out'), { code: 'PARTNER_TIMEOUT' });
    return 'rows';
  }
  @Step({ delayMs: 400 }) send() {
    return 'sent';
  }
}

const input = (orderId: string): DeliveryInput => ({ orderId, items: ['lamp', 'desk', 'chair'], meta: { requestId: `req-${orderId}-7f3a` } });

/** `waymark ui` in a child process; resolves with the URL it printed. */
function startUi(store: string): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, 'ui', '--store', `file:${store}`, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      const url = /(http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(stdout)?.[1];
      if (url !== undefined) resolve({ child, url, stderr: () => stderr });
    });
    child.once('exit', (code) => reject(new Error(`waymark ui exited with ${code} before printing its URL: ${stderr}`)));
  });
}

// The functions below run in the page; this project compiles without the DOM's types, so they are
// written as the page's own expressions.

/** A computed style property of the first element `selector` finds. */
function computed(page: Page, selector: string, property: string): Promise<string> {
  return page.evaluate(`getComputedStyle(document.querySelector(${JSON.stringify(selector)}))[${JSON.stringify(property)}]`);
}

/** The fill colour the page gave a step's box. */
function boxFill(page: Page, step: string): Promise<string> {
  return computed(page, `g[data-step="${step}"] rect.face`, 'fill');
}

/** Waits until the list shows `count` rows (a function, not a string: the page's policy forbids eval). */
function rows(page: Page, count: number): Promise<unknown> {
  type PageGlobal = { document: { querySelectorAll(selector: string): { length: number } } };
  return page.waitForFunction((n) => (globalThis as unknown as PageGlobal).document.querySelectorAll('tr[data-workflow-id]').length === n, count);
}

describe('dashboard in Chromium (waymark ui)', function () {
  this.timeout(90_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runner: WorkflowRunner;
  let ui: Awaited<ReturnType<typeof startUi>>;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    dir = await tempDir('waymark-ui-');
    runner = new WorkflowRunner({ storage: new FileStorage({ directory: dir.path }), workflows: [Delivery, Payout, SagaFlow], tracer: false });
    for (const id of ['delivery-1', 'delivery-2', 'delivery-3']) await runner.run(new Delivery(), { workflowId: id, input: input(id) });
    await runner.run(new Payout(), { workflowId: 'payout-1' }).catch(() => undefined);
    await runner.run(new SagaFlow(), { workflowId: 'booking-1', input: { seat: '7F' } }).catch(() => undefined);
    const crashed = await runTs('spec/fixtures/dashboard-flows.ts', { STORE: dir.path, WORKFLOW_ID: 'delivery-crashed', CRASH_IN: 'invoice' });
    expect(crashed.signal, crashed.stderr).to.equal('SIGKILL');
    ui = await startUi(dir.path);
    origin = new URL(ui.url).origin;
    browser = await launchChromium();
    // One browser profile for the specs, as one person's browser: the token is kept once opened.
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  });

  beforeEach(async () => {
    page = await context.newPage();
    page.on('pageerror', (error) => expect.fail(`the page threw: ${error.message}`));
  });
  afterEach(async () => {
    await page.close();
  });

  after(async () => {
    await browser?.close();
    if (ui !== undefined) {
      const exited = new Promise<number | null>((resolve) => ui.child.once('exit', resolve));
      ui.child.kill('SIGTERM');
      expect(await exited, `waymark ui stops cleanly on SIGTERM: ${ui.stderr()}`).to.equal(0);
    }
    await dir?.remove();
  });

  const ids = (p: Page) => p.$$eval('tr[data-workflow-id]', (rows) => rows.map((r) => r.getAttribute('data-workflow-id')));

  it('opens the list from the printed URL, keeps the token out of the address bar, and filters by status and id', async () => {
    await page.goto(ui.url);
    await page.waitForSelector('tr[data-workflow-id]');
    expect(page.url()).to.equal(`${origin}/`);
    expect(await ids(page)).to.deep.equal(['booking-1', 'delivery-1', 'delivery-2', 'delivery-3', 'delivery-crashed', 'payout-1']);
    expect(await page.textContent('tr[data-workflow-id="delivery-1"]')).to.contain('waiting').and.contain('picked-up');
    expect(await page.textContent('tr[data-workflow-id="payout-1"]')).to.contain('ACCOUNT_CLOSED in transfer: account closed');
    expect(await page.textContent('tr[data-workflow-id="delivery-crashed"]')).to.contain('running').and.contain('interrupted: no run holds it');
    expect(await page.textContent('tr[data-workflow-id="delivery-1"]')).to.not.contain('interrupted');
    if (SCREENSHOTS !== undefined) await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-list.png') });

    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(`${origin}/?status=failed`);
    await rows(page, 1);
    expect(await ids(page)).to.deep.equal(['payout-1']);

    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Workflow id starts with').fill('delivery-');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(`${origin}/?id=delivery-`);
    await rows(page, 4);
    expect(await ids(page)).to.deep.equal(['delivery-1', 'delivery-2', 'delivery-3', 'delivery-crashed']);
    await page.goBack();
    await rows(page, 1);
  });

  it('shows a workflow whose run crashed mid-graph: what committed in green, the rest not run, and says it was interrupted', async () => {
    await page.goto(ui.url);
    await page.getByRole('link', { name: 'delivery-crashed' }).click();
    await page.waitForSelector('svg.graph g[data-step]');
    const states = await page.$$eval('svg.graph g[data-step]', (nodes) => nodes.map((n) => [n.getAttribute('data-step'), n.getAttribute('data-state'), n.textContent]));
    expect(states).to.deep.equal([
      ['pack', 'committed', 'pack: committed' + 'packcommitted'],
      ['label', 'committed', 'label: committed' + 'labelcommitted'],
      ['invoice', 'not-run', 'invoice: not run' + 'invoicenot run'],
      ['dispatch', 'not-run', 'dispatch: not run' + 'dispatchnot run'],
    ]);
    const green = await boxFill(page, 'pack');
    const grey = await boxFill(page, 'invoice');
    expect(green).to.equal('rgb(218, 251, 225)');
    expect(grey).to.equal('rgb(246, 248, 250)');
    expect(await page.getByRole('note').textContent()).to.contain('Interrupted: the workflow is running but no run holds its lease');
    expect(await page.isVisible('#migrate-title'), 'no migration is offered where none is declared').to.equal(false);
    expect(await page.textContent('#input')).to.contain('"requestId": "req-1"');
    expect(await page.textContent('main')).to.contain('Which fields the fingerprint ignores is shown where the dashboard knows the workflow class');

    await page.goto(`${origin}/workflows/payout-1`);
    await page.waitForSelector('g[data-step="transfer"]');
    expect(await boxFill(page, 'transfer')).to.equal('rgb(255, 235, 233)');
    expect(await page.textContent('tr[data-step="transfer"]')).to.contain('ACCOUNT_CLOSED: account closed');
    // The failure's stack, collapsed until opened.
    expect(await page.isVisible('details.stack pre')).to.equal(false);
    await page.click('details.stack summary');
    expect(await page.textContent('details.stack pre')).to.match(/^Error: account closed\n\s+at /);
    await page.goto(`${origin}/workflows/booking-1`);
    await page.waitForSelector('g[data-step="reserve"]');
    expect(await boxFill(page, 'reserve')).to.equal('rgb(255, 241, 229)');
    expect(await page.$eval('g[data-step="reserve"]', (g) => g.getAttribute('data-state'))).to.equal('compensated');

    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await boxFill(page, 'reserve'), 'dark: its own colours').to.equal('rgb(58, 34, 16)');
  });

  it('sends an event from the page that wakes the waiting workflow through a worker, and shows it complete', async () => {
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 50 });
    await worker.start();
    try {
      await page.goto(`${origin}/workflows/delivery-2`);
      await page.waitForSelector('g[data-step="dispatch"][data-state="waiting"]');
      expect(await page.textContent('tr[data-step="dispatch"]')).to.contain("waits for event 'picked-up'");
      expect(await boxFill(page, 'dispatch')).to.equal('rgb(251, 239, 255)');
      await page.getByLabel('Event name').fill('picked-up');
      await page.getByLabel('Payload (JSON, optional)').fill('{"courier":"dhl"}');
      await page.getByRole('button', { name: 'Send event' }).click();
      await page.waitForSelector('#action-message:has-text("Sent picked-up")');
      // The page refreshes itself: the worker (another process than the dashboard's) resumes it.
      await page.waitForSelector('h1 .badge.s-completed', { timeout: 30_000 });
      expect(await page.$eval('g[data-step="dispatch"]', (g) => g.getAttribute('data-state'))).to.equal('committed');
      expect(await page.textContent('#mailbox')).to.contain('picked-up').and.contain('dispatch');
      const info = await runner.get('delivery-2', { outputs: true });
      expect(info!.steps.dispatch!.output).to.deep.equal({ courier: 'dhl' });
    } finally {
      await worker.stop();
    }
  });

  it('clears a workflow only once its id is typed, and shows it gone', async () => {
    await page.goto(`${origin}/workflows/delivery-3`);
    await page.waitForSelector('g[data-step]');
    const button = page.getByRole('button', { name: 'Clear this workflow' });
    expect(await button.isDisabled()).to.equal(true);
    await page.getByLabel('Type the workflow id to confirm').fill('delivery-');
    expect(await button.isDisabled()).to.equal(true);
    await page.getByLabel('Type the workflow id to confirm').fill('delivery-3');
    expect(await button.isDisabled()).to.equal(false);
    await button.click();
    await page.waitForSelector('#action-message:has-text("Cleared delivery-3 (3 checkpoints)")');
    expect(await runner.get('delivery-3')).to.equal(undefined);
    // Nothing is left to act on: every form on the page is disabled.
    const enabled = await page.$$eval('.actions button, .actions input, .actions textarea, .actions select', (controls) => controls.filter((c) => !(c as unknown as { disabled: boolean }).disabled).map((c) => c.outerHTML));
    expect(enabled).to.deep.equal([]);
    expect(await runner.get('delivery-1'), 'the others stay').to.not.equal(undefined);
  });

  it('shows stored values in their own types, every time in one named zone (UTC on hover), and counts in words', async () => {
    await runner.run(new Stamped(), { workflowId: 'stamped-1' });
    const tokyo = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'Asia/Tokyo', locale: 'en-US' });
    try {
      const local = await tokyo.newPage();
      local.on('pageerror', (error) => expect.fail(`the page threw: ${error.message}`));
      await local.goto(ui.url);
      await local.waitForSelector('tr[data-workflow-id]');
      await local.goto(`${origin}/workflows/stamped-1`);
      await local.waitForSelector('h1 .badge.s-completed');
      const output = await local.textContent('tr[data-step="stamp"]');
      expect(output).to.contain('"at": Date(2026-12-01T00:00:00.000Z)').and.contain('"cents": 1200n').and.contain('"bytes": Buffer(2) hex 6869').and.contain('"tags": Set(1) [').and.contain('"none": undefined');
      expect(output).not.to.contain('$wm');
      expect(await local.textContent('tr[data-step="count"] summary')).to.equal('1 character');
      const times = await local.$$eval('time', (nodes) => nodes.map((t) => [t.textContent, t.getAttribute('title')]));
      expect(times.length).to.be.greaterThan(0);
      for (const [text, title] of times) {
        expect(text, 'the zone is named').to.contain('GMT+9');
        expect(title, 'UTC on hover').to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
      }
    } finally {
      await tokyo.close();
    }
  });

  it('draws a timeline of any process\'s run from what the store says: bars for attempts, gaps for waits, retries with their last failure', async () => {
    // Another runner than the dashboard's (waymark ui runs in its own process): only the store tells.
    await new WorkflowRunner({ storage: new FileStorage({ directory: dir.path }), tracer: false }).run(new Timed(), { workflowId: 'timed-1' });
    await page.goto(ui.url);
    await page.waitForSelector('tr[data-workflow-id]');
    await page.goto(`${origin}/workflows/timed-1`);
    await page.waitForSelector('#timeline li[data-step="send"]');
    const rowsOf = () => page.$$eval('#timeline li', (items) => items.map((li) => [li.getAttribute('data-step'), li.getAttribute('data-state'), li.querySelector('.took')!.textContent]));
    const [fetch, send] = await rowsOf();
    expect(fetch![0]).to.equal('fetch');
    expect(fetch![2]).to.match(/^\d+ ms \(2 attempts; the one before failed: PARTNER_TIMEOUT: partner timed out\)$/);
    expect(send!.slice(0, 2)).to.deep.equal(['send', 'committed']);
    // The timer is a gap: the second bar starts after the first one ends, by about its 400 ms.
    const boxes = await page.$$eval('#timeline .bar', (bars) => bars.map((b) => { const r = b.getBoundingClientRect(); return [r.left, r.right]; }));
    const track = await page.$eval('#timeline .track', (t) => t.getBoundingClientRect().width);
    expect(boxes).to.have.length(2);
    const gap = (boxes[1]![0]! - boxes[0]![1]!) / track;
    expect(gap, 'the wait is a visible gap').to.be.greaterThan(0.3);
    expect(await page.textContent('tr[data-step="fetch"]')).to.contain('the one before failed: PARTNER_TIMEOUT: partner timed out');
    if (SCREENSHOTS !== undefined) await page.locator('#timeline').screenshot({ path: join(SCREENSHOTS, 'dashboard-timeline.png') });

    // A waiting step: a dashed bar up to when it is due, or to now for an event.
    await page.goto(`${origin}/workflows/delivery-1`);
    await page.waitForSelector('#timeline li[data-step="dispatch"]');
    expect(await page.$eval('#timeline li[data-step="dispatch"]', (li) => [li.getAttribute('data-state'), li.querySelector('.bar')!.className, li.querySelector('.took')!.textContent])).to.deep.equal(['waiting', 'bar wait state-waiting', 'waits for an event']);
  });

  it('acts on many from the list: the rows checked, or every workflow the filter matches, once their count is typed', async () => {
    for (const id of ['bulk-a', 'bulk-b']) await runner.run(new Delivery(), { workflowId: id, input: input(id) });
    await page.goto(ui.url);
    await page.goto(`${origin}/?id=bulk-`);
    await rows(page, 2);
    const go = page.locator('#bulk-go');
    expect(await page.textContent('#bulk-count')).to.equal('0 workflows selected');
    expect(await page.isDisabled('#bulk-preview')).to.equal(true);
    await page.getByLabel('Select bulk-a').check();
    await page.getByLabel('Select bulk-b').check();
    expect(await page.textContent('#bulk-count')).to.equal('2 workflows selected');
    await page.getByLabel('Action').selectOption('cancel');
    await page.click('#bulk-preview');
    await page.waitForSelector('#bulk-summary:has-text("This will cancel 2 workflows: bulk-a, bulk-b. Type 2 to confirm.")');
    expect(await go.isDisabled()).to.equal(true);
    await page.getByLabel('Number of workflows, to confirm').fill('3');
    expect(await go.isDisabled()).to.equal(true);
    await page.getByLabel('Number of workflows, to confirm').fill('2');
    expect(await go.textContent()).to.equal('Cancel 2');
    if (SCREENSHOTS !== undefined) await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-bulk.png'), fullPage: true });
    await go.click();
    await page.waitForSelector('#bulk-message:has-text("Cancelled 2 of 2 workflows.")');
    for (const id of ['bulk-a', 'bulk-b']) expect((await runner.get(id))!.status, id).to.equal('cancelled');
    expect(await page.textContent('#bulk-count'), 'the selection is cleared').to.equal('0 workflows selected');

    // Every failed one, through the filter: asked to resume (waymark ui has no class), for a worker.
    await page.goto(`${origin}/?status=failed`);
    await page.waitForSelector('tr[data-workflow-id]');
    await page.getByRole('button', { name: 'Select every workflow that matches' }).click();
    expect(await page.textContent('#bulk-count')).to.equal('every workflow that matches this filter');
    await page.click('#bulk-preview');
    const summary = await page.waitForSelector('#bulk-summary:has-text("This will resume")');
    const count = Number(/resume (\d+) workflow/.exec((await summary.textContent())!)![1]);
    const failed = (await runner.list({ status: 'failed' })).items.length;
    expect(count).to.equal(failed);
    await page.getByLabel('Number of workflows, to confirm').fill(String(count));
    await go.click();
    await page.waitForSelector(`#bulk-message:has-text("Asked to resume ${count} of ${count === 1 ? '1 workflow' : `${count} workflows`}.")`);
    expect((await runner.storage.readRecord('payout-1'))!.record.resumeRequested, 'a request a worker with the class picks up').to.not.equal(undefined);
  });

  it('cancels a waiting workflow only once its id is typed, with a reason, and shows it cancelled', async () => {
    await runner.run(new Delivery(), { workflowId: 'delivery-cancel', input: input('delivery-cancel') });
    await page.goto(`${origin}/workflows/delivery-cancel`);
    await page.waitForSelector('g[data-step]');
    const button = page.getByRole('button', { name: 'Cancel this workflow' });
    expect(await button.isDisabled()).to.equal(true);
    await page.getByLabel('Reason (optional)').fill('the customer picked it up in store');
    await page.getByLabel('Workflow id, to confirm the cancel').fill('delivery-cance');
    expect(await button.isDisabled()).to.equal(true);
    await page.getByLabel('Workflow id, to confirm the cancel').fill('delivery-cancel');
    await button.click();
    await page.waitForSelector('#action-message:has-text("Cancelled: it never runs again.")');
    const info = await runner.get('delivery-cancel');
    expect(info!.status).to.equal('cancelled');
    expect(info!.error).to.deep.equal({ code: 'WAYMARK_CANCELLED', message: 'cancelled: the customer picked it up in store' });
    // The page redraws itself: cancelled, nothing left to cancel.
    await page.waitForSelector('text=It has ended; nothing to cancel.');
    expect(await page.getByLabel('Workflow id, to confirm the cancel').isDisabled()).to.equal(true);
    await runner.clear('delivery-cancel');
  });

  it('refuses an action without the token: a page without it asks for it, and a request without it changes nothing', async () => {
    const context = await browser.newContext();
    const stranger = await context.newPage();
    try {
      await stranger.goto(`${origin}/workflows/delivery-1`);
      await stranger.waitForSelector('h1:has-text("Token needed")');
      const answers = await stranger.evaluate(async () => {
        const tries = [
          fetch('/api/workflows/delivery-1/clear', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ confirm: 'delivery-1' }) }),
          fetch('/api/workflows/delivery-1/events', { method: 'POST', headers: { 'content-type': 'application/json', 'x-waymark-token': 'guess-guess-guess-guess' }, body: JSON.stringify({ event: 'picked-up' }) }),
        ];
        return Promise.all(tries.map(async (t) => { const r = await t; return [r.status, ((await r.json()) as { error: { code: string } }).error.code]; }));
      });
      expect(answers).to.deep.equal([
        [403, 'WAYMARK_DASHBOARD_TOKEN'],
        [403, 'WAYMARK_DASHBOARD_TOKEN'],
      ]);
      expect((await runner.get('delivery-1', { events: true }))!.events).to.deep.equal([]);
      await stranger.getByLabel('Dashboard token').fill(new URL(ui.url).hash.slice('#token='.length));
      await stranger.getByRole('button', { name: 'Use token' }).click();
      await stranger.waitForSelector('g[data-step="dispatch"]');
    } finally {
      await context.close();
    }
  });
});

/** The dashboard mounted in an app of `runner` (a plain HTTP server), and a Chromium page for it; `close()` ends all three. */
async function mountDashboard(runner: WorkflowRunner, viewport = { width: 1280, height: 800 }): Promise<{ page: Page; origin: string; token: string; close(): Promise<void> }> {
  const dashboard = createDashboard({ runner });
  const server = createServer(dashboard).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport });
  page.on('pageerror', (error) => expect.fail(`the page threw: ${error.message}`));
  return {
    page,
    origin,
    token: dashboard.token,
    close: async () => {
      await browser.close();
      server.close();
      await dashboard.close();
    },
  };
}

describe('dashboard in Chromium (mounted in the app that registers the classes)', function () {
  this.timeout(90_000);

  it('marks what the fingerprint ignores, and resumes a crashed workflow from the page: restored steps, then the rest', async () => {
    const dir = await tempDir('waymark-ui-');
    const crashed = await runTs('spec/fixtures/dashboard-flows.ts', { STORE: dir.path, WORKFLOW_ID: 'delivery-crashed', CRASH_IN: 'invoice' });
    expect(crashed.signal, crashed.stderr).to.equal('SIGKILL');
    const runner = new WorkflowRunner({ storage: new FileStorage({ directory: dir.path }), workflows: [Delivery], tracer: false });
    const { page, origin, token, close } = await mountDashboard(runner);
    try {
      await page.goto(`${origin}/workflows/delivery-crashed#token=${token}`);
      await page.waitForSelector('g[data-step="invoice"][data-state="not-run"]');
      expect(await page.$$eval('#input .ignored', (leaves) => leaves.map((l) => l.getAttribute('data-path')))).to.deep.equal(['meta.requestId']);
      expect(await computed(page, '#input .ignored', 'textDecorationLine')).to.equal('line-through');
      await page.getByRole('button', { name: 'Resume now' }).click();
      await page.waitForSelector('#action-message:has-text("Resumed")');
      await page.waitForSelector('g[data-step="dispatch"][data-state="waiting"]', { timeout: 30_000 });
      const states = await page.$$eval('svg.graph g[data-step]', (nodes) => nodes.map((n) => [n.getAttribute('data-step'), n.getAttribute('data-state')]));
      expect(states).to.deep.equal([
        ['pack', 'restored'],
        ['label', 'restored'],
        ['invoice', 'committed'],
        ['dispatch', 'waiting'],
      ]);
      expect(await boxFill(page, 'pack'), 'restored: blue').to.equal('rgb(221, 244, 255)');
      if (SCREENSHOTS !== undefined) await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-workflow.png'), fullPage: true });
      // The keyboard reaches every step of the graph.
      await page.focus('svg.graph a');
      expect(await page.evaluate("document.activeElement.getAttribute('aria-label')")).to.equal('pack: restored');
    } finally {
      await close();
      await dir.remove();
    }
  });

  it('draws a branch: the skipped step struck through, the steps that have a when marked, the join committed', async () => {
    const dir = await tempDir('waymark-ui-');
    const runner = new WorkflowRunner({ storage: new FileStorage({ directory: dir.path }), workflows: [PurchaseFlow], tracer: false });
    await runner.run(new PurchaseFlow(), { workflowId: 'purchase-1', input: { cents: 250_000 } });
    const { page, origin, token, close } = await mountDashboard(runner);
    try {
      await page.goto(`${origin}/workflows/purchase-1#token=${token}`);
      await page.waitForSelector('g[data-step="autoApproval"]');
      const nodes = await page.$$eval('svg.graph g[data-step]', (gs) => gs.map((g) => [g.getAttribute('data-step'), g.getAttribute('data-state'), g.getAttribute('class'), g.querySelector('text.state')!.textContent]));
      expect(nodes).to.deep.equal([
        ['check', 'committed', 'node state-committed', 'committed'],
        ['managerApproval', 'committed', 'node state-committed branch', 'committed · if'],
        ['autoApproval', 'skipped', 'node state-skipped branch', 'skipped · if'],
        ['ship', 'committed', 'node state-committed', 'committed'],
      ]);
      expect(await computed(page, 'g[data-step="autoApproval"] text', 'textDecorationLine')).to.equal('line-through');
      // The class is registered: the condition is printed, as waymark graph prints it.
      expect(await page.textContent('tr[data-step="autoApproval"]')).to.contain("if ctx.result('check') <= 100_000").and.contain('skipped').and.contain('its when said no');
      expect(await page.textContent('g[data-step="autoApproval"] title')).to.contain("if ctx.result('check') <= 100_000");
      await page.focus('svg.graph a[aria-label^="autoApproval"]');
      expect(await page.evaluate("document.activeElement.getAttribute('aria-label')")).to.equal('autoApproval: skipped, a branch (its when said no, or every step it runs after was skipped)');
    } finally {
      await close();
      await dir.remove();
    }
  });

  it('draws a fan-out stacked, with its items committed of the total, and says which failed', async () => {
    const dir = await tempDir('waymark-ui-');
    const runner = new WorkflowRunner({ storage: new FileStorage({ directory: dir.path }), workflows: [InvoiceLines], tracer: false });
    await runner.run(new InvoiceLines(), { workflowId: 'invoice-1', input: { lines: ['desk', 'broken lamp', 'chair', 'rug'] } });
    const { page, origin, token, close } = await mountDashboard(runner);
    try {
      await page.goto(`${origin}/workflows/invoice-1#token=${token}`);
      await page.waitForSelector('g[data-step="bill"]');
      const nodes = await page.$$eval('svg.graph g[data-step]', (gs) => gs.map((g) => [g.getAttribute('data-step'), g.getAttribute('class'), g.querySelectorAll('rect.stack').length, g.querySelector('text.state')!.textContent]));
      expect(nodes).to.deep.equal([
        ['load', 'node state-committed', 0, 'committed'],
        ['bill', 'node state-committed fan-out', 2, 'committed · 3/4'],
        ['total', 'node state-committed', 0, 'committed'],
      ]);
      expect(await page.textContent('tr[data-step="bill"]')).to.contain('for each of ctx.previous, 5 at once, tolerates 1 failed').and.contain('3 of 4 items committed, 1 failed');
      await page.focus('svg.graph a[aria-label^="bill"]');
      expect(await page.evaluate("document.activeElement.getAttribute('aria-label')")).to.equal('bill: committed, a fan-out (3 of 4 items committed, 1 failed)');
    } finally {
      await close();
      await dir.remove();
    }
  });

  it('links a parent to its child workflows with their statuses, and each child back to its parent', async () => {
    @Workflow({ name: 'parcel' })
    class Parcel {
      @Step() pack(ctx: StepContext<{ to: string }>) {
        return `parcel for ${ctx.input.to}`;
      }
    }
    @Workflow({ name: 'dispatch' })
    class Dispatch {
      @Step({ spawn: () => [{ workflow: Parcel, input: { to: 'Lyon' } }, { workflow: Parcel, input: { to: 'Nantes' } }] })
      ship(ctx: StepContext) {
        return ctx.children;
      }
    }
    const dir = await tempDir('waymark-ui-');
    const runner = new WorkflowRunner({ storage: new FileStorage({ directory: dir.path }), workflows: [Dispatch, Parcel], tracer: false });
    await runner.run(new Dispatch(), { workflowId: 'dispatch-1' });
    await runner.resume('dispatch-1/ship/0');
    const { page, origin, token, close } = await mountDashboard(runner);
    try {
      await page.goto(`${origin}/workflows/dispatch-1#token=${token}`);
      await page.waitForSelector('table.children');
      expect(await page.$$eval('table.children tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)))).to.deep.equal([
        ['ship', '0', 'dispatch-1/ship/0', 'parcel', 'completed'],
        ['ship', '1', 'dispatch-1/ship/1', 'parcel', 'waiting'],
      ]);
      expect(await page.textContent('main')).to.contain("children of 'ship'").and.contain('2 started: 1 completed, 1 waiting');
      await page.click('a[data-key="child:dispatch-1/ship/1"]');
      await page.waitForSelector('a[data-key="parent"]');
      expect(await page.textContent('dl.summary')).to.contain('dispatch-1 (step ship, child 1)');
      await page.click('a[data-key="parent"]');
      await page.waitForSelector('table.children');
      expect(new URL(page.url()).pathname).to.equal('/workflows/dispatch-1');
    } finally {
      await close();
      await dir.remove();
    }
  });

  it('counts runs per version and shows a stranded one; moves it to the new version, then runs it again from a step, each once its id is typed', async () => {
    const dir = await tempDir('waymark-ui-');
    const storage = new FileStorage({ directory: dir.path });
    const v1 = new WorkflowRunner({ storage, workflows: [OrderV1], tracer: false });
    await v1.run(new OrderV1(), { workflowId: 'order-1', input: { sku: 'lamp' } });
    await v1.run(new OrderV1(), { workflowId: 'order-2', input: { sku: 'desk' } });
    const runner = new WorkflowRunner({ storage, workflows: [OrderV2], tracer: false });
    await runner.run(new OrderV2(), { workflowId: 'order-3', input: { sku: 'chair' } });
    // A process with version 2 alone was asked to run order-1.
    await runner.resume('order-1').catch(() => undefined);
    const { page, origin, token, close } = await mountDashboard(runner);
    try {
      await page.goto(`${origin}/#token=${token}`);
      await page.waitForSelector('tr[data-version="order@1"]');
      expect(await page.$$eval('table.versions tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)))).to.deep.equal([
        ['order', '1', '2', '2 (no worker has order@1)', 'waiting 2'],
        ['order', '2', '1', '0', 'waiting 1'],
      ]);
      expect(await page.textContent('tr[data-workflow-id="order-1"]')).to.contain('order@1').and.contain('stranded: no order@1');
      await page.goto(`${origin}/workflows/order-1#token=${token}`);
      await page.waitForSelector('[data-key="stranded"]');
      expect(await page.textContent('[data-key="stranded"]')).to.contain('has no order@1');
      expect(await page.textContent('dl.summary')).to.contain('Version1');
      expect(await page.textContent('#migrate-title + p')).to.equal('From version 1 to 2: keeps reserve; runs charge, ship, notify. Checked again when you confirm.');
      const move = page.getByRole('button', { name: 'Move to version 2' });
      expect(await move.isDisabled()).to.equal(true);
      await page.fill('input[name="migrate-confirm"]', 'order-1');
      await move.click();
      await page.waitForSelector('#action-message:has-text("Moved to version 2")');
      expect((await runner.get('order-1'))!.version).to.equal(2);
      await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }).document.querySelector('dl.summary')!.textContent.includes('moved from version 1 to 2'));

      await runner.sendEvent('order-1', 'paid');
      await runner.resume('order-1');
      await page.selectOption('select[name="from"]', 'ship');
      await page.fill('input[name="restart-confirm"]', 'order-1');
      await page.getByRole('button', { name: 'Run again from this step' }).click();
      await page.waitForSelector('#action-message:has-text("Restarted: ship, notify run again")');
      expect((await runner.get('order-1'))!.status).to.equal('running');
      expect((await runner.resume('order-1')).output).to.equal('told: shipped');
    } finally {
      await close();
      await dir.remove();
    }
  });

  it('follows a run as it goes, and a redraw keeps the keyboard focus where it was', async () => {
    const gate = deferred<void>();
    @Workflow({ name: 'gated' })
    class Gated {
      @Step() first() {
        return 1;
      }
      @Step() async second() {
        await gate.promise;
        return 2;
      }
    }
    const runner = new WorkflowRunner({ storage: new MemoryStorage(), workflows: [Gated], tracer: false });
    const { page, origin, token, close } = await mountDashboard(runner);
    const run = runner.run(new Gated(), { workflowId: 'g-1' });
    try {
      await page.goto(`${origin}/workflows/g-1#token=${token}`);
      await page.waitForSelector('g[data-step="second"][data-state="running"]');
      expect(await page.$eval('h1 .badge', (b) => b.textContent)).to.equal('running');
      await page.focus('a[data-key="node:first"]');
      gate.resolve();
      await page.waitForSelector('g[data-step="second"][data-state="committed"]');
      await page.waitForSelector('h1 .badge.s-completed');
      expect(await page.evaluate("document.activeElement.getAttribute('data-key')"), 'focus kept across the redraw').to.equal('node:first');
    } finally {
      gate.resolve();
      await run;
      await close();
    }
  });
});
