// Clients and a reverse proxy on distinct loopback addresses (127.0.0.0/8 is
// all local on Linux), so one API instance sees several "client IPs" without
// any traffic leaving the machine.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Answer = { status: number; headers: http.IncomingHttpHeaders; body: any };

/** One request from `from` (a 127.x.y.z source address) to a loopback URL. */
export function requestFrom(
  from: string,
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Answer> {
  const body = o.body === undefined ? undefined : JSON.stringify(o.body);
  const headers = { ...(body ? { 'content-type': 'application/json' } : {}), ...o.headers };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method ?? 'GET', headers, localAddress: from, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A reverse proxy as nginx's `proxy_add_x_forwarded_for` does it: listens on
 * `listen`, connects to the API from that same address, and appends the
 * connecting client's address to whatever X-Forwarded-For the client sent.
 */
export async function startForwardingProxy(
  listen: string,
  upstream: string,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const peer = req.socket.remoteAddress!.replace(/^::ffff:/, '');
    const sent = req.headers['x-forwarded-for'];
    const headers = { ...req.headers, 'x-forwarded-for': sent ? `${sent}, ${peer}` : peer };
    const out = http.request(
      upstream + req.url,
      { method: req.method, headers, localAddress: listen, agent: false },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(out);
  });
  await new Promise<void>((ok) => server.listen(0, listen, ok));
  return {
    url: `http://${listen}:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
