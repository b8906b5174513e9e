import { InvalidInputError, type Run } from '@rayvault/shared';
import { z } from 'zod';

/** One narrated segment: what to say and how long it should last. */
export const scriptSegmentSchema = z.object({
  text: z.string().trim().min(1, 'text is empty').max(2000),
  target_s: z.number().positive().max(600),
});
export type ScriptSegment = z.infer<typeof scriptSegmentSchema>;
export const scriptSchema = z.array(scriptSegmentSchema).min(1, 'the script has no segments').max(99);

/** The claims the evidence stage settled on; every field is optional. */
const productClaimsSchema = z.object({
  name: z.string().optional(),
  brand: z.string().optional(),
  price: z.union([z.number(), z.string()]).optional(),
  currency: z.string().optional(),
  model: z.string().optional(),
  voltage: z.union([z.number(), z.string()]).optional(),
  compatibility: z.union([z.string(), z.array(z.string())]).optional(),
}).passthrough();

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

/** The run's own script (`input.script`), else a template over the evidence claims. */
export function scriptForRun(run: Run, rate: number): ScriptSegment[] {
  if (run.input.script !== undefined) {
    const parsed = scriptSchema.safeParse(run.input.script);
    if (!parsed.success) {
      const lines = parsed.error.issues.map((i) => `script${i.path.map((p) => `[${String(p)}]`).join('')}: ${i.message}`);
      throw new InvalidInputError(`the run's input.script is invalid (fix the product file and resubmit):\n${lines.join('\n')}`);
    }
    return parsed.data;
  }
  const evidence = (run.output.evidence ?? {}) as { product?: unknown };
  const claims = productClaimsSchema.safeParse(evidence.product ?? {});
  const p = claims.success ? claims.data : {};
  return templateScript({ ...p, name: p.name ?? (typeof run.product.name === 'string' ? run.product.name : 'this product') }, rate);
}

function templateScript(p: z.infer<typeof productClaimsSchema> & { name: string }, rate: number): ScriptSegment[] {
  const currency = p.currency ? CURRENCY_WORDS[p.currency.toUpperCase()] ?? p.currency : '';
  const compat = Array.isArray(p.compatibility) ? p.compatibility.join(', ') : p.compatibility;
  const specs = [p.model && `Model ${p.model}.`, p.voltage !== undefined && `It runs on ${String(p.voltage).replace(/\s*V$/i, '')} volts.`, compat && `It works with ${compat}.`]
    .filter(Boolean).join(' ');
  const texts = [
    `Meet the ${p.name}${p.brand ? ` by ${p.brand}` : ''}. Here is what the evidence says.`,
    p.price !== undefined ? `Trusted sources list it at ${p.price}${currency ? ` ${currency}` : ''}.` : '',
    specs,
    `That is the ${p.name}. Check the description for the sources behind every claim.`,
  ].filter(Boolean);
  return texts.map((text) => ({ text, target_s: estimateSeconds(text, rate) }));
}
