/**
 * What one page says about the product, before normalization. Values are as
 * found (strings, numbers, lists); `extractClaims` normalizes and validates.
 */
export type RawFields = {
  name?: unknown;
  brand?: unknown;
  model?: unknown;
  gtins?: unknown[];
  price?: unknown;
  currency?: unknown;
  voltage?: unknown;
  /** The voltage value is a bare number known to be in volts (unitCode VLT / unitText V). */
  voltageInVolts?: boolean;
  compatibility?: unknown;
  image?: unknown;
};

/** Fills what `primary` lacks from `fallback`. */
export function mergeFields(primary: RawFields, fallback: RawFields): RawFields {
  const out: RawFields = { ...fallback };
  for (const [k, v] of Object.entries(primary) as [keyof RawFields, unknown][]) {
    if (v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0))
      (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** A string from a schema.org value that may be text, a number, or a Thing with a name. */
export function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return textOf(v[0]);
  if (v && typeof v === 'object')
    return textOf((v as Record<string, unknown>).name ?? (v as Record<string, unknown>)['@value']);
  return undefined;
}

/**
 * Longest text kept per field, and the most list items: a longer value is
 * dropped with a warning before any normalizer (or its regex) sees it, so a
 * page cannot make extraction slow, or fill claims and warnings, by size.
 */
export const FIELD_LIMITS = {
  name: 500,
  brand: 200,
  model: 200,
  gtins: 64,
  price: 64,
  currency: 16,
  voltage: 100,
  compatibility: 2000,
  image: 2048,
} as const;
const MAX_ITEMS = 50;

/** `raw` with every field within FIELD_LIMITS; what was too long is named in `warnings`. */
export function boundFields(raw: RawFields, warnings: string[]): RawFields {
  const out: RawFields = { ...raw };
  for (const field of Object.keys(FIELD_LIMITS) as (keyof typeof FIELD_LIMITS)[]) {
    if (raw[field] === undefined) continue;
    const kept = bounded(raw[field], FIELD_LIMITS[field], (what) => warnings.push(`${field} ${what}: dropped`));
    (out as Record<string, unknown>)[field] = kept;
  }
  return out;
}

function bounded(v: unknown, max: number, warn: (what: string) => void): unknown {
  if (typeof v === 'string') {
    if (v.length <= max) return v;
    warn(`is ${v.length} characters long (over ${max})`);
    return undefined;
  }
  if (Array.isArray(v)) {
    if (v.length > MAX_ITEMS) warn(`lists ${v.length} values (over ${MAX_ITEMS}): the rest`);
    return v
      .slice(0, MAX_ITEMS)
      .map((x) => bounded(x, max, warn))
      .filter((x) => x !== undefined);
  }
  if (v && typeof v === 'object') return bounded(textOf(v), max, warn);
  return v;
}
