// A picture reaches ffmpeg or the studio only as a file in the staging dir
// whose bytes were checked here. The magic number matters most: ffmpeg picks a
// demuxer by content, and a "picture" that is an HLS playlist or a concat list
// makes it open other files and URLs.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { probeMedia, type Probe } from '../media/probe';
import { ImageRefusedError } from './image-refused-error';

type ImageFormat = { ext: string; codec: string; is: (b: Buffer) => boolean };

const FORMATS: ImageFormat[] = [
  {
    ext: 'png',
    codec: 'png',
    is: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  },
  { ext: 'jpg', codec: 'mjpeg', is: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  {
    ext: 'webp',
    codec: 'webp',
    is: (b) => b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP',
  },
  { ext: 'gif', codec: 'gif', is: (b) => /^GIF8[79]a$/.test(b.toString('latin1', 0, 6)) },
];

/** Larger pictures are refused before ffmpeg decodes them: a small PNG can unpack to gigabytes. */
export const MAX_IMAGE_SIDE = 8192;

/**
 * Writes the image bytes as `product.<ext>` in `dir` once they are a PNG, JPEG, WebP or GIF
 * by their first bytes and ffprobe sees exactly one picture of that codec, at most
 * MAX_IMAGE_SIDE a side. Anything else is an ImageRefusedError.
 */
export async function stageImage(bytes: Buffer, dir: string, signal: AbortSignal): Promise<string> {
  const format = FORMATS.find((f) => f.is(bytes));
  if (!format) throw new ImageRefusedError('not a PNG, JPEG, WebP or GIF image (judged by its first bytes)');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `product.${format.ext}`);
  writeFileSync(file, bytes);
  let probe: Probe;
  try {
    probe = await probeMedia(file, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    throw new ImageRefusedError(`ffprobe cannot read it as ${format.ext}: ${(err as Error).message}`, { cause: err });
  }
  const [picture, ...more] = probe.streams;
  if (!picture || more.length || picture.codec_type !== 'video' || picture.codec_name !== format.codec) {
    throw new ImageRefusedError(
      `ffprobe does not see one ${format.codec} picture in it (${probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`).join(', ') || 'no streams'})`,
    );
  }
  const { width = 0, height = 0 } = picture;
  if (!width || !height || width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    throw new ImageRefusedError(
      `a ${width}x${height} picture: more than ${MAX_IMAGE_SIDE} px a side, or no size at all`,
    );
  }
  return file;
}
