import type { Facts } from '../extract/extract-facts';
import { formatMoney } from '../normalize/money';

/** One field as one source states it; stored in evidence_claims. */
export type Claim = { field: string; value: string; source: string; tier: number };

/** Claims a conflict between gating-tier sources must stop the run for. */
export const CRITICAL_FIELDS = ['price', 'voltage', 'compatibility', 'model_id', 'ean'] as const;

/** The facts of one source as claims, each value in its normalized text form. */
export function factsToClaims(facts: Facts, source: string, tier: number): Claim[] {
  const values: Record<string, string | undefined> = {
    name: facts.name,
    brand: facts.brand,
    model_id: facts.model_id,
    ean: facts.ean,
    price: facts.price && formatMoney(facts.price),
    voltage: facts.voltage,
    compatibility: facts.compatibility?.join('; '),
    image: facts.image,
  };
  return Object.entries(values).flatMap(([field, value]) => (value ? [{ field, value, source, tier }] : []));
}

/** What the later stages need, each field from the most trusted source that states it. */
export type ProductSummary = {
  name: string;
  brand: string | null;
  model: string | null;
  price: number | null;
  currency: string | null;
  image: string | null;
};

export function summarizeProduct(
  input: { name: string; image?: string },
  sources: ReadonlyArray<{ tier: number; facts: Facts }>,
): ProductSummary {
  const byTrust = [...sources].sort((a, b) => b.tier - a.tier);
  const pick = <K extends keyof Facts>(k: K): Facts[K] | undefined =>
    byTrust.find((s) => s.facts[k] !== undefined)?.facts[k];
  const price = pick('price');
  return {
    name: input.name,
    brand: pick('brand') ?? null,
    model: pick('model_id') ?? null,
    price: price?.amount ?? null,
    currency: price?.currency ?? null,
    image: input.image ?? pick('image') ?? null,
  };
}
