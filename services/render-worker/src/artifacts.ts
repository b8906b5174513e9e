import { DatabaseUnavailableError, type Logger, type Rpc } from '@rayvault/shared';

/** A row of the video index (`artifacts`). */
export type Artifact = {
  run_id: string;
  stage: string;
  segment: number | null;
  kind: string;
  path: string;
  sha256: string;
  bytes: number;
  duration_s: number | null;
  meta: Record<string, unknown>;
  created_at: string;
};

export async function listArtifacts(rpc: Rpc, runId: string): Promise<Artifact[]> {
  return ((await rpc('rv_list_artifacts', { p_run: runId })) ?? []) as Artifact[];
}

/** The index when the database answers; while it is away, none (a re-render finds the same file by its hash). */
export async function listArtifactsIfReachable(rpc: Rpc, runId: string, log: Logger): Promise<Artifact[]> {
  try {
    return await listArtifacts(rpc, runId);
  } catch (err) {
    if (!(err instanceof DatabaseUnavailableError)) throw err;
    log.warn({ err }, 'video index unreachable: segments without a checkpoint are rendered again');
    return [];
  }
}
