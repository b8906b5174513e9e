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
    if (v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0)) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** A string from a schema.org value that may be text, a number, or a Thing with a name. */
export function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return textOf(v[0]);
  if (v && typeof v === 'object') return textOf((v as Record<string, unknown>).name ?? (v as Record<string, unknown>)['@value']);
  return undefined;
}
