import { execFile } from 'node:child_process';

/** What ffprobe says of a final file, as the video index keeps it. */
export type VideoMeta = {
  duration_s: number | null;
  container: string | null;
  video_codec: string | null;
  audio_codec: string | null;
  width: number | null;
  height: number | null;
};
/** A probe's outcome: `ok` with the metadata, or `probe_failed` with why (manual 001 §13, scenario 3). */
export type VideoProbe = ({ status: 'ok' } & VideoMeta) | { status: 'probe_failed'; error: string };

type FfprobeJson = {
  format?: { duration?: string; format_name?: string };
  streams?: {
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    nb_frames?: string;
    nb_read_packets?: string;
  }[];
};

/** A probe of a huge file over a slow disk still ends; a hung ffprobe is a failed probe. */
const PROBE_TIMEOUT_MS = 120_000;

function ffprobe(file: string): Promise<string> {
  const args = [
    '-v',
    'error',
    '-count_packets',
    '-show_entries',
    'format=duration,format_name:stream=codec_type,codec_name,width,height,nb_frames,nb_read_packets',
    '-of',
    'json',
    file,
  ];
  return new Promise((resolve, reject) => {
    execFile(
      'ffprobe',
      args,
      { timeout: PROBE_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          return reject(new Error('ffprobe is not installed or not on PATH (check `ffprobe -version`)'));
        const tail = stderr.trim().split('\n').slice(-2).join(' | ');
        reject(new Error(`ffprobe failed: ${tail || err.message}`));
      },
    );
  });
}

const num = (s: string | undefined): number | null =>
  s !== undefined && Number.isFinite(Number(s)) ? Number(s) : null;

/**
 * Probes a final file with ffprobe, reading every packet: a file cut short
 * (its index promises more packets than it holds) fails like an unreadable
 * one. Never rejects: a failure is the `probe_failed` outcome.
 */
export async function probeVideoFile(file: string): Promise<VideoProbe> {
  let j: FfprobeJson;
  try {
    j = JSON.parse(await ffprobe(file)) as FfprobeJson;
  } catch (err) {
    return { status: 'probe_failed', error: (err as Error).message };
  }
  return videoProbeOf(j);
}

/** The index's view of ffprobe's JSON (shared with the render stage, which probes every export already). */
export function videoProbeOf(j: FfprobeJson): VideoProbe {
  const streams = j.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video');
  const audio = streams.find((s) => s.codec_type === 'audio');
  const fail = (error: string): VideoProbe => ({ status: 'probe_failed', error });
  if (!video) return fail('no video stream');
  const cut = streams.find(
    (s) => num(s.nb_frames) !== null && num(s.nb_read_packets) !== null && num(s.nb_read_packets)! < num(s.nb_frames)!,
  );
  if (cut) return fail(`truncated: ${cut.codec_type} stream has ${cut.nb_read_packets} of ${cut.nb_frames} packets`);
  const duration = num(j.format?.duration);
  if (!duration) return fail('no duration (an empty or unfinished file)');
  return {
    status: 'ok',
    duration_s: duration,
    container: j.format?.format_name ?? null,
    video_codec: video.codec_name ?? null,
    audio_codec: audio?.codec_name ?? null,
    width: video.width ?? null,
    height: video.height ?? null,
  };
}
