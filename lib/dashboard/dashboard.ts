/**
 * The dashboard as a Node `http` request handler: the page, its script and style, and a small JSON
 * API over the runner's public methods. Every API call carries the dashboard's token in a header, so
 * no other page in the browser can read a workflow or act on one (a cross-origin request with a
 * custom header needs a CORS preflight, which this handler never grants).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidOptionError, WaymarkError } from '../errors';
import { LISTED_STATUSES, type ListedStatus } from '../runner/workflow-info';
import { WorkflowRunner } from '../runner/workflow-runner';
import { valueText } from './json-view';
import { LiveRuns } from './live-runs';
import { PAGE_SCRIPT } from './page-script';
import { pageHtml } from './page-html';
import { PAGE_STYLE } from './page-style';
import { readWorkflowView } from './workflow-view';
import { HttpProblem } from './http-problem';
import { bulkAction } from './bulk-actions';

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  /** The runner whose store the dashboard shows; its registered classes let it resume workflows and show what fingerprints ignore. */
  readonly runner: WorkflowRunner;
  /** The token API calls must carry (at least 16 characters); default a random one, read it from `dashboard.token`. */
  readonly token?: string;
  /**
   * Host names (without port) the `Host` header may carry; others are refused, which keeps a
   * DNS-rebinding page from reaching a dashboard on 127.0.0.1. Default: any (the app in front decides).
   */
  readonly allowedHosts?: readonly string[];
  /** Called with an error the dashboard could not answer with (a resume it started that failed, say). */
  readonly onError?: (error: unknown) => void;
}

/** A request handler for `http.createServer`, or Express's `app.use('/waymark', dashboard)` (in Nest, `app.use` in main.ts). */
export interface Dashboard {
  (request: IncomingMessage, response: ServerResponse): void;
  /** The token the page asks for; the URL `<base>/#token=<token>` opens the dashboard with it. */
  readonly token: string;
  /** Stops listening to the runner's events and waits for the resumes the dashboard started. */
  close(): Promise<void>;
}

/** Items per page of the list, at most. */
const PAGE_LIMIT = 200;
/** Records one list request reads at most: a rare filter in a large store answers in pages, not in one long wait. */
const LIST_MAX_READS = 2000;
/** Records the per-version counts read at most (one per workflow). */
const VERSION_MAX_READS = 20_000;
const MAX_BODY_BYTES = 1024 * 1024;


