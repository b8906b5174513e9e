import { InvalidInputError, type Run } from '@rayvault/shared';
import { z } from 'zod';

/** One narrated segment: what to say and how long it should last. */
export const scriptSegmentSchema = z.object({
  text: z.string().trim().min(1, 'text is empty').max(2000),
  target_s: z.number().positive().max(600),
});
export type ScriptSegment = z.infer<typeof scriptSegmentSchema>;
export const scriptSchema = z.array(scriptSegmentSchema).min(1, 'the script has no segments').max(99);

/** The claims the evidence stage settled on; any may be missing (null). */
const productClaimsSchema = z
  .object({
    name: z.string().nullish(),
    brand: z.string().nullish(),
    price: z.union([z.number(), z.string()]).nullish(),
    currency: z.string().nullish(),
    model: z.string().nullish(),
    voltage: z.union([z.number(), z.string()]).nullish(),
    compatibility: z.union([z.string(), z.array(z.string())]).nullish(),
  })
  .passthrough();
type ProductClaims = z.infer<typeof productClaimsSchema>;

const CURRENCY_WORDS: Record<string, string> = { USD: 'US dollars', BRL: 'reais', EUR: 'euros', GBP: 'pounds' };
/**
 * How long espeak-ng takes to say `text` at `rate`, rounded to half seconds. Measured at
 * 175 wpm: ~0.055 s per letter, ~0.35 s per digit (numbers are read out as words) and
 * ~0.3 s of pause per sentence; speech time scales as 1/rate.
 */
export function estimateSeconds(text: string, rate: number): number {
  const digits = (text.match(/\d/g) ?? []).length;
  const sentences = Math.max(1, (text.match(/[.!?]+(\s|$)/g) ?? []).length);
  const atDefault = 0.055 * (text.length - digits) + 0.35 * digits + 0.3 * sentences;
  return Math.max(1, Math.round(((atDefault * 175) / rate) * 2) / 2);
}

/** The script the operator gave: the run's `input.script`, else the one in the product file (carried by evidence). */
function givenScript(run: Run): unknown {
  return run.input.script ?? (run.output.evidence as { script?: unknown } | undefined)?.script;
}

/** The run's own script, else a template over the evidence claims. */
export function scriptForRun(run: Run, rate: number): ScriptSegment[] {
  const given = givenScript(run);
  if (given !== undefined && given !== null) {
    const parsed = scriptSchema.safeParse(given);
    if (!parsed.success) {
      const lines = parsed.error.issues.map(
        (i) => `script${i.path.map((p) => `[${String(p)}]`).join('')}: ${i.message}`,
      );
      throw new InvalidInputError(
        `the run's input.script is invalid (fix the product file and resubmit):\n${lines.join('\n')}`,
      );
    }
    return parsed.data;
  }
  const claims = productClaimsSchema.safeParse(
    (run.output.evidence as { product?: unknown } | undefined)?.product ?? {},
  );
  const p: ProductClaims = claims.success ? claims.data : {};
  return templateScript(
    { ...p, name: p.name ?? (typeof run.product.name === 'string' ? run.product.name : 'this product') },
    rate,
  );
}

function templateScript(p: ProductClaims & { name: string }, rate: number): ScriptSegment[] {
  const currency = p.currency ? (CURRENCY_WORDS[p.currency.toUpperCase()] ?? p.currency) : '';
  const compat = Array.isArray(p.compatibility) ? p.compatibility.join(', ') : p.compatibility;
  const specs = [
    p.model && `Model ${p.model}.`,
    p.voltage != null && `It runs on ${String(p.voltage).replace(/\s*V$/i, '')} volts.`,
    compat && `It works with ${compat}.`,
  ]
    .filter(Boolean)
    .join(' ');
  const texts = [
    `Meet the ${p.name}${p.brand ? ` by ${p.brand}` : ''}. Here is what the evidence says.`,
    p.price != null ? `Trusted sources list it at ${p.price}${currency ? ` ${currency}` : ''}.` : '',
    specs,
    `That is the ${p.name}. Check the description for the sources behind every claim.`,
  ].filter(Boolean);
  return texts.map((text) => ({ text, target_s: estimateSeconds(text, rate) }));
}
