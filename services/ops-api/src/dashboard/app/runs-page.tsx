// `/runs`: server-side filter and pages; a pushed change reloads the page shown.
import { useEffect, useState } from 'preact/hooks';
import { ago, api, short, subscribeRuns } from './api';
import { Link, navigate } from './router';

const STATUSES = ['queued', 'running', 'waiting_approval', 'approved', 'done', 'failed', 'aborted', 'panic'];
const STAGES = ['evidence', 'voice', 'render', 'qc'];
const PAGE = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Row = {
  id: string;
  product_name: string | null;
  status: string;
  stage: string;
  attempt: number;
  worker_id: string | null;
  updated_at: string;
};
type Filter = { status: string; stage: string; search: string; offset: number };
type Page = { total: number; runs: Row[] };
/** Navigates to the runs list with `o` changed (an empty value drops its parameter). */
type To = (o: Record<string, string | number>) => void;

/** One page of runs for `f`, loaded again whenever the run feed reports a change. */
function useRunsPage(f: Filter) {
  const { status, stage, search, offset } = f;
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    const url = `/api/runs?limit=${PAGE}&offset=${offset}${status ? `&status=${status}` : ''}${stage ? `&stage=${stage}` : ''}${search ? `&q=${encodeURIComponent(search)}` : ''}`;
    const load = () =>
      api<Page>(url).then(
        (x) => {
          setPage(x);
          setError('');
        },
        (e: Error) => setError(e.message),
      );
    void load();
    return subscribeRuns(() => void load());
  }, [status, stage, search, offset]);
  return { page, error };
}

export function RunsPage(p: { query: string }) {
  const q = new URLSearchParams(p.query);
  const f: Filter = {
    status: q.get('status') ?? '',
    stage: q.get('stage') ?? '',
    search: q.get('q') ?? '',
    offset: Number(q.get('offset') ?? 0) || 0,
  };
  const { page, error } = useRunsPage(f);
  const to: To = (o) => {
    const next = new URLSearchParams({
      ...(f.status ? { status: f.status } : {}),
      ...(f.stage ? { stage: f.stage } : {}),
      ...(f.search ? { q: f.search } : {}),
      offset: String(f.offset),
    });
    for (const [k, v] of Object.entries(o)) {
      if (v === '') next.delete(k);
      else next.set(k, String(v));
    }
    navigate(`/runs?${next}`);
  };

  return (
    <section aria-labelledby="h-runs">
      <h2 id="h-runs">Runs</h2>
      <Filters f={f} to={to} />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <RunsTable runs={page?.runs ?? []} />
      {page && <Pager total={page.total} offset={f.offset} to={to} />}
    </section>
  );
}

/** Status and stage selects, and the search box (a whole run id opens that run). */
function Filters({ f, to }: { f: Filter; to: To }) {
  const { status, stage } = f;
  const [find, setFind] = useState(f.search);
  return (
    <div class="filters">
      <label>
        Status{' '}
        <select value={status} onChange={(e) => to({ status: e.currentTarget.value, offset: 0 })}>
          <option value="">any</option>
          {STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <label>
        Stage{' '}
        <select value={stage} onChange={(e) => to({ stage: e.currentTarget.value, offset: 0 })}>
          <option value="">any</option>
          {STAGES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <form
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          // A whole run id opens that run; anything else filters by product name or id prefix.
          if (UUID.test(find.trim())) navigate(`/runs/${find.trim()}`);
          else to({ q: find.trim(), offset: 0 });
        }}
      >
        <label>
          Search{' '}
          <input
            type="search"
            placeholder="product name or run id"
            value={find}
            onInput={(e) => setFind(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Search</button>
      </form>
    </div>
  );
}

function RunsTable({ runs }: { runs: Row[] }) {
  return (
    <table id="runs">
      <thead>
        <tr>
          <th>Run</th>
          <th>Product</th>
          <th>Status</th>
          <th>Stage</th>
          <th>Attempt</th>
          <th>Worker</th>
          <th>Updated</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id} data-run={r.id}>
            <td>
              <Link href={`/runs/${r.id}`}>
                <code>{short(r.id)}</code>
              </Link>
            </td>
            <td>{r.product_name ?? ''}</td>
            <td class={`status status-${r.status}`}>{r.status}</td>
            <td>{r.stage}</td>
            <td>{r.attempt}</td>
            <td>{r.worker_id ?? '-'}</td>
            <td>{ago(r.updated_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Pager({ total, offset, to }: { total: number; offset: number; to: To }) {
  return (
    <nav class="pager" aria-label="Pages">
      <span>{total ? `${offset + 1}-${Math.min(offset + PAGE, total)} of ${total}` : 'No run matches.'}</span>
      <button type="button" disabled={offset === 0} onClick={() => to({ offset: Math.max(0, offset - PAGE) })}>
        Previous
      </button>
      <button type="button" disabled={offset + PAGE >= total} onClick={() => to({ offset: offset + PAGE })}>
        Next
      </button>
    </nav>
  );
}
