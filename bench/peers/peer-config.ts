// A peer process's configuration: the environment the bench's peer driver gives it,
// read here only (the peers load nothing of RayVault).

/** The environment the driver gives every peer process. */
export function peerEnv() {
  const need = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is required (the bench's peer driver sets it)`);
    return v;
  };
  return {
    dbUrl: need('PEER_DB_URL'),
    redisUrl: need('REDIS_URL'),
    doneKey: need('PEER_DONE_KEY'),
    submitter: process.env.PEER_SUBMITTER === '1',
  };
}
