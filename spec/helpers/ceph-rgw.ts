/**
 * A real S3 server for specs: Ceph's RADOS Gateway (Debian's `radosgw`, `ceph-mon`, `ceph-osd`),
 * one monitor and one OSD on `memstore` (RAM: fast, not durable, fine for specs), on free loopback
 * ports in a temp directory, authentication between the daemons off. Unlike s3rver behind the
 * project's proxy, it decides conditional writes itself (`If-None-Match: *`, `If-Match`), atomically.
 *
 * One server per test process, started on first use and stopped (by its processes) when the process
 * exits; each caller gets a bucket of its own. Where the packages are missing it fails saying what
 * to install: `.ci/run` installs them.
 *
 * Ceph 16's gateway compares `If-Match` byte for byte, so the quoted ETag every S3 client sends
 * (as S3 itself returns it) never matches: a test-server bug fixed upstream in 2025. The clients
 * made here unquote that header before signing ({@link rgwClient}); the library does not.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

const ACCESS_KEY = 'WAYMARKRGW';
const SECRET_KEY = 'WAYMARKRGWSECRET';
const DAEMONS = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool', 'ceph'];

/** A running gateway: where it answers, and a client for it. */
export interface RgwServer {
  readonly endpoint: string;
  /** A new bucket of its own, for one spec. */
  bucket(): Promise<string>;
  /** A client for this server; `sdkRetries: false` (default) leaves every retry to waymark. */
  client(options?: RgwClientOptions): S3Client;
}

/** How a spec's client for the gateway behaves. */
export interface RgwClientOptions {
  /** Keep the SDK's own default retries (as README configures the client); off by default. */
  readonly sdkRetries?: boolean;
  readonly requestTimeoutMs?: number;
  /**
   * Asked about every request the client sends (HTTP method, object key): it may delay the request,
   * or let the server apply it and drop the answer. The server itself is never touched; for race specs.
   */
  readonly chaos?: (method: string, key: string) => { delayMs?: number; dropAnswer?: boolean } | undefined;
}

/**
 * A client for a Ceph 16 gateway at `endpoint`: the spec's credentials, path-style addressing, and
 * `If-Match` unquoted before signing (see the file's comment). Used by the specs and by the child
 * processes they start (`s3:<endpoint>|<bucket>|<prefix>|rgw`).
 */
export function rgwClient(endpoint: string, options: RgwClientOptions = {}): S3Client {
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    ...(options.sdkRetries ? {} : { maxAttempts: 1 }),
    requestHandler: new NodeHttpHandler({ requestTimeout: options.requestTimeoutMs ?? 5_000, throwOnRequestTimeout: true, connectionTimeout: 2_000 }),
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      const headers = (args.request as { headers?: Record<string, string> }).headers;
      if (headers?.['if-match'] !== undefined) headers['if-match'] = headers['if-match'].replace(/"/g, '');
      return next(args);
    },
    { step: 'build', name: 'unquoteIfMatchForCeph16' },
  );
  const chaos = options.chaos;
  if (chaos !== undefined) {
    // Inside the SDK's retry loop (finalizeRequest, low priority): a dropped answer is retried by the
    // SDK as a reset connection would be, after the server applied the request.
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { method?: string; path?: string };
        const key = decodeURIComponent((request.path ?? '').split('/').slice(2).join('/'));
        const decision = chaos(request.method ?? '', key);
        if (decision?.delayMs) await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
        const result = await next(args);
        if (decision?.dropAnswer) throw Object.assign(new Error('injected: applied, connection reset before the answer'), { code: 'ECONNRESET' });
        return result;
      },
      { step: 'finalizeRequest', priority: 'low', name: 'specChaos' },
    );
  }
  return client;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 30_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`)) : resolve(stdout.trim())));
  });
}

async function installed(): Promise<void> {
  for (const daemon of DAEMONS) {
    try {
      await run('which', [daemon]);
    } catch {
      throw new Error(`the real-S3 specs need Ceph's RADOS Gateway: apt-get install radosgw ceph-mon ceph-osd ceph-common (${daemon} is not on the PATH)`);
    }
  }
}

let server: Promise<RgwServer> | undefined;
const children: ChildProcess[] = [];
let directory: string | undefined;

process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
});

/** The gateway of this test process, started on first call. */
export function startRgw(): Promise<RgwServer> {
  server ??= boot().catch((error: unknown) => {
    server = undefined;
    throw error;
  });
  return server;
}

