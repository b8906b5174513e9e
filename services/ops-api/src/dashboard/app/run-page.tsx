// `/runs/<id>`: the run, its stage waterfall, the evidence side by side, the
// gate and panic panels, the final segments with their timeline, cost and events.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ActionPanel } from './action-panel';
import { api, can, subscribeRuns, type Me } from './api';
import { stageTries, type StageTry } from './stage-tries';

type Stage = {
  stage: string;
  status: string;
  attempt: number;
  worker_id: string | null;
  started_at: string;
  finished_at: string | null;
  duration_s: number | null;
};
type Event = {
  id: string;
  type: string;
  actor: string;
  reason: string | null;
  created_at: string;
  fence: number | null;
  payload: Record<string, unknown> | null;
};
type Claim = { attempt: number; field: string; value: unknown; source: string; tier: number };
type Diff = { field: string; values: { source: string; tier: number; value: unknown }[] }[];
type Run = {
  id: string;
  status: string;
  stage: string;
  attempt: number;
  worker_id: string | null;
  fence: number;
  trace_id?: string | null;
  product: { name?: string };
  worker_last_error: string | null;
  panic_kind: string | null;
  stages: Stage[];
  events: Event[];
  evidence: { gate: { open: boolean; summary: string | null; diff: Diff } | null; claims: Claim[] };
  cost: { credits: number; usd: number; brl: number };
};
type Segment = {
  segment: number;
  status: string;
  duration_s: number | null;
  target_s: number | null;
  drift_s: number | null;
  problem?: string;
  video: string | null;
};
type Timeline = {
  segments: Segment[];
  segments_ready: number;
  segments_total: number;
  duration_s: number;
  target_s: number;
  drift_s: number;
};

const STAGE_ORDER = ['evidence', 'voice', 'render', 'qc'];
const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const secs = (s: number | null) => (s === null ? '-' : `${s.toFixed(2)} s`);

