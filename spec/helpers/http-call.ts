import { request } from 'node:http';

/** An HTTP answer, its body as text and, when it is JSON, parsed. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One HTTP request to 127.0.0.1:`port`, with the dashboard's token header, a JSON body or a raw one, and a Host of its choosing. */
export function call(port: number, method: string, path: string, options: { token?: string; body?: unknown; host?: string; raw?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const req = request(
      {
        host: '127.0.0.1',
        port,
        agent: false, // a connection of its own: a kept-alive one could outlive the server under test
        method,
        path,
        headers: {
          ...(options.token === undefined ? {} : { 'x-waymark-token': options.token }),
          ...(options.host === undefined ? {} : { host: options.host }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode!, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
