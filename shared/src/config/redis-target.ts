/** Where Redis is: one server (REDIS_URL) or the seeds of a Redis Cluster (REDIS_CLUSTER_NODES). */
export type ClusterNode = { host: string; port: number };
export type RedisTarget = { url: string; password?: string } | { clusterNodes: ClusterNode[]; password?: string };

/** `host:port,host:port` (an IPv6 host in brackets: `[::1]:7000`) into nodes; a clear error names the bad seed. */
export function parseClusterNodes(value: string): ClusterNode[] {
  const seeds = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!seeds.length) throw new Error('REDIS_CLUSTER_NODES: give at least one host:port seed');
  return seeds.map((seed) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(seed);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65535)
      throw new Error(`REDIS_CLUSTER_NODES: '${seed}' is not host:port (e.g. 10.0.0.5:7000 or [::1]:7000)`);
    return { host: m[1] ?? m[2], port };
  });
}

type RedisSettings = { REDIS_URL: string; REDIS_CLUSTER_NODES?: string; REDIS_PASSWORD?: string };

/** The cluster when its seeds are set, otherwise REDIS_URL. */
export function redisTarget(config: RedisSettings): RedisTarget {
  const password = config.REDIS_PASSWORD;
  if (config.REDIS_CLUSTER_NODES) return { clusterNodes: parseClusterNodes(config.REDIS_CLUSTER_NODES), password };
  return { url: config.REDIS_URL, password };
}
