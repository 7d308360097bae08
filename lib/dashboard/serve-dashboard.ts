/**
 * The dashboard on a server of its own, as `waymark ui` starts it: bound to 127.0.0.1 unless told
 * otherwise, answering only to the host names it is reached by.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidOptionError } from '../errors';
import type { WorkflowRunner } from '../runner/workflow-runner';
import { createDashboard } from './dashboard';

/** Options of {@link serveDashboard}. */
export interface ServeDashboardOptions {
  readonly runner: WorkflowRunner;
  /** Default 4100; 0 picks a free port. */
  readonly port?: number;
  /** Address to bind; default `127.0.0.1`, so only this machine reaches it. */
  readonly host?: string;
  /** The token API calls must carry; default a random one. */
  readonly token?: string;
  /** See {@link DashboardOptions.onError}. */
  readonly onError?: (error: unknown) => void;
}

/** A dashboard being served. */
export interface ServedDashboard {
  /** The URL to open, token included (in the fragment, which browsers never send to a server). */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** Stops serving, and waits for the resumes it started. */
  close(): Promise<void>;
}

/** Serves the dashboard of `options.runner`'s store until `close()`. */
export async function serveDashboard(options: ServeDashboardOptions): Promise<ServedDashboard> {
  const { port = 4100, host = '127.0.0.1' } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidOptionError('port', port, 'an integer from 0 to 65535');
  if (typeof host !== 'string' || host === '') throw new InvalidOptionError('host', host, 'an address to bind, e.g. 127.0.0.1');
  const allowedHosts = ['127.0.0.1', 'localhost', '::1', host];
  const dashboard = createDashboard({ runner: options.runner, allowedHosts, ...(options.token === undefined ? {} : { token: options.token }), ...(options.onError === undefined ? {} : { onError: options.onError }) });
  const server: Server = createServer(dashboard);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${bound}/#token=${encodeURIComponent(dashboard.token)}`,
    port: bound,
    token: dashboard.token,
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dashboard.close();
    },
  };
}
