/** One segment to render: its picture (or a title card to generate) and its narration. */
export type RenderRequest = {
  runId: string;
  segment: number;
  /** Product image from the evidence; absent → the provider makes a title card from `title`. */
  imagePath?: string;
  title: string;
  audioPath: string;
  /** Partial exports live here until checked; the caller promotes the accepted file. */
  stagingDir: string;
  signal: AbortSignal;
};

/** A rendered MP4 in the staging dir, and the credits the provider spent on it. */
export type RenderResult = { path: string; credits: number; provider: string };

/**
 * A render backend. Every provider passes the same contract suite: an H.264/AAC MP4
 * whose duration matches the audio, written only under `stagingDir`, honouring `signal`.
 */
export interface RenderProvider {
  readonly name: string;
  render(req: RenderRequest): Promise<RenderResult>;
  close?(): Promise<void>;
}
