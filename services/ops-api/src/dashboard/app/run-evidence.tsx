// The run page's evidence: the gate's disagreeing fields, and the latest attempt's claims side by side per source.
import { text } from './run-format';

export type Claim = { attempt: number; field: string; value: unknown; source: string; tier: number };
export type Diff = { field: string; values: { source: string; tier: number; value: unknown }[] }[];

export function DiffTable(p: { diff: Diff }) {
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

export function Claims(p: { claims: Claim[]; disputed: Set<string> }) {
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