/** Creates the dashboard for `options.runner`'s store. Mount it, or serve it with `waymark ui`. */
export function createDashboard(options: DashboardOptions): Dashboard {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('dashboard options', options, '{ runner, token?, allowedHosts?, onError? }');
  const { runner, allowedHosts, onError = () => undefined } = options;
  if (!(runner instanceof WorkflowRunner)) throw new InvalidOptionError('runner', runner, 'a WorkflowRunner');
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 16)) throw new InvalidOptionError('token', options.token, 'a string of at least 16 characters');
  if (allowedHosts !== undefined && (!Array.isArray(allowedHosts) || allowedHosts.some((h) => typeof h !== 'string'))) throw new InvalidOptionError('allowedHosts', allowedHosts, 'an array of host names');
  const token = options.token ?? randomBytes(18).toString('base64url');
  const live = new LiveRuns(runner);
  const resumes = new Set<Promise<unknown>>();

  const api = async (method: string, parts: string[], query: URLSearchParams, request: IncomingMessage): Promise<unknown> => {
    if (method === 'GET' && parts.length === 0) return query.get('view') === 'versions' ? runner.countVersions({ maxReads: VERSION_MAX_READS }) : list(runner, query);
    const [workflowId, action, step, what] = parts;
    if (workflowId === undefined) throw notFound();
    if (method === 'GET' && action === undefined) {
      const view = await readWorkflowView(runner, live, workflowId);
      if (view === undefined) throw new HttpProblem(404, 'WAYMARK_WORKFLOW_NOT_FOUND', `nothing is stored under workflow id '${workflowId}'`);
      return view;
    }
    if (method === 'GET' && action === 'steps' && step !== undefined && what === 'output') {
      const info = await runner.get(workflowId, { outputs: true });
      const found = info?.steps[step];
      if (found?.status !== 'committed') throw new HttpProblem(404, 'WAYMARK_STEP_NOT_COMMITTED', `workflow '${workflowId}' has no committed step '${step}'`);
      return valueText(found.output, Infinity);
    }
    if (method === 'POST' && workflowId === 'bulk' && action === undefined) return bulkAction(runner, await readJson(request));
    if (method !== 'POST' || parts.length !== 2) throw notFound();
    const body = await readJson(request);
    if (action === 'events') {
      const { event, payload, eventId } = body as { event?: unknown; payload?: unknown; eventId?: unknown };
      if (typeof event !== 'string' || event === '') throw new HttpProblem(400, 'WAYMARK_INVALID_OPTION', 'the body needs "event": the name of the event');
      if (eventId !== undefined && typeof eventId !== 'string') throw new HttpProblem(400, 'WAYMARK_INVALID_OPTION', '"eventId" must be a string');
      return runner.sendEvent(workflowId, event, payload, eventId === undefined ? {} : { eventId });
    }
    if (action === 'clear') {
      const confirm = (body as { confirm?: unknown }).confirm;
      if (confirm !== workflowId) throw new HttpProblem(400, 'WAYMARK_CONFIRMATION_MISMATCH', `type the workflow id '${workflowId}' to confirm the clear`);
      const cleared = await runner.clear(workflowId);
      return { cleared: cleared !== undefined, checkpoints: cleared?.checkpoints ?? 0 };
    }
    if (action === 'cancel') {
      const { confirm, reason } = body as { confirm?: unknown; reason?: unknown };
      if (confirm !== workflowId) throw new HttpProblem(400, 'WAYMARK_CONFIRMATION_MISMATCH', `type the workflow id '${workflowId}' to confirm the cancel`);
      if (reason !== undefined && typeof reason !== 'string') throw new HttpProblem(400, 'WAYMARK_INVALID_OPTION', '"reason" must be a string');
      return runner.cancel(workflowId, reason === undefined || reason === '' ? {} : { reason });
    }
    if (action === 'restart') {
      const { confirm, from } = body as { confirm?: unknown; from?: unknown };
      if (confirm !== workflowId) throw new HttpProblem(400, 'WAYMARK_CONFIRMATION_MISMATCH', `type the workflow id '${workflowId}' to confirm the restart`);
      if (typeof from !== 'string' || from === '') throw new HttpProblem(400, 'WAYMARK_INVALID_OPTION', 'the body needs "from": the step to run again');
      return runner.restart(workflowId, { from });
    }
    if (action === 'migrate') {
      const { confirm, to } = body as { confirm?: unknown; to?: unknown };
      if (confirm !== workflowId) throw new HttpProblem(400, 'WAYMARK_CONFIRMATION_MISMATCH', `type the workflow id '${workflowId}' to confirm the migration`);
      if (to !== undefined && !(Number.isInteger(to) && (to as number) >= 1)) throw new HttpProblem(400, 'WAYMARK_INVALID_OPTION', '"to" must be a version (an integer >= 1)');
      return runner.migrate(workflowId, to === undefined ? {} : { to: to as number });
    }
    if (action === 'resume') {
      const info = await runner.get(workflowId);
      if (info === undefined) throw new HttpProblem(404, 'WAYMARK_WORKFLOW_NOT_FOUND', `nothing is stored under workflow id '${workflowId}'`);
      if (info.lease !== undefined) throw new HttpProblem(409, 'WAYMARK_WORKFLOW_BUSY', `workflow '${workflowId}' is held by ${info.lease.owner} until ${info.lease.expiresAt}`);
      // Without its class (waymark ui), the run is asked for: stored, and the next worker that has the class runs it.
      if (info.workflowName === undefined || !runner.isRegistered(info.workflowName, info.version)) {
        const request = await runner.requestResume(workflowId);
        if (request.outcome === 'ended') throw new HttpProblem(409, 'WAYMARK_WORKFLOW_ENDED', `workflow '${workflowId}' has ${request.status} already: nothing to resume`);
        return { requested: true };
      }
      const run = runner.resume(workflowId).catch((error: unknown) => {
        // The outcome is the workflow's to store and the page's to show; only what is not stored is reported.
        if (!(error instanceof WaymarkError) || !['WAYMARK_WORKFLOW_FAILED', 'WAYMARK_WORKFLOW_CANCELLED'].includes(error.code)) onError(error);
      });
      resumes.add(run);
      void run.finally(() => resumes.delete(run));
      return { started: true };
    }
    throw notFound();
  };

  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    void handle(request, response).catch((error: unknown) => {
      onError(error);
      if (!response.headersSent) send(response, 500, 'application/json', JSON.stringify({ error: { code: 'WAYMARK_DASHBOARD_ERROR', message: 'the dashboard failed to answer; see the server log' } }));
      else response.end();
    });
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://dashboard');
    const method = request.method ?? 'GET';
    if (allowedHosts !== undefined && !allowedHosts.includes(hostName(request.headers.host))) {
      send(response, 403, 'text/plain', `host '${request.headers.host ?? ''}' is not one this dashboard serves`);
      return;
    }
    const path = url.pathname;
    if (path.startsWith('/api/workflows')) {
      const parts = path.slice('/api/workflows'.length).split('/').filter((p) => p !== '').map(decodeURIComponent);
      try {
        if (!tokenMatches(token, request.headers['x-waymark-token'])) throw new HttpProblem(403, 'WAYMARK_DASHBOARD_TOKEN', 'this request does not carry the dashboard token (header x-waymark-token); open the URL waymark ui printed');
        sendJson(response, 200, await api(method, parts, url.searchParams, request));
      } catch (error) {
        const problem = asProblem(error);
        if (problem === undefined) throw error;
        sendJson(response, problem.status, { error: { code: problem.code, message: problem.message } });
      }
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      send(response, 405, 'text/plain', 'method not allowed');
      return;
    }
    if (path === '/assets/app.js') send(response, 200, 'text/javascript; charset=utf-8', PAGE_SCRIPT);
    else if (path === '/assets/style.css') send(response, 200, 'text/css; charset=utf-8', PAGE_STYLE);
    else if (path === '/' || path.startsWith('/workflows/')) send(response, 200, 'text/html; charset=utf-8', pageHtml(basePath(request)));
    else send(response, 404, 'text/plain', 'not found');
  };

  return Object.assign(handler, {
    token,
    async close(): Promise<void> {
      live.close();
      await Promise.all([...resumes]);
    },
  });
}

