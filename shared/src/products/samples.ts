import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '../errors/errors';
import { parseProduct, type Product } from './product.schema';

export const SAMPLE_NAMES = ['consistent', 'conflict'] as const;
export type SampleName = (typeof SAMPLE_NAMES)[number];

/**
 * Where the bundled samples live (each `<name>/product.json` with its source
 * pages beside it): next to the bundle in a build (dist/samples), else in the
 * checkout.
 */
export const SAMPLES_DIR = [path.join(__dirname, 'samples'), path.resolve(__dirname, '../../../samples')].find(existsSync) ?? path.resolve(__dirname, '../../../samples');

/**
 * Reads and validates a product file. File sources are resolved relative to
 * the product file and must exist, so a run never starts with a typo in a path.
 */
export async function loadProductFile(file: string): Promise<Product> {
  const abs = path.resolve(file);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(abs, 'utf8'));
  } catch (err) {
    throw new InvalidInputError(`cannot read product file ${abs}: ${(err as Error).message}`, { cause: err });
  }
  const product = parseProduct(raw, abs);
  const dir = path.dirname(abs);
  const sources = product.sources.map((s) => ('file' in s ? { ...s, file: path.resolve(dir, s.file) } : s));
  const missing = sources.flatMap((s, i) => ('file' in s && !existsSync(s.file) ? [`  sources.${i}.file: ${s.file} does not exist`] : []));
  if (missing.length) throw new InvalidInputError(`${abs} names source files that are missing:\n${missing.join('\n')}`);
  return { ...product, sources };
}

/** A bundled sample product: `consistent` (trusted sources agree) or `conflict` (they disagree on price). */
export function loadSample(name: SampleName): Promise<Product> {
  if (!SAMPLE_NAMES.includes(name)) return Promise.reject(new InvalidInputError(`unknown sample '${name}': use ${SAMPLE_NAMES.join(' or ')}`));
  return loadProductFile(path.join(SAMPLES_DIR, name, 'product.json'));
}
