import { gtinKey } from '../normalize/gtin';
import { CRITICAL_FIELDS, type Claim } from './claims';

/** One critical field on which gating-tier sources disagree, with every value they gave. */
export type DiffEntry = { field: string; values: Array<{ source: string; tier: number; value: string }> };

// How two values of a field are compared: the same model written "WK-2000" and "wk 2000" agrees.
const KEY: Record<string, (v: string) => string> = {
  model_id: (v) => v.toLowerCase().replace(/[\s._-]/g, ''),
  ean: gtinKey,
  compatibility: (v) =>
    v
      .toLowerCase()
      .split(/\s*;\s*/)
      .sort()
      .join(';'),
};

/** Critical fields where sources of the gating tiers state different values; empty when they agree. */
export function findConflicts(claims: readonly Claim[], gatingTiers: readonly number[]): DiffEntry[] {
  const diff: DiffEntry[] = [];
  for (const field of CRITICAL_FIELDS) {
    const stated = claims.filter((c) => c.field === field && gatingTiers.includes(c.tier));
    const key = KEY[field] ?? ((v: string) => v);
    if (new Set(stated.map((c) => key(c.value))).size > 1) {
      diff.push({ field, values: stated.map(({ source, tier, value }) => ({ source, tier, value })) });
    }
  }
  return diff;
}

/**
 * One line for the alert: "tier 4/5 sources disagree on price: 1299.00 EUR (Shop A, tier 5) vs 1199.00 EUR (Shop B,
 * tier 4)".
 */
export function summarizeDiff(diff: readonly DiffEntry[], gatingTiers: readonly number[]): string {
  const parts = diff.map(
    (d) => `${d.field}: ${d.values.map((v) => `${v.value} (${v.source}, tier ${v.tier})`).join(' vs ')}`,
  );
  return `tier ${gatingTiers.join('/')} sources disagree on ${parts.join('; ')}`;
}
