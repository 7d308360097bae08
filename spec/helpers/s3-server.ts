/**
 * A real S3-compatible HTTP server for specs: s3rver on 127.0.0.1 with a random port and a temp
 * directory, behind a small reverse proxy that adds what s3rver lacks and S3 has:
 *
 * - conditional writes: `If-None-Match: *` and `If-Match: <etag>` on PUT, `If-Match` on DELETE and
 *   HEAD, answered with 412 (or 404 for If-Match on a missing key), evaluated under a per-key lock so
 *   concurrent conditional writes are decided one at a time, as S3 does;
 * - delimiter listings as S3 answers them: s3rver skips directories beneath a common prefix before it
 *   has seen an object in them, so a prefix with objects only deeper down went missing;
 * - whole-body writes: a request whose body does not arrive complete (a client killed mid-PUT) is
 *   dropped, never stored half;
 * - ListObjectsV2 with continuation tokens of its own (s3rver's need OpenSSL's legacy provider);
 * - fault injection for chosen requests: 503 SlowDown, 500 InternalError, a reset connection, a hung
 *   request, or a reset after the write was applied.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import S3rver from 's3rver';
import { tempDir } from './temp-dir';

/** What kind of S3 request it was. */
export type S3Operation = 'LIST' | 'GET' | 'HEAD' | 'PUT' | 'DELETE' | 'DELETE_BATCH' | 'OTHER';

/** One request the proxy saw. */
export interface RecordedRequest {
  readonly op: S3Operation;
  readonly key: string;
  /** For DELETE_BATCH: how many keys the request named. */
  readonly keys?: number;
  status?: number;
}

/** A fault to inject into the next `times` matching requests. */
export interface Fault {
  readonly op?: S3Operation;
  readonly keyIncludes?: string;
  readonly kind: 503 | 500 | 'reset' | 'hang' | 'reset-after-apply';
  times: number;
}

export interface S3Fixture {
  readonly endpoint: string;
  readonly bucket: string;
  readonly requests: RecordedRequest[];
  /** Injects a fault into the next matching requests. */
  inject(fault: Omit<Fault, 'times'> & { times?: number }): void;
  /**
   * Asks `decide` about every request (after injected faults): it may delay it before it is applied,
   * or apply it and drop the answer. For race specs; `undefined` turns it off.
   */
  chaos(decide: ((op: S3Operation, key: string) => { delayMs?: number; dropAnswer?: boolean } | undefined) | undefined): void;
  /** A client for this server; no SDK retries, so every request and retry is waymark's own. */
  /** A client for this server; `sdkRetries: true` keeps the SDK's own default retries (as README's configuration does). */
  client(options?: { requestTimeoutMs?: number; sdkRetries?: boolean }): S3Client;
  close(): Promise<void>;
}

const BUCKET = 'waymark-test';

interface ListOptions {
  delimiter?: string;
  prefix?: string;
  startAfter?: string;
  maxKeys?: number;
}
interface Listing {
  objects: { key: string }[];
  commonPrefixes: string[];
  isTruncated: boolean;
}
interface BackendStore {
  getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
  listObjects(bucket: string, options: ListOptions): Promise<Listing>;
}

function classify(method: string, url: URL): { op: S3Operation; key: string } {
  const [, , ...rest] = url.pathname.split('/');
  const key = decodeURIComponent(rest.join('/'));
  if (method === 'GET' && key === '' && url.searchParams.has('list-type')) return { op: 'LIST', key: url.searchParams.get('prefix') ?? '' };
  if (method === 'POST' && url.searchParams.has('delete')) return { op: 'DELETE_BATCH', key: '' };
  if (key === '') return { op: 'OTHER', key };
  if (method === 'GET') return { op: 'GET', key };
  if (method === 'HEAD') return { op: 'HEAD', key };
  if (method === 'PUT') return { op: 'PUT', key };
  if (method === 'DELETE') return { op: 'DELETE', key };
  return { op: 'OTHER', key };
}

function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

/** Temp directories of fixtures not closed yet: removed when the process exits, however it ends (a timed-out hook never closes). */
const openDirectories = new Set<string>();
process.once('exit', () => {
  for (const path of openDirectories) rmSync(path, { recursive: true, force: true });
});

