import { rmSync } from 'node:fs';
import { InvalidInputError, stateLayout, type Rpc, type StageProcessor } from '@rayvault/shared';
import { listArtifactsIfReachable } from '../artifacts';
import type { VoiceOutput } from '../voice/voice.processor';
import { segmentStep } from '../voice/voice.processor';
import type { ImageSourceOptions } from './image-source';
import { pictureDir, productPicture } from './product-picture';
import type { RenderProvider } from './provider';
import { renderSegment, type RenderedSegment } from './render-segment';

/** What the render stage hands to qc (`run.output.render`). */
export type RenderOutput = { provider: string; segments: RenderedSegment[]; credits: number };

export type RenderDeps = { rpc: Rpc; stateDir: string; provider: RenderProvider; images: ImageSourceOptions };

/**
 * Render stage: one checkpointed step per voice segment, so a worker killed mid-render
 * resumes at the first unfinished segment; with the checkpoint lost, finished segments
 * are found in the video index by the hash of their inputs.
 */
export function createRenderProcessor(deps: RenderDeps): StageProcessor {
  const { final: finalDir, renderStaging: stagingRoot } = stateLayout(deps.stateDir);
  return async (ctx) => {
    const voice = ctx.run.output.voice as VoiceOutput | undefined;
    if (!voice?.segments?.length)
      throw new InvalidInputError(`run ${ctx.run.id} has no voice output to render: resume it from the voice stage`);
    const { provider } = deps;
    const pictures = { ...deps.images, stagingRoot };
    const picture = await productPicture(ctx, pictures);
    const indexed = await listArtifactsIfReachable(deps.rpc, ctx.run.id, ctx.log);
    const segments: RenderedSegment[] = [];
    for (const v of voice.segments) {
      segments.push(
        await ctx.step(segmentStep(v.segment), () =>
          renderSegment({ ctx, provider, picture, voice: v, finalDir, stagingRoot, indexed }),
        ),
      );
    }
    rmSync(pictureDir(pictures, ctx), { recursive: true, force: true });
    const credits = segments.reduce((a, s) => a + s.credits, 0);
    ctx.log.info({ segments: segments.length, provider: provider.name, credits }, 'render finished');
    const output: RenderOutput = { provider: provider.name, segments, credits };
    return { output };
  };
}
