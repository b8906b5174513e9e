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
              {can(p.me, 'operator') && <th>Re-drive</th>}
            </tr>
          </thead>
          <tbody>
            {(data?.jobs ?? []).map((j) => (
              <tr key={`${j.queue}/${j.job_id}`} data-dead-letter={j.job_id}>
                <td>{j.queue}</td>
                <td>
                  <code>{j.job_id}</code>
                </td>
                <td>{j.run_id ? <Link href={`/runs/${j.run_id}`}>{short(j.run_id)}</Link> : '-'}</td>
                <td>{j.attempts_made}</td>
                <td>{j.failed_at ? new Date(j.failed_at).toLocaleString() : '-'}</td>
                <td>{j.failed_reason}</td>
                {can(p.me, 'operator') && (
                  <td>
                    <ActionPanel
                      id={`dlq-${j.queue}-${j.job_id}`}
                      onDone={(m) => {
                        p.flash(m);
                        void load();
                      }}
                      actions={[
                        {
                          label: 'Re-drive',
                          path: `/api/dead-letters/${encodeURIComponent(j.queue)}/${encodeURIComponent(j.job_id)}/redrive`,
                        },
                      ]}
                    />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
