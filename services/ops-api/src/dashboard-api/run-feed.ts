import type { Response } from 'express';
import type { Runtime } from '@rayvault/shared';

export type RunChange = { id: string; status: string; stage: string; updated_at: string };

const send = (res: Response, event: string, data: unknown) =>
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

/** Answers with an event stream that reconnects after 2 s, and greets the page. */
function openStream(res: Response): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  send(res, 'hello', { at: new Date().toISOString() });
}

const toRunChange = (r: { id: string; status: string; stage: string; updated_at: Date }): RunChange => ({
  id: r.id,
  status: r.status,
  stage: r.stage,
  updated_at: r.updated_at.toISOString(),
});

/**
 * How far behind the newest seq each tick looks again. A seq is taken when an
 * event is inserted but seen when its transaction commits, so a lower seq can
 * appear after a higher one (concurrent transitions, a group commit): a tick
 * that only read past the newest seq would miss that run's change for good.
 */
const SEQ_OVERLAP = 10_000;

/**
 * The runs changed since the last call, each change once. The first call only
 * marks where the feed starts: changes before it count as seen (the page has
 * just loaded them).
 */
function createChangeReader(rt: Runtime, overlap: number) {
  let lastSeq: number | undefined;
  // Run → the newest seq already returned for it, for the runs inside the overlap.
  const seen = new Map<string, number>();
  const mark = (rows: { id: string; seq: number }[]) => {
    lastSeq = Math.max(lastSeq ?? 0, ...rows.map((r) => r.seq));
    for (const r of rows) seen.set(r.id, r.seq);
    for (const [id, seq] of seen) if (seq <= lastSeq - overlap) seen.delete(id);
  };
  return {
    async next(): Promise<RunChange[]> {
      if (lastSeq === undefined) {
        const head = await rt.operations.eventHead();
        mark(await rt.operations.runChangesSince(Math.max(0, head - overlap)));
        lastSeq = Math.max(lastSeq ?? 0, head);
        return [];
      }
      const rows = await rt.operations.runChangesSince(Math.max(0, lastSeq - overlap));
      const changed = rows.filter((r) => seen.get(r.id) !== r.seq);
      mark(changed);
      return changed.map(toRunChange);
    },
    reset(): void {
      lastSeq = undefined;
      seen.clear();
    },
  };
}

/**
 * Server-sent events of changed runs. One poller per ops-api process, shared
 * by every open page, and only while a page listens: each tick (every 500 ms,
 * so a page shows a change within a second) is one indexed
 * query on run_events.seq (every state change writes an event), then the
 * changed runs' status. Pages refetch what they show when a run they show changed.
 */
export function createRunFeed(rt: Runtime, o: { tickMs?: number; keepaliveMs?: number; seqOverlap?: number } = {}) {
  const tickMs = o.tickMs ?? 500;
  const changes = createChangeReader(rt, o.seqOverlap ?? SEQ_OVERLAP);
  const clients = new Set<Response>();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let sinceKeepalive = 0;

  async function tick(): Promise<void> {
    if (ticking) return;
    ticking = true;
    try {
      const runs = await changes.next();
      if (runs.length) {
        for (const c of clients) send(c, 'runs', { runs });
        sinceKeepalive = 0;
      } else if ((sinceKeepalive += tickMs) >= (o.keepaliveMs ?? 15000)) {
        // A comment line keeps proxies from closing an idle stream.
        for (const c of clients) c.write(': keepalive\n\n');
        sinceKeepalive = 0;
      }
    } catch (err) {
      rt.log.warn({ err }, 'run feed tick failed; retrying next tick');
    } finally {
      ticking = false;
    }
  }

  function stop(): void {
    clearInterval(timer);
    timer = undefined;
    changes.reset();
  }

  return {
    /** Holds `res` open as an event stream until the client goes away. */
    subscribe(res: Response): void {
      openStream(res);
      clients.add(res);
      res.on('close', () => {
        clients.delete(res);
        if (!clients.size) stop();
      });
      if (!timer) {
        void tick();
        timer = setInterval(() => void tick(), tickMs);
        timer.unref();
      }
    },
    /** Ends every stream (the server is stopping). */
    close(): void {
      for (const c of clients) c.end();
      clients.clear();
      stop();
    },
  };
}
export type RunFeed = ReturnType<typeof createRunFeed>;
