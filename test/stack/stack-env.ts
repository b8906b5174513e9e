// The environment a test gives `npm start`: this process's, without anything
// that would point the stack at the harness's Redis and Postgres or an
// existing token, so the stack makes its own; plus its state dir and port.
const INHERITED_TARGETS = [
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
  'REDIS_PASSWORD',
  'DATABASE_URL',
  'SUPABASE_URL',
  'SUPABASE_SERVICE_KEY',
  'RAYVAULT_ADMIN_TOKEN',
  'RAYVAULT_QUEUE_PREFIX',
];

export function npmStartEnv(
  stateDir: string,
  port: number,
  extra: Record<string, string> = {},
): Record<string, string> {
  const e: Record<string, string> = { ...(process.env as Record<string, string>) };
  for (const k of INHERITED_TARGETS) delete e[k];
  return {
    ...e,
    RAYVAULT_STATE_DIR: stateDir,
    RAYVAULT_API_PORT: String(port),
    RAYVAULT_SHUTDOWN_GRACE_MS: '5000',
    ...extra,
  };
}
