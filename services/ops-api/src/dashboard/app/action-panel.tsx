// A labelled Reason field and one button per action: every decision is
// recorded with who and why, so no button works without a reason.
import { useState } from 'preact/hooks';
import { api } from './api';

export type Action = { label: string; path: string; body?: Record<string, unknown> };

export function ActionPanel(p: {
  id: string;
  actions: Action[];
  onDone: (message: string) => void;
  extra?: { label: string; key: string };
}) {
  const [reason, setReason] = useState('');
  const [flag, setFlag] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const run = async (a: Action) => {
    if (!reason.trim()) return setError(`${a.label} needs a reason: type why in Reason`);
    setBusy(true);
    setError('');
    try {
      const body = { reason: reason.trim(), ...a.body, ...(p.extra ? { [p.extra.key]: flag } : {}) };
      const after = await api<{ status?: string; run?: { status: string } } | null>(a.path, { method: 'POST', body });
      setReason('');
      const status = after?.status ?? after?.run?.status;
      p.onDone(`${a.label}: done${status ? `, the run is now ${status}` : ''}`);
    } catch (err) {
      setError(`${a.label} failed: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="actions" onSubmit={(e) => e.preventDefault()}>
      <label for={`reason-${p.id}`}>Reason</label>
      <input id={`reason-${p.id}`} value={reason} onInput={(e) => setReason(e.currentTarget.value)} maxLength={500} />
      {p.extra && (
        <label>
          <input type="checkbox" checked={flag} onChange={(e) => setFlag(e.currentTarget.checked)} /> {p.extra.label}
        </label>
      )}
      {p.actions.map((a) => (
        <button type="button" key={a.label} disabled={busy} onClick={() => void run(a)}>
          {a.label}
        </button>
      ))}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
