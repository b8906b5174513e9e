import { InvalidInputError } from '../errors/errors';
import { z } from 'zod';

const tier = z
  .number({ error: 'tier must be a number from 1 (weakest) to 5 (most trusted)' })
  .int()
  .min(1, 'tier must be 1-5')
  .max(5, 'tier must be 1-5');

/** One place a claim comes from: a web page (`url`) or a saved page (`file`), with how much it is trusted. */
export const sourceSchema = z.union(
  [
    z
      .object({
        url: z
          .string()
          .url('url must be an absolute http(s) URL')
          .refine((u) => /^https?:\/\//i.test(u), 'url must start with http:// or https://'),
        tier,
        name: z.string().min(1).max(80).optional(),
      })
      .strict(),
    z
      .object({ file: z.string().min(1, 'file must be a path'), tier, name: z.string().min(1).max(80).optional() })
      .strict(),
  ],
  { error: 'each source needs exactly one of url (http/https) or file (a path), and a tier 1-5' },
);

/** A narration segment: what to say and how long it should take. */
export const scriptSegmentSchema = z
  .object({
    text: z.string().min(1, 'text must not be empty'),
    target_s: z.number().positive('target_s must be a positive number of seconds'),
  })
  .strict();

/** What a run is about: the product, where its claims come from, and an optional narration script. */
export const productSchema = z.looseObject({
  name: z.string({ error: 'name is required (the product name)' }).trim().min(1, 'name is required (the product name)'),
  /**
   * An http(s) URL (fetched through the guard at render), or a path to a file inside
   * RAYVAULT_MEDIA_DIR for products given to the CLI. Other schemes (file:, data:) are refused.
   */
  image: z
    .string()
    .trim()
    .min(1, 'image must not be empty')
    .max(2048, 'image must be at most 2048 characters')
    .refine(
      (s) => /^https?:\/\//i.test(s) || !/^[a-z][a-z0-9+.-]*:/i.test(s),
      'image must be an http(s) URL (or, from the CLI, a file inside RAYVAULT_MEDIA_DIR)',
    )
    .optional(),
  sources: z.array(sourceSchema).min(1, 'at least one source is required'),
  script: z.array(scriptSegmentSchema).min(1).optional(),
});

export type Source = z.infer<typeof sourceSchema>;
export type Product = z.infer<typeof productSchema>;
export type ScriptSegment = z.infer<typeof scriptSegmentSchema>;

/** Validates a product; the error lists every problem as `where: path: message`. */
export function parseProduct(value: unknown, where = 'product'): Product {
  const parsed = productSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new InvalidInputError(
    `${where} is invalid (${lines.length} problem${lines.length > 1 ? 's' : ''}):\n${lines.join('\n')}`,
  );
}

/** A stable label for a source: its name, else its URL or file name; unique within the product. */
export function sourceLabels(sources: readonly Source[]): string[] {
  const seen = new Map<string, number>();
  return sources.map((s) => {
    const base = s.name ?? ('url' in s ? s.url : s.file.split(/[\\/]/).pop()!);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base} #${n}`;
  });
}
