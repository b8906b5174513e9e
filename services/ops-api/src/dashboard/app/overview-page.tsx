// `/`: the doctor's verdict, queues with their last hour, workers, open gates
// and panics first, intake with Drain / Resume for admins.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ActionPanel } from './action-panel';
import { ago, api, can, short, subscribeRuns, type Me } from './api';
import { QueueChart, type Point } from './queue-chart';
import { Link } from './router';

type Health = {
  status: string;
  verdict?: string;
  findings?: { area: string; level: string; code: string; message: string }[];
  workers?: {
    id: string;
    state: string;
    current_run: string | null;
    heartbeat_age_ms: number;
    last_error: string | null;
    stopped_at: string | null;
  }[];
};
type Queues = {
  status: string;
  queues: Record<string, Record<string, number | boolean>>;
  intake: { paused: boolean; by?: string; reason?: string } | null;
  redis?:
    { mode: 'single' } | { mode: 'cluster'; state: string; nodes: unknown[]; placement: Record<string, string> } | null;
};
type RunRow = {
  id: string;
  product_name: string | null;
  status: string;
  stage: string;
  worker_last_error: string | null;
  panic_kind: string | null;
  updated_at: string;
};

type Overview = { health: Health | null; queues: Queues | null; gates: RunRow[]; panics: RunRow[]; points: Point[] };

/** Everything the overview shows, loaded again on run changes and every 10 s. */
function useOverview(flash: (m: string) => void) {
  const [o, setO] = useState<Overview>({ health: null, queues: null, gates: [], panics: [], points: [] });
  const load = useCallback(async () => {
    const [h, q, g, pn, t] = await Promise.all([
      api<Health>('/api/health').catch(() => ({ status: 'down' })),
      api<Queues>('/api/ops/queues'),
      api<{ runs: RunRow[] }>('/api/runs?status=waiting_approval&limit=20'),
      api<{ runs: RunRow[] }>('/api/runs?status=panic&limit=20'),
      api<{ points: Point[] }>('/api/dashboard/throughput'),
    ]);
    setO({ health: h, queues: q, gates: g.runs, panics: pn.runs, points: t.points });
  }, []);
  useEffect(() => {
    void load().catch((e: Error) => flash(`overview failed to load: ${e.message}`));
    const off = subscribeRuns(() => void load().catch(() => undefined));
    // Heartbeat ages and queue counts move without run events.
    const timer = setInterval(() => void load().catch(() => undefined), 10_000);
    return () => {
      off();
      clearInterval(timer);
    };
  }, [load]);
  return { ...o, load };
}

export function OverviewPage(p: { me: Me; flash: (m: string) => void }) {
  const { health, queues, gates, panics, points, load } = useOverview(p.flash);
  return (
    <div>
      <GatesSection gates={gates} />
      <PanicsSection panics={panics} />
      <DoctorSection health={health} />
      <IntakeSection
        intake={queues?.intake}
        admin={can(p.me, 'admin')}
        onDone={(m) => {
          p.flash(m);
          void load();
        }}
      />
      <QueuesSection queues={queues} points={points} />
      <WorkersSection workers={health?.workers ?? []} />
    </div>
  );
}

