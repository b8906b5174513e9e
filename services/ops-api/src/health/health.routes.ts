import type { RedisClient } from '@rayvault/shared';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import {
  DOCTOR_DEFAULTS,
  intakeState,
  pendingMigrations,
  readBreakers,
  runDoctor,
  type DoctorReport,
  type Runtime,
} from '@rayvault/shared';
import { principalOf } from '../auth/authenticate';
import { withTimeout } from '../http/timeout';
import { workerStatus } from '../queues/queue-overview';

type Check = { ok: boolean; latency_ms: number | null; error?: string };

async function check(fn: () => Promise<unknown>): Promise<Check> {
  const t0 = performance.now();
  try {
    await withTimeout(fn(), 3000, 'no answer within 3000 ms');
    return { ok: true, latency_ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { ok: false, latency_ms: null, error: (err as Error).message };
  }
}

/** The fail-fast connection refuses commands until connected: a fresh process waits for that first. */
async function pingRedis(redis: RedisClient): Promise<unknown> {
  if (redis.status === 'connecting' || redis.status === 'connect' || redis.status === 'reconnecting') {
    await new Promise<void>((ok, fail) => {
      redis.once('ready', ok);
      setTimeout(() => fail(new Error(`redis is ${redis.status}`)), 2500).unref();
    });
  }
  return redis.ping();
}

/** Doctor reports are shared for a few seconds so a busy health check does not hammer the database. */
function cachedDoctor(rt: Runtime, ttlMs = 3000) {
  let last: { at: number; report: Promise<DoctorReport> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > ttlMs) {
      const entry = { at: Date.now(), report: runDoctor(rt) };
      entry.report.catch(() => {
        if (last === entry) last = undefined;
      }); // a failed report is not reused
      last = entry;
    }
    return last.report;
  };
}

export function healthStatus(report: DoctorReport): 'ok' | 'degraded' | 'down' {
  if (report.dependencies.some((d) => !d.ok)) return 'down';
  return report.findings.some((f) => f.level !== 'PASS') ? 'degraded' : 'ok';
}

/**
 * /healthz: the process answers. /readyz: RedisClient and Postgres answer and the
 * schema is current. Anyone gets the status (and, from /readyz, the names of
 * the failing checks); the details (errors with hosts and ports, pending
 * migrations, workers, ingestion) only authenticated callers (token or
 * browser session) and HEALTH_ALLOWLIST addresses.
 */
export function healthRoutes(
  rt: Runtime,
  o: { identify: RequestHandler; allowed: (ip: string | undefined) => boolean },
): Router {
  const r = Router();
  const doctor = cachedDoctor(rt);
  const trusted = (req: Request, res: Response) => !!principalOf(res) || o.allowed(req.ip);

  r.get('/healthz', (_req, res) => {
    res.json({ status: 'alive', uptime_s: Math.round(process.uptime()) });
  });

  r.get('/readyz', o.identify, async (req, res) => {
    const redis = await check(() => pingRedis(rt.fastRedis));
    // The ping and the migration check test the pool's connection itself, so they stay off the stores.
    const postgres = await check(() => rt.pool.query('SELECT 1'));
    let migrations: { ok: boolean; pending: string[]; error?: string } = {
      ok: false,
      pending: [],
      error: 'database unreachable',
    };
    if (postgres.ok) {
      migrations = await withTimeout(pendingMigrations(rt.pool), 3000, 'no answer within 3000 ms')
        .then((p) => ({
          ok: p.length === 0,
          pending: p.map((m) => m.name),
          ...(p.length ? { error: 'run rayvault migrate' } : {}),
        }))
        .catch((err: Error) => ({ ok: false, pending: [], error: err.message }));
    }
    const checks = { redis, postgres, migrations };
    const failing = Object.entries(checks)
      .filter(([, c]) => !c.ok)
      .map(([name]) => name);
    const status = failing.length ? 'not_ready' : 'ready';
    res.status(failing.length ? 503 : 200).json(trusted(req, res) ? { status, failing, checks } : { status, failing });
  });

  const health: RequestHandler = async (req, res) => {
    const report = await doctor();
    const status = healthStatus(report);
    res.status(status === 'down' ? 503 : 200);
    if (!trusted(req, res)) {
      res.json({ status });
      return;
    }
    res.json({ status, ...(await telemetry(rt, report)) });
  };
  r.get(['/health', '/api/health'], o.identify, health);
  return r;
}

async function telemetry(rt: Runtime, report: DoctorReport) {
  const db = report.dependencies.find((d) => d.name === 'postgres')?.ok;
  const redis = report.dependencies.find((d) => d.name === 'redis')?.ok;
  const workers = db ? await rt.store.listWorkers().catch(() => []) : [];
  const gates = db ? await rt.store.listRuns({ status: 'waiting_approval', limit: 500 }).catch(() => []) : [];
  const staleBefore = Date.now() - DOCTOR_DEFAULTS.staleGateMs;
  return {
    verdict: report.line,
    dependencies: report.dependencies,
    findings: report.findings,
    workers: workers.map(workerStatus),
    ingestion: {
      circuits: redis ? await readBreakers(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX).catch(() => []) : [],
      intake: redis ? await intakeState(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX).catch(() => null) : null,
      issues: report.findings
        .filter((f) => f.area !== 'workers' && f.level !== 'PASS')
        .map((f) => ({ source: f.area, operation: f.code, reason: f.level, last_error: f.message })),
    },
    stale_gates: gates
      .filter((g) => Date.parse(g.updated_at) < staleBefore)
      .map((g) => ({ id: g.id, since: g.updated_at })),
    at: report.at,
  };
}
