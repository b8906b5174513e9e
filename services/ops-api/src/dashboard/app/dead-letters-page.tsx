// `/dead-letters`: stage jobs that used up their attempts, newest first, with Re-drive for operators.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ActionPanel } from './action-panel';
import { api, can, short, subscribeRuns, type Me } from './api';
import { Link } from './router';

type DeadLetter = {
  queue: string;
  job_id: string;
  run_id: string | null;
  attempt: number | null;
  failed_reason: string;
  attempts_made: number;
  failed_at: string | null;
};

export function DeadLettersPage(p: { me: Me; flash: (m: string) => void }) {
  const [data, setData] = useState<{ jobs: DeadLetter[]; counts: Record<string, number> } | null>(null);
  const [error, setError] = useState('');
  const load = useCallback(
    () =>
      api<{ jobs: DeadLetter[]; counts: Record<string, number> }>('/api/dead-letters?limit=100').then(
        setData,
        (e: Error) => setError(e.message),
      ),
    [],
  );
  useEffect(() => {
    void load();
    return subscribeRuns(() => void load());
  }, [load]);
  const operator = can(p.me, 'operator');
  const onDone = (m: string) => {
    p.flash(m);
    void load();
  };
  return (
    <section aria-labelledby="h-dlq">
      <h2 id="h-dlq">Dead letters</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <p>
        {Object.entries(data?.counts ?? {})
          .map(([q, n]) => `${q} ${n}`)
          .join(' · ')}
      </p>
      {data && !data.jobs.length ? (
        <p class="empty">No dead letter.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Queue</th>
              <th>Job</th>
              <th>Run</th>
              <th>Attempts</th>
              <th>Failed</th>
              <th>Error</th>
              {operator && <th>Re-drive</th>}
            </tr>
          </thead>
          <tbody>
            {(data?.jobs ?? []).map((j) => (
              <DeadLetterRow key={`${j.queue}/${j.job_id}`} j={j} operator={operator} onDone={onDone} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function DeadLetterRow(p: { j: DeadLetter; operator: boolean; onDone: (m: string) => void }) {
  return (
    <tr data-dead-letter={p.j.job_id}>
      <td>{p.j.queue}</td>
      <td>
        <code>{p.j.job_id}</code>
      </td>
      <td>{p.j.run_id ? <Link href={`/runs/${p.j.run_id}`}>{short(p.j.run_id)}</Link> : '-'}</td>
      <td>{p.j.attempts_made}</td>
      <td>{p.j.failed_at ? new Date(p.j.failed_at).toLocaleString() : '-'}</td>
      <td>{p.j.failed_reason}</td>
      {p.operator && (
        <td>
          <ActionPanel
            id={`dlq-${p.j.queue}-${p.j.job_id}`}
            onDone={p.onDone}
            actions={[
              {
                label: 'Re-drive',
                path: `/api/dead-letters/${encodeURIComponent(p.j.queue)}/${encodeURIComponent(p.j.job_id)}/redrive`,
              },
            ]}
          />
        </td>
      )}
    </tr>
  );
}
