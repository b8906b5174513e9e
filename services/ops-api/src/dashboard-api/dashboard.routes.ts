import path from 'node:path';
import { Router, type Request } from 'express';
import { buildRunReport, type Runtime, type SegmentQuality } from '@rayvault/shared';
import { principalOf, type Auth } from '../auth/authenticate';
import { HttpError } from '../http/errors';
import type { RunFeed } from './run-feed';
import { segmentFilePath } from './segment-file';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SEGMENT = /^[0-9]{1,4}$/;

type Prices = { creditPriceUsd: number; usdBrl: number };
const csvCell = (v: unknown) =>
  v === null || v === undefined ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v);

const runId = (req: Request): string => {
  const id = String(req.params.id);
  if (!UUID.test(id)) throw new HttpError('not_found', `no run ${id}`);
  return id;
};

/** A run's segment timeline from its report's quality section. */
async function timeline(rt: Runtime, prices: Prices, stateDir: string, id: string) {
  const q = (await buildRunReport(rt.media, id, prices, stateDir)).quality;
  // The browser gets a media URL, not the server's file paths.
  const segments = q.segments.map(({ path: _file, ...s }: SegmentQuality) => ({
    ...s,
    video: s.status === 'READY' ? `/api/runs/${id}/segments/${s.segment}/video` : null,
  }));
  return { ...q, segments };
}

/** The timeline as CSV: one row per segment with its start and end on the video, then a total. */
function timelineCsv(t: Awaited<ReturnType<typeof timeline>>): string {
  let start = 0;
  const rows = t.segments.map((s) => {
    const row = [
      s.segment,
      start.toFixed(3),
      (start + (s.duration_s ?? 0)).toFixed(3),
      s.duration_s,
      s.target_s,
      s.drift_s,
      s.status,
    ];
    start += s.duration_s ?? 0;
    return row;
  });
  const lines = [
    ['segment', 'start_s', 'end_s', 'duration_s', 'target_s', 'drift_s', 'status'],
    ...rows,
    ['total', '', '', t.duration_s, t.target_s, t.drift_s, `${t.segments_ready}/${t.segments_total} READY`],
  ];
  return `${lines.map((l) => l.map(csvCell).join(',')).join('\n')}\n`;
}

/**
 * What the dashboard reads beyond the runs API: the live run feed (SSE), each
 * run's segment timeline (JSON and CSV), its final segments as video (HTTP
 * range requests), and the last hour's stage throughput for the queue charts.
 */
export function dashboardRoutes(rt: Runtime, d: { auth: Auth; feed: RunFeed; prices: Prices }): Router {
  const r = Router();
  const viewer = d.auth.requireRole('viewer');
  const stateDir = path.resolve(rt.config.RAYVAULT_STATE_DIR);

  // Who the page's session belongs to, or null: not being logged in is not an error to the page that shows the login
  // form.
  r.get('/api/session', (_req, res) => {
    const p = principalOf(res);
    res.set('Cache-Control', 'no-store').json({ me: p ? { name: p.name, role: p.role, csrf: p.csrf ?? null } : null });
  });

  r.get('/api/events/stream', viewer, (_req, res) => d.feed.subscribe(res));

  r.get('/api/runs/:id/timeline', viewer, async (req, res) => {
    res.json(await timeline(rt, d.prices, stateDir, runId(req)));
  });

  r.get('/api/runs/:id/timeline.csv', viewer, async (req, res) => {
    const id = runId(req);
    const t = await timeline(rt, d.prices, stateDir, id);
    res.type('text/csv').attachment(`timeline-${id}.csv`).send(timelineCsv(t));
  });

  // Only files the video index names for this run; sendFile answers Range requests.
  r.get('/api/runs/:id/segments/:n/video', viewer, async (req, res) => {
    const id = runId(req);
    const n = String(req.params.n);
    if (!SEGMENT.test(n)) throw new HttpError('not_found', `no segment ${n}`);
    const a = (await rt.media.artifacts(id)).find(
      (x) => x.stage === 'render' && x.kind === 'video' && x.segment === Number(n),
    );
    if (!a) throw new HttpError('not_found', `run ${id} has no rendered segment ${n} in the video index`);
    const file = segmentFilePath(stateDir, a.path);
    res.set('Cache-Control', 'private, max-age=60');
    await new Promise<void>((ok, fail) =>
      res.sendFile(file, { dotfiles: 'allow', headers: { 'Content-Type': 'video/mp4' } }, (err) =>
        err && !res.headersSent ? fail(err) : ok(),
      ),
    );
  });

  // Completed stage tries and failed/panicked runs per minute over the last hour, per stage.
  r.get('/api/dashboard/throughput', viewer, async (_req, res) => {
    const { since, points } = await rt.operations.stageThroughput();
    res.json({ since: since.toISOString(), points: points.map((p) => ({ ...p, minute: p.minute.toISOString() })) });
  });
  return r;
}
