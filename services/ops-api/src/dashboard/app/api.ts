// The dashboard's only way to the server: same-origin fetch with the session
// cookie; mutations carry the CSRF token /login gave. Errors carry the API's message.
export type Role = 'viewer' | 'operator' | 'admin';
export type Me = { name: string; role: Role; csrf: string | null };

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export const can = (me: Me, role: Role): boolean => RANK[me.role] >= RANK[role];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let csrf: string | null = null;
let onUnauthorized: () => void = () => undefined;
export const setCsrf = (token: string | null) => {
  csrf = token;
};
export const whenUnauthorized = (fn: () => void) => {
  onUnauthorized = fn;
};

export async function api<T = unknown>(path: string, o: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = o.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (o.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
    credentials: 'same-origin',
  });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 401 && path !== '/login') onUnauthorized();
  if (!res.ok) throw new ApiError(res.status, data?.error?.message ?? `HTTP ${res.status}`);
  return data as T;
}

export type RunChange = { id: string; status: string; stage: string; updated_at: string };
type Listener = (runs: RunChange[]) => void;
const listeners = new Set<Listener>();
let source: EventSource | null = null;

/** One EventSource per page for every view: run changes pushed by /api/events/stream. */
export function subscribeRuns(fn: Listener): () => void {
  listeners.add(fn);
  if (!source) {
    source = new EventSource('/api/events/stream');
    source.addEventListener('runs', (e) => {
      const { runs } = JSON.parse((e as MessageEvent<string>).data) as { runs: RunChange[] };
      for (const l of listeners) l(runs);
    });
  }
  return () => {
    listeners.delete(fn);
    if (!listeners.size) {
      source?.close();
      source = null;
    }
  };
}

export const short = (id: string) => id.slice(0, 8);
export const ago = (iso: string | null | undefined) =>
  iso ? `${Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))} s ago` : '-';
