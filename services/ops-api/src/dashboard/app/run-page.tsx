// `/runs/<id>`: the run, its stage waterfall, the evidence side by side, the
// gate and panic panels, the final segments with their timeline, cost and events.
import type { StageTiming } from '@rayvault/shared';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ActionPanel } from './action-panel';
import { api, can, subscribeRuns, type Me } from './api';
import { secs } from './run-format';
import { Claims, DiffTable, type Claim, type Diff } from './run-evidence';
import { Media, type Timeline } from './run-media';
import { stageTries, type StageTry } from './stage-tries';

/** A stage row as GET /api/runs/:id sends it (the run report's read model). */
type Stage = StageTiming;
type Event = {
  id: string;
  type: string;
  actor: string;
  reason: string | null;
  created_at: string;
  fence: number | null;
  payload: Record<string, unknown> | null;
};
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

const STAGE_ORDER = ['evidence', 'voice', 'render', 'qc'];

/** The run and its timeline, loaded again whenever the run feed says this run changed. */
function useRun(id: string) {
  const [run, setRun] = useState<Run | null>(null);
  const [timeline, setTimeline] = useState<Timeline | null>(null);
  const [error, setError] = useState('');
  const load = useCallback(async () => {
    try {
      const [r, t] = await Promise.all([api<Run>(`/api/runs/${id}`), api<Timeline>(`/api/runs/${id}/timeline`)]);
      setRun(r);
      setTimeline(t);
      setError('');
    } catch (e) {
      setError((e as Error).message);
    }
  }, [id]);
  useEffect(() => {
    void load();
    return subscribeRuns((runs) => {
      if (runs.some((r) => r.id === id)) void load();
    });
  }, [load]);
  return { run, timeline, error, load };
}

export function RunPage(p: { id: string; me: Me; flash: (m: string) => void }) {
  const { run, timeline, error, load } = useRun(p.id);
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
  return (
    <article aria-labelledby="h-run">
      <h2 id="h-run">
        {run.product?.name ?? 'Run'} <code>{run.id}</code>
      </h2>
      <RunFacts run={run} />

      {run.status === 'waiting_approval' && <GatePanel run={run} operator={can(p.me, 'operator')} done={done} />}
      {(run.status === 'panic' || (run.status === 'running' && can(p.me, 'admin'))) && (
        <PanicPanel run={run} me={p.me} done={done} />
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
        <EventsTable events={run.events} />
      </section>
    </article>
  );
}

function RunFacts({ run }: { run: Run }) {
  return (
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
  );
}

/** An open gate: the disagreeing fields, and approve / refetch / abort for an operator. */
function GatePanel({ run, operator, done }: { run: Run; operator: boolean; done: (m: string) => void }) {
  return (
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
  );
}

/** A panicked run (resume), or a running one an admin may unlock when its worker is stuck. */
function PanicPanel({ run, me, done }: { run: Run; me: Me; done: (m: string) => void }) {
  const operator = can(me, 'operator');
  return (
    <section class="panel panic" aria-labelledby="h-panic">
      <h3 id="h-panic">{run.status === 'panic' ? `Panic: ${run.panic_kind ?? ''}` : 'Stuck? Unlock the run'}</h3>
      {operator && run.status === 'panic' && (
        <ActionPanel
          id="panic"
          onDone={done}
          actions={[{ label: 'Resume', path: `/api/runs/${run.id}/resume`, body: { expected: 'panic' } }]}
        />
      )}
      {can(me, 'admin') && (
        <ActionPanel
          id="unlock"
          onDone={done}
          extra={{ label: 'Force (the worker may still be alive)', key: 'force' }}
          actions={[{ label: 'Unlock', path: `/api/runs/${run.id}/unlock` }]}
        />
      )}
    </section>
  );
}

/** The run's events, newest first. */
function EventsTable({ events }: { events: Event[] }) {
  return (
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
        {[...events].reverse().map((e) => (
          <tr key={e.id}>
            <td>{new Date(e.created_at).toLocaleTimeString()}</td>
            <td>{e.type}</td>
            <td>{e.actor}</td>
            <td>{e.reason ?? ''}</td>
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
  // Each bar is focusable and named by its details, so a keyboard or screen reader reaches what the tooltip shows.
  const bar = (key: string, cls: string, start: number, end: number, title: string) => (
    <span
      key={key}
      class={`bar ${cls}`}
      title={title}
      role="img"
      aria-label={title}
      tabIndex={0}
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
