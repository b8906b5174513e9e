import { createMediaStore, DatabaseUnavailableError, type Artifact, type Logger, type Rpc } from '@rayvault/shared';

export type { Artifact };

export async function listArtifacts(rpc: Rpc, runId: string): Promise<Artifact[]> {
  return createMediaStore(rpc).artifacts(runId);
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
