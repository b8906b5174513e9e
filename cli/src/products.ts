import { loadProductFile, loadSample, mediaDirOf } from '@rayvault/shared';
import { loadCliConfig } from './config';
import { UsageError } from './context';

const SAMPLES = ['consistent', 'conflict'] as const;

/**
 * A bundled sample or a product file, validated; bad input is a usage error (exit 2).
 * Only here may a product name a local image: it must be inside RAYVAULT_MEDIA_DIR
 * (realpath) and is recorded as its real path, which the render worker checks again.
 */
export async function loadProduct(from: { sample?: string; file?: string }): Promise<object> {
  if (from.sample !== undefined) {
    if (!SAMPLES.includes(from.sample as (typeof SAMPLES)[number]))
      throw new UsageError(`unknown sample '${from.sample}': use ${SAMPLES.join(' or ')}`);
    return loadSample(from.sample as (typeof SAMPLES)[number]);
  }
  const { config } = loadCliConfig();
  try {
    return await loadProductFile(from.file!, {
      mediaDir: mediaDirOf(config),
      maxBytes: config.RAYVAULT_FETCH_MAX_BYTES,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
