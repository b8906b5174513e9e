// One compose service as a local process for the stack tests: started in its
// own process group (so SIGTERM/SIGKILL reach anything it spawns: ffmpeg,
// Chromium), its output kept for failure messages, its compose health check
// run like Docker runs it, and stopped like `docker compose down` stops it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export type ServiceProcess = {
  name: string;
  proc: ChildProcess;
  log: () => string;
  exited: Promise<void>;
  running: () => boolean;
};

const live = new Set<ServiceProcess>();
// Last resort if the jest worker exits without afterAll (a crash): nothing of ours outlives it.
process.once('exit', () => {
  for (const s of live) killGroup(s, 'SIGKILL');
});

function killGroup(s: ServiceProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-s.proc.pid!, signal);
  } catch {
    /* already gone */
  }
}

export function startService(
  name: string,
  command: string[],
  opts: { cwd: string; env: Record<string, string> },
): ServiceProcess {
  const proc = spawn(command[0], command.slice(1), {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  // 'error' without 'exit' when the command cannot be started at all.
  const exited = new Promise<void>((resolve) => {
    proc.on('exit', () => resolve());
    proc.on('error', (err) => {
      out += `\n[spawn error] ${err.message}\n`;
      resolve();
    });
  });
  let done = false;
  const s: ServiceProcess = { name, proc, log: () => out, exited, running: () => !done };
  live.add(s);
  void exited.then(() => {
    done = true;
    live.delete(s);
  });
  return s;
}

/** Runs a health check command once; resolves to its exit status and output. */
export function runCheck(
  command: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(command[0], command.slice(1), { env, timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ ok: !err, output: `${stdout}${stderr}`.trim() || (err ? err.message : '') }),
    );
  });
}

const tail = (text: string, lines = 40) => text.trim().split('\n').slice(-lines).join('\n');

/**
 * Polls the check until it passes; fails at once if the service exits, or at
 * the deadline, with the check's last output and the service's log.
 */
export async function waitHealthy(
  s: ServiceProcess,
  check: () => ReturnType<typeof runCheck>,
  deadlineMs: number,
): Promise<void> {
  const until = Date.now() + deadlineMs;
  let last = 'not run yet';
  while (Date.now() < until) {
    if (!s.running()) break;
    const r = await check();
    if (r.ok) return;
    last = r.output || 'failed without output';
    await sleep(500);
  }
  const why = s.running()
    ? `not healthy within ${deadlineMs} ms`
    : `exited (${s.proc.signalCode ?? s.proc.exitCode}) before it was healthy`;
  throw new Error(`${s.name}: ${why}; last health check: ${last}\n--- ${s.name} log ---\n${tail(s.log())}`);
}

/** SIGTERM, then SIGKILL after the grace (compose's default stop_grace_period is 10 s). */
export async function stopService(s: ServiceProcess, graceMs = 10_000): Promise<void> {
  if (s.running()) killGroup(s, 'SIGTERM');
  const timer = setTimeout(() => killGroup(s, 'SIGKILL'), graceMs);
  await s.exited;
  clearTimeout(timer);
  killGroup(s, 'SIGKILL'); // anything it started and left in its group
}
