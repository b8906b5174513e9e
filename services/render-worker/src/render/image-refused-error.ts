import { RayVaultError } from '@rayvault/shared';

/**
 * A product image the render will not use (not an image, too big, outside the media
 * directory, unreachable, refused by the fetch guard). The render goes on with a title
 * card and the run gets a `product_image_refused` event saying why: the picture is
 * cosmetic, and most images come from pages the operator does not control.
 */
export class ImageRefusedError extends RayVaultError {
  readonly code = 'invalid_input' as const;
  readonly retryable = false;
}

export function isImageRefused(err: unknown): err is ImageRefusedError {
  return err instanceof ImageRefusedError || (err instanceof Error && err.name === 'ImageRefusedError');
}
