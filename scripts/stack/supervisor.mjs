// Runs each service as its own process with prefixed logs, restarts one that
// dies (exponential backoff, reset after a minute up, like a compose restart
// policy) and stops them in reverse start order.
import { spawn } from 'node:child_process';
import readline from 'node:readline';

const COLORS = [36, 33, 35, 32, 34, 31];

/**
 * The V8 flags a service runs with (docker-compose.yml passes the same).
 * Without tracing, V8's young generation is capped at 1 MB per semi-space
 * (default 16): an idle service keeps about 15 MB less resident, for a few
 * more (cheap) scavenges under load. With an OTLP endpoint it keeps V8's 16
 * MB: spans wait seconds in the batch queue for export, and with 1 MB each
 * one outlives its scavenges and goes to the old generation, whose GC was
 * most of tracing's cost (bench item 1t: a quarter fewer runs/s, not 6 %).
 */
export function serviceNodeFlags(env) {
  // Tracing is on exactly when startTelemetry (shared/src/telemetry/start-telemetry.ts) starts the SDK.
  const tracing =
    env.OTEL_SDK_DISABLED !== 'true' && !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  return [`--max-semi-space-size=${tracing ? 16 : 1}`];
}

export function createSupervisor({ root, env, graceMs, out = process.stdout }) {
  const services = [];
  let stopping = false;

  function pipe(stream, name, color) {
    const rl = readline.createInterface({ input: stream });
    const tag = out.isTTY ? `\x1b[${color}m${name.padEnd(16)}\x1b[0m|` : `${name.padEnd(16)}|`;
    rl.on('line', (line) => out.write(`${tag} ${line}\n`));
  }

  function launch(svc) {
    // Own process group: Ctrl-C reaches the supervisor only, which stops the
    // services in reverse order; RAYVAULT_SUPERVISOR_PID lets each one stop
    // by itself if the supervisor is killed outright.
    const proc = spawn(process.execPath, [...serviceNodeFlags({ ...env, ...svc.env }), svc.entry], {
      cwd: root,
      env: { ...env, ...svc.env, RAYVAULT_SUPERVISOR_PID: String(process.pid) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    svc.proc = proc;
    svc.startedAt = Date.now();
    pipe(proc.stdout, svc.name, svc.color);
    pipe(proc.stderr, svc.name, svc.color);
    proc.on('exit', (code, signal) => {
      svc.exited?.();
      if (stopping) return;
      if (Date.now() - svc.startedAt > 60000) svc.backoffMs = 1000;
      out.write(`supervisor      | ${svc.name} exited (${signal ?? code}); restarting in ${svc.backoffMs} ms\n`);
      svc.restarts++;
      svc.timer = setTimeout(() => launch(svc), svc.backoffMs);
      svc.backoffMs = Math.min(svc.backoffMs * 2, 30000);
    });
  }

  return {
    services,
    start(name, entry, extraEnv = {}) {
      const svc = {
        name,
        entry,
        env: extraEnv,
        color: COLORS[services.length % COLORS.length],
        backoffMs: 1000,
        restarts: 0,
      };
      services.push(svc);
      launch(svc);
      return svc;
    },
    /** SIGTERM each service in reverse order, waiting for it (SIGKILL after the grace period). */
    async stopAll() {
      stopping = true;
      for (const svc of [...services].reverse()) {
        clearTimeout(svc.timer);
        const p = svc.proc;
        if (!p || p.exitCode !== null || p.signalCode !== null) continue;
        out.write(`supervisor      | stopping ${svc.name}\n`);
        const gone = new Promise((resolve) => (svc.exited = resolve));
        p.kill('SIGTERM');
        const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
        await gone;
        clearTimeout(timer);
      }
    },
  };
}