async function list(runner: WorkflowRunner, query: URLSearchParams): Promise<unknown> {
  const status = (query.get('status') ?? '').split(',').filter((s) => s !== '');
  for (const s of status) if (!LISTED_STATUSES.includes(s as ListedStatus)) throw new HttpProblem(400, 'WAYMARK_INVALID_OPTION', `status '${s}' is not one of ${LISTED_STATUSES.join(', ')}`);
  const limit = Number(query.get('limit') ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_LIMIT) throw new HttpProblem(400, 'WAYMARK_INVALID_OPTION', `limit must be an integer from 1 to ${PAGE_LIMIT}`);
  const name = query.get('name') ?? '';
  const id = query.get('id') ?? '';
  const cursor = query.get('cursor') ?? '';
  const page = await runner.list({
    limit,
    maxReads: LIST_MAX_READS,
    leases: true,
    ...(status.length === 0 ? {} : { status: status as ListedStatus[] }),
    ...(name === '' ? {} : { workflowName: name }),
    ...(id === '' ? {} : { idPrefix: id }),
    ...(cursor === '' ? {} : { cursor }),
  });
  return { ...page, now: new Date().toISOString() };
}

function notFound(): HttpProblem {
  return new HttpProblem(404, 'WAYMARK_NOT_FOUND', 'no such API route');
}

/** What an error means for the caller, or undefined for one the dashboard did not expect. */
function asProblem(error: unknown): HttpProblem | undefined {
  if (error instanceof HttpProblem) return error;
  if (!(error instanceof WaymarkError)) return undefined;
  const status: Record<string, number> = {
    WAYMARK_WORKFLOW_NOT_FOUND: 404,
    WAYMARK_WORKFLOW_BUSY: 409,
    WAYMARK_WORKFLOW_NOT_REGISTERED: 409,
    WAYMARK_MIGRATION_REFUSED: 409,
    WAYMARK_RESTART_REFUSED: 409,
    WAYMARK_CHECKPOINT_CORRUPTED: 422,
  };
  return new HttpProblem(status[error.code] ?? 400, error.code, error.message);
}

function tokenMatches(token: string, given: string | string[] | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(token);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function hostName(host: string | undefined): string {
  if (host === undefined) return '';
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  return host.replace(/:\d+$/, '');
}

/** Where the dashboard is mounted: Express and Nest strip the mount path from `url` and keep it in `originalUrl`. */
function basePath(request: IncomingMessage): string {
  const original = (request as IncomingMessage & { originalUrl?: string }).originalUrl;
  const url = request.url ?? '/';
  if (typeof original !== 'string') return '';
  const originalPath = original.split('?')[0]!;
  const path = url.split('?')[0]!;
  return originalPath.endsWith(path) ? originalPath.slice(0, originalPath.length - path.length) : '';
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpProblem(413, 'WAYMARK_BODY_TOO_LARGE', `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return {};
  try {
    const body = JSON.parse(text) as unknown;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    return body;
  } catch (error) {
    throw new HttpProblem(400, 'WAYMARK_INVALID_JSON', `the body is not a JSON object: ${(error as Error).message}`);
  }
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  response.end(body); // Node sends no body in answer to HEAD
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(value));
}