export function RunPage(p: { id: string; me: Me; flash: (m: string) => void }) {
  const [run, setRun] = useState<Run | null>(null);
  const [timeline, setTimeline] = useState<Timeline | null>(null);
  const [error, setError] = useState('');
  const load = useCallback(async () => {
    try {
      const [r, t] = await Promise.all([api<Run>(`/api/runs/${p.id}`), api<Timeline>(`/api/runs/${p.id}/timeline`)]);
      setRun(r);
      setTimeline(t);
      setError('');
    } catch (e) {
      setError((e as Error).message);
    }
  }, [p.id]);
  useEffect(() => {
    void load();
    return subscribeRuns((runs) => {
      if (runs.some((r) => r.id === p.id)) void load();
    });
  }, [load]);
  if (error)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  if (!run) return <p>Loading run {p.id}...</p>;
  const done = (m: string) => {
    p.flash(m);
    void load();
  };
  const operator = can(p.me, 'operator');
  return (
    <article aria-labelledby="h-run">
      <h2 id="h-run">
        {run.product?.name ?? 'Run'} <code>{run.id}</code>
      </h2>
      <dl class="facts">
        <dt>Status</dt>
        <dd class={`status status-${run.status}`} data-testid="run-status">
          {run.status}
        </dd>
        <dt>Stage</dt>
        <dd>{run.stage}</dd>
        <dt>Attempt</dt>
        <dd>{run.attempt}</dd>
        <dt>Worker</dt>
        <dd>{run.worker_id ?? '-'}</dd>
        <dt>Fence</dt>
        <dd>{run.fence}</dd>
        {run.trace_id && (
          <>
            <dt>Trace</dt>
            <dd>
              <code data-testid="trace-id">{run.trace_id}</code>
            </dd>
          </>
        )}
        {run.worker_last_error && (
          <>
            <dt>Last error</dt>
            <dd>{run.worker_last_error}</dd>
          </>
        )}
      </dl>

      {run.status === 'waiting_approval' && (
        <section class="panel gate" aria-labelledby="h-gate">
          <h3 id="h-gate">Gate: {run.evidence.gate?.summary ?? 'trusted sources disagree on a critical claim'}</h3>
          <DiffTable diff={run.evidence.gate?.diff ?? []} />
          {operator ? (
            <ActionPanel
              id="gate"
              onDone={done}
              actions={['approve', 'refetch', 'abort'].map((a) => ({
                label: a[0].toUpperCase() + a.slice(1),
                path: `/api/runs/${run.id}/${a}`,
                body: { expected: 'waiting_approval' },
              }))}
            />
          ) : (
            <p class="note">Viewers read; an operator decides this gate.</p>
          )}
        </section>
      )}
      {(run.status === 'panic' || (run.status === 'running' && can(p.me, 'admin'))) && (
        <section class="panel panic" aria-labelledby="h-panic">
          <h3 id="h-panic">{run.status === 'panic' ? `Panic: ${run.panic_kind ?? ''}` : 'Stuck? Unlock the run'}</h3>
          {operator && run.status === 'panic' && (
            <ActionPanel
              id="panic"
              onDone={done}
              actions={[{ label: 'Resume', path: `/api/runs/${run.id}/resume`, body: { expected: 'panic' } }]}
            />
          )}
          {can(p.me, 'admin') && (
            <ActionPanel
              id="unlock"
              onDone={done}
              extra={{ label: 'Force (the worker may still be alive)', key: 'force' }}
              actions={[{ label: 'Unlock', path: `/api/runs/${run.id}/unlock` }]}
            />
          )}
        </section>
      )}

      <section aria-labelledby="h-waterfall">
        <h3 id="h-waterfall">Stages</h3>
        <Waterfall stages={run.stages} events={run.events} />
      </section>

      <section aria-labelledby="h-evidence">
        <h3 id="h-evidence">Evidence</h3>
        <Claims claims={run.evidence.claims} disputed={new Set((run.evidence.gate?.diff ?? []).map((d) => d.field))} />
      </section>

      <section aria-labelledby="h-media">
        <h3 id="h-media">Media</h3>
        {timeline && timeline.segments.length ? (
          <Media id={run.id} t={timeline} />
        ) : (
          <p class="empty">No segment rendered yet.</p>
        )}
      </section>

      <section aria-labelledby="h-cost">
        <h3 id="h-cost">Cost</h3>
        <p>
          {run.cost.credits} credits · {run.cost.usd.toFixed(2)} USD · {run.cost.brl.toFixed(2)} BRL
        </p>
      </section>

      <section aria-labelledby="h-events">
        <h3 id="h-events">Events</h3>
        <table class="events">
          <thead>
            <tr>
              <th>When</th>
              <th>Event</th>
              <th>Who</th>
              <th>Why</th>
            </tr>
          </thead>
          <tbody>
            {[...run.events].reverse().map((e) => (
              <tr key={e.id}>
                <td>{new Date(e.created_at).toLocaleTimeString()}</td>
                <td>{e.type}</td>
                <td>{e.actor}</td>
                <td>{e.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </article>
  );
}

function DiffTable(p: { diff: Diff }) {
  const sources = [...new Set(p.diff.flatMap((f) => f.values.map((v) => `${v.source} (tier ${v.tier})`)))];
  return (
    <table class="diff">
      <thead>
        <tr>
          <th>Field</th>
          {sources.map((s) => (
            <th key={s}>{s}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {p.diff.map((f) => (
          <tr key={f.field}>
            <th>{f.field}</th>
            {sources.map((s) => {
              const v = f.values.find((x) => `${x.source} (tier ${x.tier})` === s);
              return (
                <td key={s} class={v ? 'differs' : ''}>
                  {v ? text(v.value) : '-'}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Claims(p: { claims: Claim[]; disputed: Set<string> }) {
  if (!p.claims.length) return <p class="empty">No claim extracted yet.</p>;
  const latest = Math.max(...p.claims.map((c) => c.attempt));
  const claims = p.claims.filter((c) => c.attempt === latest);
  const sources = [...new Map(claims.map((c) => [c.source, c.tier])).entries()].sort((a, b) => b[1] - a[1]);
  const fields = [...new Set(claims.map((c) => c.field))];
  return (
    <table class="claims">
      <thead>
        <tr>
          <th>Claim</th>
          {sources.map(([s, tier]) => (
            <th key={s}>
              {s} (tier {tier})
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {fields.map((f) => (
          <tr key={f} class={p.disputed.has(f) ? 'disputed' : ''}>
            <th>
              {f}
              {p.disputed.has(f) ? ' (disagree)' : ''}
            </th>
            {sources.map(([s]) => {
              const c = claims.find((x) => x.field === f && x.source === s);
              return <td key={s}>{c ? text(c.value) : '-'}</td>;
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * A row per stage and a bar per try of it (a retry, a takeover after a crash, a resume after a panic each start one).
 */
function Waterfall(p: { stages: Stage[]; events: Event[] }) {
  const stages = [...p.stages].sort((a, b) => STAGE_ORDER.indexOf(a.stage) - STAGE_ORDER.indexOf(b.stage));
  if (!stages.length) return <p class="empty">No stage started yet.</p>;
  const tries = stageTries(p.events);
  const now = Date.now();
  const t0 = Math.min(...stages.map((s) => Date.parse(s.started_at)), ...tries.map((t) => t.start));
  const t1 = Math.max(
    ...stages.map((s) => (s.finished_at ? Date.parse(s.finished_at) : now)),
    ...tries.map((t) => t.end ?? now),
  );
  const span = Math.max(1, t1 - t0);
  const bar = (key: string, cls: string, start: number, end: number, title: string) => (
    <span
      key={key}
      class={`bar ${cls}`}
      title={title}
      style={{ left: `${((start - t0) / span) * 100}%`, width: `${Math.max(0.5, ((end - start) / span) * 100)}%` }}
    />
  );
  const tryTitle = (t: StageTry) =>
    `attempt ${t.attempt} · ${t.worker}${t.fence === null ? '' : ` · fence ${t.fence}`} · ${t.outcome} · ${secs(((t.end ?? now) - t.start) / 1000)}`;
  return (
    <ol class="waterfall">
      {stages.map((s) => {
        const mine = tries.filter((t) => t.stage === s.stage);
        return (
          <li key={s.stage} data-stage={s.stage} data-tries={mine.length}>
            <span class="label">
              {s.stage}
              {s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}
            </span>
            <span class="track">
              {mine.length
                ? mine.map((t, i) => bar(String(i), `bar-${t.outcome}`, t.start, t.end ?? now, tryTitle(t)))
                : bar(
                    'stage',
                    `bar-${s.status}`,
                    Date.parse(s.started_at),
                    s.finished_at ? Date.parse(s.finished_at) : now,
                    s.status,
                  )}
            </span>
            <span class="dur">
              {s.status} · {secs(s.duration_s)}
              {mine.length > 1 ? ` · ${mine.length} tries` : ''}
              {s.worker_id ? ` · ${s.worker_id}` : ''}
            </span>
          </li>
        );
      })}
    </ol>
  );
}

function Media(p: { id: string; t: Timeline }) {
  let start = 0;
  return (
    <div>
      <div class="videos">
        {p.t.segments
          .filter((s) => s.video)
          .map((s) => (
            <figure key={s.segment}>
              <video controls preload="metadata" src={s.video!} data-segment={s.segment} />
              <figcaption>Segment {s.segment}</figcaption>
            </figure>
          ))}
      </div>
      <table class="timeline">
        <thead>
          <tr>
            <th>Segment</th>
            <th>Start</th>
            <th>End</th>
            <th>Duration</th>
            <th>Target</th>
            <th>Drift</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {p.t.segments.map((s) => {
            const row = (
              <tr key={s.segment}>
                <td>{s.segment}</td>
                <td>{secs(start)}</td>
                <td>{secs(start + (s.duration_s ?? 0))}</td>
                <td>{secs(s.duration_s)}</td>
                <td>{secs(s.target_s)}</td>
                <td>{secs(s.drift_s)}</td>
                <td class={`seg-${s.status}`}>
                  {s.status}
                  {s.problem ? ` (${s.problem})` : ''}
                </td>
              </tr>
            );
            start += s.duration_s ?? 0;
            return row;
          })}
        </tbody>
        <tfoot>
          <tr>
            <th>Total</th>
            <td />
            <td />
            <td>{secs(p.t.duration_s)}</td>
            <td>{secs(p.t.target_s)}</td>
            <td>{secs(p.t.drift_s)}</td>
            <td>
              {p.t.segments_ready}/{p.t.segments_total} READY
            </td>
          </tr>
        </tfoot>
      </table>
      <p>
        <a href={`/api/runs/${p.id}/timeline.csv`} download>
          Timeline CSV
        </a>
      </p>
    </div>
  );
}
