import type { VideoProbe } from '@rayvault/shared';
import { runTool } from './run-tool';

export type ProbeStream = {
  codec_type: string;
  codec_name: string;
  pix_fmt?: string;
  /** Picture size of a video or image stream. */
  width?: number;
  height?: number;
  duration_s: number | null;
  /** Packets the container's index promises, and (with `countPackets`) packets actually read. */
  frames: number | null;
  packets_read: number | null;
};
export type Probe = { duration_s: number; format: string; streams: ProbeStream[] };

type FfprobeJson = {
  format?: { duration?: string; format_name?: string };
  streams?: {
    codec_type?: string;
    codec_name?: string;
    pix_fmt?: string;
    width?: number;
    height?: number;
    duration?: string;
    nb_frames?: string;
    nb_read_packets?: string;
  }[];
};

const num = (s: string | undefined): number | null =>
  s !== undefined && Number.isFinite(Number(s)) ? Number(s) : null;

/**
 * What ffprobe says about a media file; rejects (ToolError) when ffprobe cannot read it.
 * `countPackets` reads every packet: a file cut short (its index promises more than it
 * holds) shows up as `packets_read < frames`, which the header alone hides.
 */
export async function probeMedia(
  file: string,
  signal?: AbortSignal,
  options: { countPackets?: boolean } = {},
): Promise<Probe> {
  const args = [
    '-v',
    'error',
    ...(options.countPackets ? ['-count_packets'] : []),
    '-show_entries',
    'format=duration,format_name:stream=codec_type,codec_name,pix_fmt,width,height,duration,nb_frames,nb_read_packets',
    '-of',
    'json',
    file,
  ];
  const j = JSON.parse(await runTool('ffprobe', args, signal)) as FfprobeJson;
  const streams = (j.streams ?? []).map((s) => ({
    codec_type: s.codec_type ?? '',
    codec_name: s.codec_name ?? '',
    pix_fmt: s.pix_fmt,
    width: s.width,
    height: s.height,
    duration_s: num(s.duration),
    frames: num(s.nb_frames),
    packets_read: num(s.nb_read_packets),
  }));
  return { duration_s: num(j.format?.duration) ?? 0, format: j.format?.format_name ?? '', streams };
}

/** Duration in seconds as ffprobe measures it. */
export async function mediaDuration(file: string, signal?: AbortSignal): Promise<number> {
  return (await probeMedia(file, signal)).duration_s;
}

/**
 * The video index's metadata of an accepted export (`rv_record_artifact`'s p_probe), from the probe that accepted it.
 */
export function indexProbeOf(probe: Probe): Extract<VideoProbe, { status: 'ok' }> {
  const video = probe.streams.find((s) => s.codec_type === 'video');
  const audio = probe.streams.find((s) => s.codec_type === 'audio');
  return {
    status: 'ok',
    duration_s: probe.duration_s,
    container: probe.format || null,
    video_codec: video?.codec_name ?? null,
    audio_codec: audio?.codec_name ?? null,
    width: video?.width ?? null,
    height: video?.height ?? null,
  };
}