/** Starts a daemon in the foreground; it is killed when this process exits, which it never delays. */
function daemon(command: string, args: string[]): ChildProcess {
  const child = spawn(command, [...args, '-f'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + String(d)).slice(-2_000)));
  child.once('exit', (code, signal) => {
    if (signal !== 'SIGKILL') process.emitWarning(`${command} exited (${code ?? signal}): ${stderr}`);
  });
  children.push(child);
  // Neither the daemon nor its stderr pipe keeps this process alive: mocha ends (without --exit)
  // when the specs are done, and the 'exit' handler above kills the daemons by PID.
  child.unref();
  (child.stderr as unknown as { unref(): void }).unref();
  return child;
}

async function boot(): Promise<RgwServer> {
  await installed();
  const dir = mkdtempSync(join(tmpdir(), 'waymark-rgw-'));
  directory = dir;
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const fsid = randomUUID();
  for (const sub of ['run', 'log', 'mon', 'osd', 'rgw']) mkdirSync(join(dir, sub));
  const conf = join(dir, 'ceph.conf');
  writeFileSync(
    conf,
    [
      '[global]',
      `fsid = ${fsid}`,
      `mon host = 127.0.0.1:${monPort}`,
      'mon initial members = a',
      // One machine, no keys: authentication off between the daemons and for the admin tools.
      'auth cluster required = none',
      'auth service required = none',
      'auth client required = none',
      // Without it radosgw waits 300 s for an authentication that is off, then exits.
      'ms mon client mode = crc',
      // One OSD: one copy of everything.
      'osd pool default size = 1',
      'osd pool default min size = 1',
      'mon allow pool size one = true',
      'mon warn on pool no redundancy = false',
      'osd crush chooseleaf type = 0',
      // Short paxos intervals: the monitor is ready in about a second and a half instead of twelve.
      'paxos propose interval = 0.01',
      'paxos min wait = 0.01',
      `run dir = ${join(dir, 'run')}`,
      `log file = ${join(dir, 'log')}/$name.log`,
      `admin socket = ${join(dir, 'run')}/$name.asok`,
      `mon data = ${join(dir, 'mon')}/$name`,
      `osd data = ${join(dir, 'osd')}/$name`,
      'osd objectstore = memstore',
      'memstore device bytes = 2147483648',
      `keyring = ${join(dir, 'keyring')}`,
      '[client.rgw.a]',
      // tcp_nodelay: without it every response with a body waits ~45 ms.
      `rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1`,
      `rgw data = ${join(dir, 'rgw')}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'keyring'), '');
  const c = ['-c', conf];
  await run('monmaptool', ['--create', '--fsid', fsid, '--add', 'a', `127.0.0.1:${monPort}`, join(dir, 'monmap')]);
  await run('ceph-mon', [...c, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap')]);
  daemon('ceph-mon', [...c, '-i', 'a']);
  const osdUuid = randomUUID();
  const osdId = await run('ceph', [...c, '--connect-timeout', '20', 'osd', 'new', osdUuid]);
  mkdirSync(join(dir, 'osd', `osd.${osdId}`));
  await run('ceph-osd', [...c, '-i', osdId, '--mkfs', '--osd-uuid', osdUuid]);
  daemon('ceph-osd', [...c, '-i', osdId]);
  daemon('radosgw', [...c, '-n', 'client.rgw.a']);
  await run('radosgw-admin', [...c, 'user', 'create', '--uid=waymark', '--display-name=waymark', `--access-key=${ACCESS_KEY}`, `--secret-key=${SECRET_KEY}`]);
  const endpoint = `http://127.0.0.1:${rgwPort}`;
  const admin = rgwClient(endpoint);
  let buckets = 0;
  // The gateway answers once it has its pools: the first bucket is the readiness check.
  const bucket = async (): Promise<string> => {
    const name = `waymark-${process.pid}-${++buckets}`;
    for (let i = 0; ; i++) {
      try {
        await admin.send(new CreateBucketCommand({ Bucket: name }));
        return name;
      } catch (error) {
        if (i === 150) throw new Error(`Ceph's gateway at ${endpoint} never answered: ${(error as Error).message} (logs in ${join(dir, 'log')})`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  await bucket();
  return { endpoint, bucket, client: (options) => rgwClient(endpoint, options) };
}
