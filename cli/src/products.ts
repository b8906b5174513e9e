import { loadProductFile, loadSample } from '@rayvault/shared';
import { UsageError } from './context';

const SAMPLES = ['consistent', 'conflict'] as const;

/** A bundled sample or a product file, validated; bad input is a usage error (exit 2). */
export async function loadProduct(from: { sample?: string; file?: string }): Promise<object> {
  if (from.sample !== undefined) {
    if (!SAMPLES.includes(from.sample as (typeof SAMPLES)[number])) throw new UsageError(`unknown sample '${from.sample}': use ${SAMPLES.join(' or ')}`);
    return loadSample(from.sample as (typeof SAMPLES)[number]);
  }
  try {
    return await loadProductFile(from.file!);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