/** Starts the server; call `close()` when done. Its temp directory goes with `close()`, a failed start, or the process. */
export async function startS3(): Promise<S3Fixture> {
  const dir = await tempDir('waymark-s3-');
  openDirectories.add(dir.path);
  try {
    return await serve(dir);
  } catch (error) {
    openDirectories.delete(dir.path);
    await dir.remove();
    throw error;
  }
}

async function serve(dir: { path: string; remove: () => Promise<void> }): Promise<S3Fixture> {
  const backend = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: dir.path,
    silent: true,
    allowMismatchedSignatures: true,
    vhostBuckets: false,
    configureBuckets: [{ name: BUCKET, configs: [] }],
  } as unknown as ConstructorParameters<typeof S3rver>[0]);
  const backendAddress = (await backend.run()) as AddressInfo;
  const store = (backend as unknown as { store: BackendStore }).store;
  const listAll = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    if (!options.delimiter) return listAll(bucket, options);
    const prefix = options.prefix ?? '';
    const all = await listAll(bucket, { ...options, delimiter: '', maxKeys: Infinity });
    const commonPrefixes = new Set<string>();
    const objects = all.objects.filter((o) => {
      const at = o.key.slice(prefix.length).indexOf(options.delimiter!);
      if (at === -1) return true;
      commonPrefixes.add(o.key.slice(0, prefix.length + at + 1));
      return false;
    });
    const maxKeys = options.maxKeys ?? Infinity;
    return { objects: objects.slice(0, maxKeys), commonPrefixes: [...commonPrefixes].sort(), isTruncated: objects.length > maxKeys };
  };

  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const locks = new Map<string, Promise<void>>();
  const sockets = new Set<Socket>();

  const takeFault = (op: S3Operation, key: string): Fault | undefined => {
    const fault = faults.find((f) => f.times > 0 && (f.op === undefined || f.op === op) && (f.keyIncludes === undefined || key.includes(f.keyIncludes)));
    if (fault) fault.times--;
    return fault;
  };

  const withKeyLock = async <T>(key: string, run: () => Promise<T>): Promise<T> => {
    const previous = locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chained = previous.then(() => mine);
    locks.set(key, chained);
    await previous;
    try {
      return await run();
    } finally {
      release();
      if (locks.get(key) === chained) locks.delete(key);
    }
  };

  const etagOf = async (key: string): Promise<string | undefined> => {
    try {
      return (await store.getMetadata(BUCKET, key)).etag;
    } catch {
      return undefined;
    }
  };

  const forward = (req: http.IncomingMessage, body: Buffer, path = req.url): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers };
      delete headers['if-match'];
      delete headers['if-none-match'];
      const out = http.request({ host: '127.0.0.1', port: backendAddress.port, method: req.method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });

  /**
   * ListObjectsV2, answered from s3rver's V1 listing: s3rver makes its continuation tokens with DES,
   * which Node's OpenSSL refuses without its legacy provider, and the library must run on the Node
   * users run. The token here is the page's last key, base64url: opaque to the
   * client, as S3's are.
   */
  const listV2 = async (req: http.IncomingMessage, url: URL): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> => {
    const v1 = new URLSearchParams();
    for (const name of ['prefix', 'delimiter', 'max-keys', 'encoding-type']) {
      const value = url.searchParams.get(name);
      if (value !== null) v1.set(name, value);
    }
    const token = url.searchParams.get('continuation-token');
    const after = token !== null ? Buffer.from(token, 'base64url').toString('utf8') : url.searchParams.get('start-after');
    if (after !== null) v1.set('marker', after);
    const answer = await forward(req, Buffer.alloc(0), `${url.pathname}?${v1.toString()}`);
    if (answer.status !== 200) return answer;
    const xml = answer.body.toString('utf8');
    const unescape = (text: string) => text.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]!);
    const keys = [...xml.matchAll(/<Contents>[\s\S]*?<Key>([\s\S]*?)<\/Key>/g)].map((m) => unescape(m[1]!));
    const prefixes = [...xml.matchAll(/<CommonPrefixes>\s*<Prefix>([\s\S]*?)<\/Prefix>/g)].map((m) => unescape(m[1]!));
    // s3rver truncates on objects (common prefixes all come on every page): the next page starts after the last object.
    const last = keys.at(-1) ?? prefixes.at(-1);
    const truncated = /<IsTruncated>true<\/IsTruncated>/.test(xml);
    const extra =
      `<KeyCount>${keys.length + prefixes.length}</KeyCount>` +
      (token !== null ? `<ContinuationToken>${token}</ContinuationToken>` : '') +
      (truncated && last !== undefined ? `<NextContinuationToken>${Buffer.from(last, 'utf8').toString('base64url')}</NextContinuationToken>` : '');
    const body = Buffer.from(xml.replace('</ListBucketResult>', `${extra}</ListBucketResult>`), 'utf8');
    return { status: 200, headers: { ...answer.headers, 'content-length': String(body.length) }, body };
  };

  let chaos: ((op: S3Operation, key: string) => { delayMs?: number; dropAnswer?: boolean } | undefined) | undefined;

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const { op, key } = classify(req.method ?? 'GET', url);
    const record: RecordedRequest = op === 'DELETE_BATCH' ? { op, key, keys: body.toString('utf8').split('<Key>').length - 1 } : { op, key };
    requests.push(record);
    const send = (status: number, headers: http.OutgoingHttpHeaders, payload?: Buffer | string) => {
      record.status = status;
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' ? undefined : payload);
    };
    const fault = takeFault(op, key);
    if (fault?.kind === 503) return send(503, { 'content-type': 'application/xml' }, errorXml('SlowDown', 'Please reduce your request rate.'));
    if (fault?.kind === 500) return send(500, { 'content-type': 'application/xml' }, errorXml('InternalError', 'We encountered an internal error.'));
    if (fault?.kind === 'reset') return void req.socket.destroy();
    if (fault?.kind === 'hang') return;
    const chaotic = chaos?.(op, key);
    if (chaotic?.delayMs) await new Promise((resolve) => setTimeout(resolve, chaotic.delayMs));

    const conditional = op === 'PUT' || op === 'DELETE' || op === 'HEAD' || op === 'GET';
    const apply = async () => {
      if (conditional) {
        const ifMatch = req.headers['if-match'];
        const ifNoneMatch = req.headers['if-none-match'];
        if (ifMatch !== undefined || (ifNoneMatch !== undefined && op === 'PUT')) {
          const current = await etagOf(key);
          if (ifNoneMatch === '*' && op === 'PUT' && current !== undefined) return send(412, { 'content-type': 'application/xml' }, errorXml('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'));
          if (ifMatch !== undefined && current === undefined) return send(404, { 'content-type': 'application/xml' }, errorXml('NoSuchKey', 'The specified key does not exist.'));
          if (ifMatch !== undefined && ifMatch !== '*' && ifMatch.replace(/"/g, '') !== current!.replace(/"/g, '')) {
            return send(412, { 'content-type': 'application/xml' }, errorXml('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'));
          }
        }
      }
      if (op === 'LIST' && url.searchParams.get('list-type') === '2') {
        const answer = await listV2(req, url);
        return send(answer.status, answer.headers, answer.body);
      }
      const answer = await forward(req, body);
      if (fault?.kind === 'reset-after-apply' || chaotic?.dropAnswer) return void req.socket.destroy();
      send(answer.status, answer.headers, answer.body);
    };
    await (conditional ? withKeyLock(key, apply) : apply());
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let complete = false;
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      complete = true;
      const body = Buffer.concat(chunks);
      const expected = req.headers['content-length'];
      // Like S3: a body shorter than announced is never stored.
      if (expected !== undefined && Number(expected) !== body.length) return void req.socket.destroy();
      handle(req, res, body).catch((error: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/xml' });
        res.end(errorXml('InternalError', error.message));
      });
    });
    req.on('aborted', () => {
      if (!complete) chunks.length = 0;
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    bucket: BUCKET,
    requests,
    inject(fault) {
      faults.push({ ...fault, times: fault.times ?? 1 });
    },
    chaos(decide) {
      chaos = decide;
    },
    client(options = {}) {
      return new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        ...(options.sdkRetries ? {} : { maxAttempts: 1 }),
        requestHandler: new NodeHttpHandler({ requestTimeout: options.requestTimeoutMs ?? 5_000, throwOnRequestTimeout: true, connectionTimeout: 2_000 }),
      });
    },
    async close() {
      try {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await backend.close();
      } finally {
        await dir.remove();
        openDirectories.delete(dir.path);
      }
    },
  };
}
