import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import cookieParser from 'cookie-parser';
import express, { type RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Runtime } from '@rayvault/shared';
import { createOpsAudit } from './audit/ops-events';
import { authRoutes } from './auth/auth.routes';
import { actorOf, createAuth, principalOf } from './auth/authenticate';
import { createSessions } from './auth/sessions';
import { createTokenResolver, createTokenStore } from './auth/tokens';
import { BULL_BOARD_PATH, bullBoardRouter } from './bull-board';
import { resolveOpsApiOptions, type OpsApiOptions } from './config.schema';
import { deadLetterRoutes } from './dead-letters/dead-letters.routes';
import { parseAllowlist } from './health/allowlist';
import { healthRoutes } from './health/health.routes';
import { errorHandler, HttpError, notFound } from './http/errors';
import { createMetrics } from './metrics/metrics';
import { queueRoutes } from './queues/queues.routes';
import { runRoutes } from './runs/runs.routes';

const DASHBOARD_DIR = path.join(__dirname, 'dashboard');

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({ 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' });
  next();
};

function limiter(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000, limit: perMinute, standardHeaders: 'draft-8', legacyHeaders: false,
    handler: (_req, _res, next) => next(new HttpError('rate_limited', `more than ${perMinute} requests a minute from this address: slow down and retry after the RateLimit-Reset seconds`)),
  });
}

/**
 * The ops API on one port: health, queues, drain/resume, runs and their
 * actions, dead letters, tokens, metrics, Bull Board and the dashboard.
 * `start()` listens (port 0 picks a free one); `close()` stops it.
 */
export function createApp(rt: Runtime, overrides: Partial<OpsApiOptions> = {}) {
  const o = resolveOpsApiOptions(rt.config, overrides);
  const rpc = rt.store.rpc;
  const resolve = createTokenResolver(rpc, o.adminToken);
  const sessions = createSessions(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX, o.sessionTtlMs);
  const auth = createAuth(resolve, sessions);
  const audit = createOpsAudit(rpc);
  const metrics = createMetrics(rt);
  const allowed = parseAllowlist(o.healthAllowlist);

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', o.trustProxy);
  app.use(securityHeaders);
  app.use(healthRoutes(rt, { identify: auth.identify(true), allowed }));
  app.use(['/api', '/login', '/logout', '/metrics'], limiter(o.rateLimitPerMin));
  app.use(express.json({ limit: o.jsonLimit }), cookieParser());
  app.use(auth.identify());

  app.get('/metrics', async (req, res) => {
    if (!principalOf(res) && !allowed(req.ip)) throw (res.locals.authError as HttpError | undefined) ?? new HttpError('unauthorized', 'metrics need a token or a HEALTH_ALLOWLIST address');
    res.type(metrics.contentType).send(await metrics.render());
  });
  app.use(authRoutes({ auth, sessions, resolve, tokens: createTokenStore(rpc), audit, sessionTtlMs: o.sessionTtlMs, loginLimiter: limiter(o.loginRateLimitPerMin) }));
  app.use(queueRoutes(rt, { auth, audit }));
  app.use(runRoutes(rt, { auth, prices: { creditPriceUsd: o.creditPriceUsd, usdBrl: o.usdBrl } }));
  app.use(deadLetterRoutes(rt, { auth, audit }));
  app.use(BULL_BOARD_PATH, auth.requireRole('admin', 'same-origin'), (req, res, next) => {
    // Bull Board's own buttons change queues: keep who did what.
    if (req.method !== 'GET') void audit.record({ type: 'bull_board', actor: actorOf(res).name, target: req.path, payload: { method: req.method } }).catch(() => undefined);
    next();
  }, bullBoardRouter(rt));
  app.use('/', (_req, res, next) => {
    res.set('Content-Security-Policy', "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    next();
  }, express.static(DASHBOARD_DIR, { index: 'index.html' }));
  app.use(notFound);
  app.use(errorHandler(rt.log));

  let server: http.Server | undefined;
  return {
    app,
    options: o,
    /** Listens on `port` (default RAYVAULT_API_PORT; 0 = any free port) and returns the base URL. */
    start(port = o.port, host = o.host): Promise<{ url: string; port: number }> {
      return new Promise((ok, fail) => {
        const s = http.createServer(app);
        s.once('error', fail);
        s.listen(port, host, () => {
          server = s;
          const p = (s.address() as AddressInfo).port;
          ok({ url: `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${p}`, port: p });
        });
      });
    },
    /** Stops accepting connections and ends idle keep-alive ones; idempotent. */
    async close(): Promise<void> {
      const s = server;
      server = undefined;
      if (!s) return;
      await new Promise<void>((ok) => {
        s.close(() => ok());
        s.closeIdleConnections();
        // A client holding a request open must not keep the process from stopping.
        setTimeout(() => s.closeAllConnections(), 3000).unref();
      });
    },
  };
}
export type OpsApp = ReturnType<typeof createApp>;
