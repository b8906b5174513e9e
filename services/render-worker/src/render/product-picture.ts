import path from 'node:path';
import { isHttpUrl, type StageContext } from '@rayvault/shared';
import { isImageRefused, ImageRefusedError } from './image-refused-error';
import { stageImage } from './image-file';
import { downloadImage, readLocalImage, type ImageSourceOptions } from './image-source';

/** The picture of every segment: the product image once fetched and checked, else a title card. */
export type Picture = { imagePath?: string; title: string };

export type PictureOptions = ImageSourceOptions & { stagingRoot: string };
type PictureContext = Pick<StageContext, 'run' | 'fence' | 'signal' | 'log' | 'emit'>;
/** `product`: the run's own product (its image passed the API or CLI checks); `page`: a source page's claim. */
type ImageChoice = { image: string; origin: 'product' | 'page' };

const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

/** The picture dir of one claim of the run (housekeeping removes earlier claims' dirs). */
export const pictureDir = (o: PictureOptions, ctx: Pick<StageContext, 'run' | 'fence'>) =>
  path.join(o.stagingRoot, ctx.run.id, `picture.f${ctx.fence}`);

/**
 * The title (brand + name) and the image: the run's own `product.image` wins (the evidence
 * summary repeats it), else the most trusted page's. An image that cannot be used is a
 * `product_image_refused` event and a title card, not a failed run.
 */
export async function productPicture(ctx: PictureContext, o: PictureOptions): Promise<Picture> {
  const claims = (ctx.run.output.evidence as { product?: Record<string, unknown> } | undefined)?.product ?? {};
  const name = str(claims.name) ?? str(ctx.run.product.name) ?? 'Product review';
  const brand = str(claims.brand);
  const title = brand && !name.toLowerCase().includes(brand.toLowerCase()) ? `${brand} ${name}` : name;
  const own = str(ctx.run.product.image);
  const page = str(claims.image);
  const choice: ImageChoice | undefined = own
    ? { image: own, origin: 'product' }
    : page
      ? { image: page, origin: 'page' }
      : undefined;
  if (!choice) return { title };
  try {
    return {
      imagePath: await stageImage(await imageBytes(choice, o, ctx.signal), pictureDir(o, ctx), ctx.signal),
      title,
    };
  } catch (err) {
    if (!isImageRefused(err)) throw err;
    ctx.log.warn(
      { image: choice.image, origin: choice.origin, reason: err.message },
      'product image refused: rendering a title card',
    );
    await ctx.emit('product_image_refused', { image: choice.image, origin: choice.origin, reason: err.message });
    return { title };
  }
}

async function imageBytes(choice: ImageChoice, o: ImageSourceOptions, signal: AbortSignal): Promise<Buffer> {
  if (isHttpUrl(choice.image)) return downloadImage(choice.image, o, signal);
  // A page's claims are a stranger's words: a path there (`/etc/shadow`) is never opened.
  if (choice.origin === 'page')
    throw new ImageRefusedError('a source page named a local path; only http(s) image URLs from pages are fetched');
  return readLocalImage(choice.image, o);
}