function GatesSection({ gates }: { gates: RunRow[] }) {
  return (
    <section aria-labelledby="h-gates">
      <h2 id="h-gates">Open gates</h2>
      {gates.length ? (
        <ul>
          {gates.map((r) => (
            <li key={r.id} data-gate={r.id}>
              <Link href={`/runs/${r.id}`}>{r.product_name ?? short(r.id)}</Link> waiting for a decision since{' '}
              {ago(r.updated_at)}
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty">No run is waiting for a decision.</p>
      )}
    </section>
  );
}

function PanicsSection({ panics }: { panics: RunRow[] }) {
  return (
    <section aria-labelledby="h-panics">
      <h2 id="h-panics">Panics</h2>
      {panics.length ? (
        <ul>
          {panics.map((r) => (
            <li key={r.id} data-panic={r.id}>
              <Link href={`/runs/${r.id}`}>{r.product_name ?? short(r.id)}</Link> {r.panic_kind ?? 'panic'}:{' '}
              {r.worker_last_error}
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty">No panic.</p>
      )}
    </section>
  );
}

/** The doctor's verdict and every finding that is not a PASS. */
function DoctorSection({ health }: { health: Health | null }) {
  return (
    <section aria-labelledby="h-verdict">
      <h2 id="h-verdict">Doctor</h2>
      <p class="verdict" data-testid="verdict">
        {health?.verdict ?? (health ? health.status : 'loading...')}
      </p>
      <ul class="findings">
        {(health?.findings ?? [])
          .filter((f) => f.level !== 'PASS')
          .map((f) => (
            <li key={f.code + f.message} class={`level-${f.level}`}>
              {f.level} {f.area} {f.code}: {f.message}
            </li>
          ))}
      </ul>
    </section>
  );
}

/** Whether intake is open, and Drain / Resume for an admin. */
function IntakeSection(p: { intake: Queues['intake'] | undefined; admin: boolean; onDone: (m: string) => void }) {
  const intake = p.intake;
  return (
    <section aria-labelledby="h-intake">
      <h2 id="h-intake">Intake</h2>
      <p data-testid="intake">
        {intake
          ? intake.paused
            ? `Intake drained by ${intake.by ?? '?'}: ${intake.reason ?? ''}`
            : 'Intake open'
          : 'Intake unknown (queues offline)'}
      </p>
      {intake && p.admin && (
        <ActionPanel
          id="intake"
          onDone={p.onDone}
          actions={
            intake.paused
              ? [{ label: 'Resume intake', path: '/api/ops/resume' }]
              : [{ label: 'Drain intake', path: '/api/ops/drain' }]
          }
        />
      )}
    </section>
  );
}

/** Each queue's counts and, for the stage queues, its last hour. */
function QueuesSection({ queues, points }: { queues: Queues | null; points: Point[] }) {
  const cluster = queues?.redis?.mode === 'cluster' ? queues.redis : null;
  return (
    <section aria-labelledby="h-queues">
      <h2 id="h-queues">Queues</h2>
      {cluster && (
        <p data-testid="redis-cluster">
          Redis Cluster {cluster.state}: {cluster.nodes.length} nodes, each queue on the master named below
        </p>
      )}
      <div class="queues">
        {Object.entries(queues?.queues ?? {}).map(([name, c]) => (
          <div class="queue" key={name} data-queue={name}>
            <h3>
              {name}
              {c.is_paused ? ' (paused)' : ''}
            </h3>
            <p>
              waiting {c.waiting} · active {c.active} · delayed {c.delayed} · failed {c.failed}
            </p>
            {cluster && <p class="empty">on {cluster.placement[name] ?? 'no master (slot unserved)'}</p>}
            {name !== 'alerts' && <QueueChart stage={name} points={points} />}
          </div>
        ))}
      </div>
    </section>
  );
}

/** Live workers (stopped ones are left out). */
function WorkersSection({ workers }: { workers: NonNullable<Health['workers']> }) {
  return (
    <section aria-labelledby="h-workers">
      <h2 id="h-workers">Workers</h2>
      <table>
        <thead>
          <tr>
            <th>Worker</th>
            <th>State</th>
            <th>Current run</th>
            <th>Heartbeat</th>
            <th>Last error</th>
          </tr>
        </thead>
        <tbody>
          {workers
            .filter((w) => !w.stopped_at)
            .map((w) => (
              <tr key={w.id} data-worker={w.id}>
                <td>{w.id}</td>
                <td class={`state-${w.state}`}>{w.state}</td>
                <td>{w.current_run ? <Link href={`/runs/${w.current_run}`}>{short(w.current_run)}</Link> : '-'}</td>
                <td>{Math.round(w.heartbeat_age_ms / 1000)} s ago</td>
                <td>{w.last_error ?? ''}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </section>
  );
}
