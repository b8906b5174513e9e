import { PanicError } from '@rayvault/shared';
import { probeMedia } from '../media/probe';

/** How far an export's duration may stray from its narration (a frame or two, plus container padding). */
export const EXPORT_DURATION_SLACK_S = 0.5;

/**
 * Every export is checked with ffprobe before it is promoted: a video stream in
 * H.264, an audio stream, every packet the index promises, and the narration's length. A rejected export is a
 * `panic_dzine_ui_failure`; the file stays in the staging dir for inspection.
 */
export async function verifyExport(
  file: string,
  expectedS: number,
  signal?: AbortSignal,
): Promise<{ duration_s: number }> {
  const reject = (why: string, cause?: unknown) =>
    new PanicError(
      'panic_dzine_ui_failure',
      `export ${file} rejected by ffprobe: ${why}; the partial export is kept there for inspection`,
      { cause, details: { file, expected_s: expectedS } },
    );
  let probe;
  try {
    probe = await probeMedia(file, signal, { countPackets: true });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw reject((err as Error).message, err);
  }
  const video = probe.streams.find((s) => s.codec_type === 'video');
  if (!video) throw reject('no video stream');
  if (video.codec_name !== 'h264') throw reject(`video codec is ${video.codec_name}, expected h264`);
  if (!probe.streams.some((s) => s.codec_type === 'audio')) throw reject('no audio stream');
  const cut = probe.streams.find((s) => s.frames !== null && s.packets_read !== null && s.packets_read < s.frames);
  if (cut) throw reject(`truncated: ${cut.codec_type} has ${cut.packets_read} of ${cut.frames} packets`);
  if (Math.abs(probe.duration_s - expectedS) > EXPORT_DURATION_SLACK_S)
    throw reject(`lasts ${probe.duration_s} s, the narration ${expectedS} s`);
  return { duration_s: probe.duration_s };
}
