import { utimesSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';

type Releaser = { name: string; release: () => Promise<void> | void };

const QUIESCE_MAX_MS = 5000;

/**
 * Resources acquired at start push a releaser; shutdown releases them in
 * reverse order, each guarded so one failure does not keep the others open.
 * The first SIGTERM/SIGINT is graceful; a second one (or the timeout) forces exit.
 */
export class Releasers {
  private readonly stack: Releaser[] = [];
  private readonly quiescers: Array<() => Promise<void>> = [];
  private closing?: Promise<void>;

  /**
   * Runs at the first signal, before the shutdown is announced: what stops intake
   * goes here, so that nothing is taken in after the log line that says so.
   */
  quiesceFirst(fn: () => Promise<void>): void {
    this.quiescers.push(fn);
  }

  push(name: string, release: Releaser['release']): void {
    this.stack.push({ name, release });
  }

  close(log?: Logger): Promise<void> {
    this.closing ??= (async () => {
      for (const r of [...this.stack].reverse()) {
        try {
          await r.release();
        } catch (err) {
          log?.warn({ err, resource: r.name }, 'release failed');
        }
      }
    })();
    return this.closing;
  }

  /**
   * Wire process signals: first graceful, second forceful, and a hard timeout.
   * `supervisorPid` (config.supervisorPid, from RAYVAULT_SUPERVISOR_PID) is `npm start`'s supervisor.
   */
  onSignals(
    log: Logger,
    forceAfterMs: number,
    exit: (code: number) => void = process.exit,
    supervisorPid?: number,
  ): void {
    let signalled = false;
    const handler = (signal: NodeJS.Signals) => {
      if (signalled) {
        log.warn({ signal }, 'second signal: forcing exit');
        exit(1);
        return;
      }
      signalled = true;
      const timer = setTimeout(() => {
        log.error({ forceAfterMs }, 'graceful shutdown timed out: forcing exit');
        exit(1);
      }, forceAfterMs);
      timer.unref();
      // A claim already sent is a database round trip: bounded, so a stuck one cannot hold the shutdown.
      const quiesced = Promise.all(this.quiescers.map((q) => q().catch(() => undefined)));
      void Promise.race([quiesced, new Promise((r) => setTimeout(r, QUIESCE_MAX_MS).unref())])
        .then(() => log.info({ signal }, 'shutting down gracefully'))
        .then(() => this.close(log))
        .then(
          () => exit(0),
          () => exit(1),
        );
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
    // Under `npm start` a service outlives nothing: if its supervisor is gone, it stops gracefully.
    const supervisor = supervisorPid ?? 0;
    if (supervisor > 0) {
      setInterval(() => {
        try {
          process.kill(supervisor, 0);
        } catch {
          if (!signalled) {
            log.warn({ supervisor }, 'supervisor gone: stopping');
            handler('SIGTERM');
          }
        }
      }, 1000).unref();
    }
  }
}

/** Marks the process alive for a container health check (RAYVAULT_HEALTH_FILE); never throws. */
export function touchHealthFile(file: string | undefined): void {
  if (!file) return;
  try {
    const now = new Date();
    try {
      utimesSync(file, now, now);
    } catch {
      writeFileSync(file, '');
    }
  } catch {
    // a health marker must never break the work it reports on
  }
}
