// The render worker's public surface: the stage processors (the CLI `worker` verb runs
// them in one process), the timeline and contract check (CLI `timeline`, `check-contract`),
// the final-file name format and file hash (the CLI's index refresh reads names back)
// and the render providers.
export { createMediaProcessors } from './media-processors';
export {
  mediaConfigSchema,
  mediaFields,
  resolveMediaOptions,
  type MediaConfig,
  type MediaOptions,
} from './config.schema';
export {
  buildTimeline,
  checkContract,
  timelineCsv,
  timelineInputs,
  MEDIA_SLACK_S,
  type ContractResult,
  type Timeline,
  type TimelineInput,
  type TimelineRow,
} from './qc/timeline';
export { listArtifacts, type Artifact } from './artifacts';
export { createLocalProvider } from './render/local-provider';
export { verifyExport } from './render/verify-export';
export { probeMedia } from './media/probe';
export { finalName, parseFinalName, type FinalName } from './media/final-name';
export { sha256File } from './media/file-hash';
export { synthesize, speechCachePath } from './voice/espeak-tts';
export { fitSegment, type VoiceSegment } from './voice/fit-segment';
export type { RenderProvider, RenderRequest, RenderResult } from './render/provider';
export type { VoiceOutput } from './voice/voice.processor';
export type { RenderOutput } from './render/render.processor';
export type { RenderedSegment } from './render/render-segment';
export type { QcOutput } from './qc/qc.processor';
