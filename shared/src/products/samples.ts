import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '../errors/errors';
import { checkSourceFile, isHttpUrl, resolveMediaFile } from './local-media';
import { parseProduct, type Product } from './product.schema';

export const SAMPLE_NAMES = ['consistent', 'conflict'] as const;
export type SampleName = (typeof SAMPLE_NAMES)[number];

/**
 * Where the bundled samples live (each `<name>/product.json` with its source
 * pages beside it): next to the bundle in a build (dist/samples), else in the
 * checkout.
 */
export const SAMPLES_DIR =
  [path.join(__dirname, 'samples'), path.resolve(__dirname, '../../../samples')].find(existsSync) ??
  path.resolve(__dirname, '../../../samples');

/** What a product file may name on this machine. */
export type ProductFileOptions = {
  /**
   * The directory a local `image` must be in (RAYVAULT_MEDIA_DIR). Only the CLI passes it:
   * unset (the scheduler, the API's samples), a local image is refused.
   */
  mediaDir?: string;
  /** Cap on each source file and on the image, bytes (RAYVAULT_FETCH_MAX_BYTES; default 5 MiB). */
  maxBytes?: number;
};

const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;

/** `check`'s refusal as one `  where: why` line, or nothing. */
function problemOf(where: string, check: () => void): string[] {
  try {
    check();
    return [];
  } catch (err) {
    return [`  ${where}: ${(err as Error).message}`];
  }
}

/**
 * Reads and validates a product file. File sources are resolved relative to
 * the product file and must be regular files under the size cap, so a run never
 * starts with a typo in a path (or a device). A local image (relative to the
 * product file) must be inside `mediaDir`; it is replaced by its real path.
 */
export async function loadProductFile(file: string, options: ProductFileOptions = {}): Promise<Product> {
  const abs = path.resolve(file);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(abs, 'utf8'));
  } catch (err) {
    throw new InvalidInputError(`cannot read product file ${abs}: ${(err as Error).message}`, { cause: err });
  }
  const product = parseProduct(raw, abs);
  const dir = path.dirname(abs);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const sources = product.sources.map((s) => ('file' in s ? { ...s, file: path.resolve(dir, s.file) } : s));
  const problems = sources.flatMap((s, i) =>
    'file' in s
      ? problemOf(`sources.${i}.file`, () => {
          if (!existsSync(s.file)) throw new Error(`${s.file} does not exist`);
          checkSourceFile(s.file, maxBytes);
        })
      : [],
  );
  let image = product.image;
  if (image !== undefined && !isHttpUrl(image)) {
    const { mediaDir } = options;
    problems.push(
      ...problemOf('image', () => {
        if (!mediaDir)
          throw new Error(
            `${image} is a local file; only a product given to the rayvault CLI may use one (inside RAYVAULT_MEDIA_DIR): give an http(s) URL`,
          );
        image = resolveMediaFile(path.resolve(dir, image!), { mediaDir, maxBytes });
      }),
    );
  }
  if (problems.length)
    throw new InvalidInputError(`${abs} names local files that cannot be used:\n${problems.join('\n')}`);
  return { ...product, sources, ...(image !== undefined ? { image } : {}) };
}

/** A bundled sample product: `consistent` (trusted sources agree) or `conflict` (they disagree on price). */
export function loadSample(name: SampleName): Promise<Product> {
  if (!SAMPLE_NAMES.includes(name))
    return Promise.reject(new InvalidInputError(`unknown sample '${name}': use ${SAMPLE_NAMES.join(' or ')}`));
  return loadProductFile(path.join(SAMPLES_DIR, name, 'product.json'));
}
