import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, isHttpUrl, SAMPLE_NAMES } from '@rayvault/shared';
import { z } from 'zod';

/** One scheduled intake: a sample or a product file, on a cron pattern or a fixed period. */
const entrySchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - only'),
    pattern: z.string().min(9).optional(),
    every: z.number().int().min(1000).optional(),
    sample: z.enum(SAMPLE_NAMES).optional(),
    product: z.string().min(1).optional(),
  })
  .strict()
  .refine((e) => !e.pattern !== !e.every, 'give exactly one of pattern (cron) or every (ms)')
  .refine((e) => !e.sample !== !e.product, 'give exactly one of sample or product (a file)');

export type ScheduleEntry = z.infer<typeof entrySchema>;

/** Reads the schedule file; every problem is reported at once. Product paths are relative to the file. */
export function readScheduleFile(file: string): ScheduleEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`RAYVAULT_SCHEDULE_FILE ${file}: ${(err as Error).message}`);
  }
  const parsed = z.array(entrySchema).safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `RAYVAULT_SCHEDULE_FILE ${file} is invalid:\n${parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`,
    );
  }
  const names = parsed.data.map((e) => e.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ConfigError(`RAYVAULT_SCHEDULE_FILE ${file}: entry name '${dup}' is used twice`);
  const entries = parsed.data.map((e) =>
    e.product ? { ...e, product: path.resolve(path.dirname(file), e.product) } : e,
  );
  const local = entries.flatMap((e) =>
    e.product && localImageOf(e.product)
      ? [`  ${e.name}: ${e.product} names the local image ${localImageOf(e.product)}`]
      : [],
  );
  if (local.length) {
    throw new ConfigError(
      `RAYVAULT_SCHEDULE_FILE ${file}: scheduled products must give their image as an http(s) URL (a local image file is for \`rayvault runs create\`, inside RAYVAULT_MEDIA_DIR):\n${local.join('\n')}`,
    );
  }
  return entries;
}

/**
 * The local image a product file names, if any. Checked at start so the operator hears of it
 * now; each intake loads the file again and refuses it too (the file may change meanwhile).
 * A file that cannot be read yet is left to the intake, which reports it.
 */
function localImageOf(productFile: string): string | undefined {
  try {
    const image = (JSON.parse(readFileSync(productFile, 'utf8')) as { image?: unknown }).image;
    return typeof image === 'string' && !isHttpUrl(image) ? image : undefined;
  } catch {
    return undefined;
  }
}
