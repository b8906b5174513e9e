import { statSync } from 'node:fs';
import path from 'node:path';
import type { Logger, Run } from '@rayvault/shared';
import { probeMedia } from '../media/probe';

/** The picture of every segment: the product image when the evidence names a local file ffprobe can read, else a title card. */
export type Picture = { imagePath?: string; title: string };

const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

export async function productPicture(run: Run, log: Logger): Promise<Picture> {
  const claims = ((run.output.evidence as { product?: Record<string, unknown> } | undefined)?.product ?? {});
  const name = str(claims.name) ?? str(run.product.name) ?? 'Product review';
  const brand = str(claims.brand);
  const title = brand && !name.toLowerCase().includes(brand.toLowerCase()) ? `${brand} ${name}` : name;
  const image = str(claims.image) ?? str(claims.image_path) ?? str(run.product.image);
  if (!image || /^[a-z]+:\/\//i.test(image)) return { title };
  const imagePath = path.resolve(image);
  try {
    if (!statSync(imagePath).isFile()) throw new Error('not a file');
    const probe = await probeMedia(imagePath);
    if (!probe.streams.some((s) => s.codec_type === 'video')) throw new Error('no picture in it');
    return { imagePath, title };
  } catch (err) {
    log.warn({ image: imagePath, err: (err as Error).message }, 'product image unusable: rendering a title card');
    return { title };
  }
}
