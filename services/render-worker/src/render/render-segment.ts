import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { MEDIA_WRITES, type StageContext } from '@rayvault/shared';
import type { Artifact } from '../artifacts';
import { sha256File, sha256Text } from '../media/file-hash';
import { finalName } from '../media/final-name';
import { indexProbeOf, probeMedia } from '../media/probe';
import type { VoiceSegment } from '../voice/fit-segment';
import { promoteToFinal } from './final-files';
import type { Picture } from './product-picture';
import type { RenderProvider } from './provider';
import { verifyExport } from './verify-export';

/** One rendered segment, as checkpointed and handed to qc (`run.output.render.segments`). */
export type RenderedSegment = {
  segment: number;
  path: string;
  sha256: string;
  sha8: string;
  bytes: number;
  duration_s: number;
  target_s: number;
  credits: number;
  provider: string;
  /** True when the file was found in the video index by the hash of its inputs, not rendered. */
  reused: boolean;
};

export type SegmentJob = {
  ctx: StageContext;
  provider: RenderProvider;
  picture: Picture;
  voice: VoiceSegment;
  finalDir: string;
  stagingRoot: string;
  indexed: Artifact[];
};

/** Picture + narration + provider: equal inputs make an equal video. */
async function inputHash(j: SegmentJob): Promise<string> {
  const picture = j.picture.imagePath ? `image:${await sha256File(j.picture.imagePath)}` : `title:${j.picture.title}`;
  return sha256Text(j.provider.name, picture, await sha256File(j.voice.audio_path));
}

/** A segment already in the index for these inputs whose file is intact (the checkpoint was lost, the work was not). */
async function findIndexed(j: SegmentJob, inputs: string): Promise<Artifact | undefined> {
  const a = j.indexed.find(
    (x) =>
      x.stage === 'render' && x.kind === 'video' && x.segment === j.voice.segment && x.meta.input_sha256 === inputs,
  );
  return a && existsSync(a.path) && (await sha256File(a.path)) === a.sha256 ? a : undefined;
}

/** The indexed file stands in for this segment: nothing is rendered, nothing charged. */
function reusedSegment(j: SegmentJob, found: Artifact): RenderedSegment {
  j.ctx.log.info(
    { segment: j.voice.segment, path: found.path },
    'segment found in the video index by content hash: not rendered again',
  );
  return {
    segment: j.voice.segment,
    path: found.path,
    sha256: found.sha256,
    sha8: found.sha256.slice(0, 8),
    bytes: Number(found.bytes),
    duration_s: found.duration_s ?? 0,
    target_s: j.voice.target_s,
    credits: 0,
    provider: String(found.meta.provider ?? j.provider.name),
    reused: true,
  };
}

/**
 * Renders one segment in its own staging dir, checks it with ffprobe, promotes it to
 * `final/` under its sha8 name and records it in the video index and the credits ledger.
 */
export async function renderSegment(j: SegmentJob): Promise<RenderedSegment> {
  const { ctx, voice } = j;
  const nn = String(voice.segment).padStart(2, '0');
  const inputs = await inputHash(j);
  const found = await findIndexed(j, inputs);
  if (found) return reusedSegment(j, found);
  // Own staging dir per claim: an encoder orphaned by a killed worker cannot write into this one.
  const stagingDir = path.join(j.stagingRoot, ctx.run.id, `seg-${nn}.f${ctx.fence}`);
  const result = await j.provider.render({
    runId: ctx.run.id,
    segment: voice.segment,
    imagePath: j.picture.imagePath,
    title: j.picture.title,
    audioPath: voice.audio_path,
    stagingDir,
    signal: ctx.signal,
  });
  const { duration_s } = await verifyExport(result.path, voice.duration_s, ctx.signal);
  // The index keeps what ffprobe says of the accepted file (a header read; verifyExport read every packet).
  const probe = indexProbeOf(await probeMedia(result.path, ctx.signal));
  const sha256 = await sha256File(result.path);
  const bytes = statSync(result.path).size;
  const finalPath = promoteToFinal(result.path, j.finalDir, finalName(ctx.run.id, voice.segment, sha256));
  rmSync(stagingDir, { recursive: true, force: true });
  const sha8 = sha256.slice(0, 8);
  await ctx.record(MEDIA_WRITES.recordArtifact, {
    p_event_id: `${ctx.run.id}:render:seg-${nn}:${sha8}`,
    p_stage: 'render',
    p_segment: voice.segment,
    p_kind: 'video',
    p_path: finalPath,
    p_sha: sha256,
    p_bytes: bytes,
    p_duration_s: duration_s,
    p_meta: { provider: result.provider, input_sha256: inputs, target_s: voice.target_s },
    p_probe: probe,
  });
  await ctx.record(MEDIA_WRITES.recordCredits, {
    p_event_id: `${ctx.run.id}:render:seg-${nn}:${sha8}:credits`,
    p_provider: result.provider,
    p_credits: result.credits,
    p_note: `segment ${voice.segment}`,
  });
  return {
    segment: voice.segment,
    path: finalPath,
    sha256,
    sha8,
    bytes,
    duration_s,
    target_s: voice.target_s,
    credits: result.credits,
    provider: result.provider,
    reused: false,
  };
}
