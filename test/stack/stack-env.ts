// The environment a test gives `npm start`: this process's, without anything
// that would point the stack at the harness's Redis and Postgres or an
// existing token, so the stack makes its own; plus its state dir and port.
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT, waitFor } from '../support/harness';
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

export type NpmStack = { proc: ChildProcess; output: () => string };

/**
 * `npm start` in its own process group, like a terminal's foreground job (so Ctrl-C can be sent to the group),
 * resolved once it prints "RayVault is running"; a start that fails kills the group and throws its output.
 */
export async function startNpmStack(env: Record<string, string>): Promise<NpmStack> {
  const proc = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  try {
    await waitFor(
      'npm start to print "RayVault is running"',
      () => out.includes('RayVault is running.') || (proc.exitCode !== null && Promise.reject(new Error(out))),
      240_000,
      250,
    );
  } catch (err) {
    if (proc.exitCode === null) process.kill(-proc.pid!, 'SIGKILL');
    throw err;
  }
  return { proc, output: () => out };
}
