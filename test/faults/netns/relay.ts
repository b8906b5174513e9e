// A TCP relay in the root namespace: it listens on a host's root-side veth address and carries each connection to the
// test's own Redis or Postgres on loopback (those listen on 127.0.0.1 only). It is also where the drill adds latency
// to one direction of one host's link: this machine's kernel may lack `sch_netem`, and a relay works on every one.
import net from 'node:net';

/** Added delay, drawn uniformly from [min, max] ms per chunk; order is kept, as on a single link. */
export type DelayRange = { minMs: number; maxMs: number };

export type Relay = {
  address: string;
  port: number;
  /** host → server only (the host's uplink); `null` removes it. */
  setUplinkDelay: (delay: DelayRange | null) => void;
  close: () => Promise<void>;
};

/** Writes chunks to `to` after the current delay, never overtaking an earlier chunk. */
function delayedPipe(to: net.Socket, delay: () => DelayRange | null) {
  const queue: Array<{ at: number; chunk: Buffer }> = [];
  let timer: NodeJS.Timeout | undefined;
  let lastAt = 0;
  const drain = () => {
    timer = undefined;
    const now = Date.now();
    while (queue.length && queue[0].at <= now) to.write(queue.shift()!.chunk);
    if (queue.length) timer = setTimeout(drain, queue[0].at - now);
  };
  return (chunk: Buffer) => {
    const d = delay();
    if (!d && !queue.length) {
      to.write(chunk);
      return;
    }
    const extra = d ? d.minMs + Math.random() * (d.maxMs - d.minMs) : 0;
    lastAt = Math.max(lastAt, Date.now() + extra);
    queue.push({ at: lastAt, chunk });
    if (!timer) timer = setTimeout(drain, lastAt - Date.now());
  };
}

/** Listens on `address` (port chosen by the system) and relays to `target`. */
export async function startRelay(address: string, target: { host: string; port: number }): Promise<Relay> {
  let uplinkDelay: DelayRange | null = null;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
    }
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on(
      'data',
      delayedPipe(upstream, () => uplinkDelay),
    );
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  return {
    address,
    port: (server.address() as net.AddressInfo).port,
    setUplinkDelay: (d) => (uplinkDelay = d),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
