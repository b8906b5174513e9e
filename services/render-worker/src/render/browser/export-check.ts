// A studio download can be cut short with its headers intact, which ffprobe
// alone accepts (right codecs, right duration), so the browser provider also
// decodes the whole export before handing it back. The render stage then
// checks the duration against the narration (verify-export.ts).
import { PanicError } from '@rayvault/shared';
import { probeMedia, type Probe } from '../../media/probe';
import { runTool } from '../../media/run-tool';

function rejected(file: string, reason: string, cause?: unknown): PanicError {
  return new PanicError(
    'panic_dzine_ui_failure',
    `the studio export ${file} was rejected: ${reason}. It stays in the staging dir for inspection; check the studio's credits and export settings`,
    { cause, details: { path: file, reason } },
  );
}

/**
 * Resolves with the export's duration when it is an H.264/AAC file that decodes cleanly; else panic_dzine_ui_failure.
 */
export async function checkExport(file: string, signal?: AbortSignal): Promise<{ seconds: number }> {
  let probe: Probe;
  try {
    probe = await probeMedia(file, signal);
  } catch (err) {
    throw signal?.aborted ? err : rejected(file, `ffprobe cannot read it (${(err as Error).message})`, err);
  }
  const codec = (type: string) => probe.streams.find((s) => s.codec_type === type)?.codec_name;
  if (codec('video') !== 'h264')
    throw rejected(file, `expected an H.264 video stream, found ${codec('video') ?? 'none'}`);
  if (codec('audio') !== 'aac') throw rejected(file, `expected an AAC audio stream, found ${codec('audio') ?? 'none'}`);
  if (!(probe.duration_s > 0)) throw rejected(file, 'it has no duration');
  try {
    // -xerror: the first damaged packet fails the decode instead of being logged and skipped.
    await runTool('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-'], signal);
  } catch (err) {
    throw signal?.aborted ? err : rejected(file, `it does not decode (${(err as Error).message})`, err);
  }
  return { seconds: probe.duration_s };
}
