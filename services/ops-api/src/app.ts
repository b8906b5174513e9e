import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import cookieParser from 'cookie-parser';
import express, { type Express, type RequestHandler } from 'express';
import type { Runtime } from '@rayvault/shared';
import { authRoutes } from './auth/auth.routes';
import { createAuth, principalOf } from './auth/authenticate';
import { createSessions } from './auth/sessions';
import { createTokenResolver, createTokenStore } from './auth/tokens';
import { bullBoardRoutes } from './bull-board';
import { resolveOpsApiOptions, type OpsApiConfig, type OpsApiOptions } from './config.schema';
import { dashboardRoutes } from './dashboard-api/dashboard.routes';
import { createRunFeed, type RunFeed } from './dashboard-api/run-feed';
import { deadLetterRoutes } from './dead-letters/dead-letters.routes';
import { parseAllowlist } from './health/allowlist';
import { healthRoutes } from './health/health.routes';
import { errorHandler, HttpError, notFound } from './http/errors';
import { requestLimiter, tokenGuessLimiter } from './http/rate-limits';
import { createMetrics } from './metrics/metrics';
import { queueRoutes } from './queues/queues.routes';
import { runRoutes } from './runs/runs.routes';

/**
 * The built dashboard (scripts/build.mjs bundles it): beside the bundle in
 * dist/, or, when ops-api runs from source, the last build's dist/dashboard.
 */
const DASHBOARD_DIR = [path.join(__dirname, 'dashboard'), path.resolve(__dirname, '../../../dist/dashboard')].find(
  (d) => existsSync(path.join(d, 'app.js')),
);
/** Client-side routes of the dashboard: each answers with its index.html. */
const DASHBOARD_PAGES = ['/', '/runs', '/runs/:id', '/dead-letters', '/new'];
const DASHBOARD_CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({ 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' });
  next();
};

/** The dashboard's pages (each answers with its index.html) and its static files, under a strict CSP. */
function serveDashboard(app: Express): void {
  app.use((_req, res, next) => {
    res.set('Content-Security-Policy', DASHBOARD_CSP);
    next();
  });
  app.get(DASHBOARD_PAGES, (_req, res) => {
    if (!DASHBOARD_DIR) throw new HttpError('dependency_unavailable', 'the dashboard is not built: run npm run build');
    res.sendFile(path.join(DASHBOARD_DIR, 'index.html'));
  });
  if (DASHBOARD_DIR) app.use(express.static(DASHBOARD_DIR, { index: false }));
}

/** `start()` and an idempotent `close()` of the HTTP server that serves `app`. */
function listener(app: Express, o: OpsApiOptions, feed: RunFeed) {
  let server: http.Server | undefined;
  return {
    /**
     * Listens on `port` (default RAYVAULT_API_PORT; 0 = any free port) and `host` (default OPS_BIND_HOST); returns the
     * base URL and the bound address.
     */
    start(port = o.port, host = o.host): Promise<{ url: string; port: number; address: string }> {
      return new Promise((ok, fail) => {
        const s = http.createServer(app);
        s.once('error', fail);
        s.listen(port, host, () => {
          server = s;
          const { port: p, address } = s.address() as AddressInfo;
          const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
          ok({ url: `http://${shown}:${p}`, port: p, address });
        });
      });
    },
    /** Stops accepting connections and ends idle keep-alive ones; idempotent. */
    async close(): Promise<void> {
      const s = server;
      server = undefined;
      feed.close();
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

/**
 * The ops API on one port: health, queues, drain/resume, runs and their
 * actions, dead letters, tokens, metrics, Bull Board and the dashboard.
 * `start()` listens (port 0 picks a free one); `close()` stops it.
 */
export function createApp(rt: Runtime, config: OpsApiConfig, overrides: Partial<OpsApiOptions> = {}) {
  const o = resolveOpsApiOptions(config, overrides);
  const resolve = createTokenResolver(rt.operations.tokens, o.adminToken);
  const sessions = createSessions(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX, o.sessionTtlMs);
  const auth = createAuth(resolve, sessions);
  const audit = rt.operations.audit;
  const metrics = createMetrics(rt);
  const allowed = parseAllowlist(o.healthAllowlist);
  const feed = createRunFeed(rt);

  const app = express();
  app.disable('x-powered-by');
  // Client IPs (rate limits, HEALTH_ALLOWLIST, the session cookie's Secure flag) come from X-Forwarded-For only when a
  // trusted proxy sent it.
  app.set('trust proxy', o.trustProxy);
  app.use(securityHeaders);
  app.use(requestLimiter(o.rateLimitPerMin), tokenGuessLimiter(o.loginRateLimitPerMin));
  app.use(cookieParser());
  app.use(healthRoutes(rt, { identify: auth.identify(true), allowed }));
  app.use(express.json({ limit: o.jsonLimit }));
  app.use(auth.identify());

  app.get('/metrics', async (req, res) => {
    if (!principalOf(res) && !allowed(req.ip))
      throw (
        (res.locals.authError as HttpError | undefined) ??
        new HttpError('unauthorized', 'metrics need a token or a HEALTH_ALLOWLIST address')
      );
    const { contentType, body } = await metrics.render();
    res.type(contentType).send(body);
  });
  app.use(
    authRoutes({
      auth,
      sessions,
      resolve,
      tokens: createTokenStore(rt.operations.tokens),
      audit,
      sessionTtlMs: o.sessionTtlMs,
    }),
  );
  app.use(queueRoutes(rt, { auth, audit }));
  app.use(runRoutes(rt, { auth, prices: { creditPriceUsd: o.creditPriceUsd, usdBrl: o.usdBrl } }));
  app.use(deadLetterRoutes(rt, { auth, audit }));
  app.use(bullBoardRoutes(rt, { auth, audit, write: o.bullBoardWrite }));
  app.use(dashboardRoutes(rt, { auth, feed, prices: { creditPriceUsd: o.creditPriceUsd, usdBrl: o.usdBrl } }));
  serveDashboard(app);
  app.use(notFound);
  app.use(errorHandler(rt.log));

  return { app, options: o, ...listener(app, o, feed) };
}
export type OpsApp = ReturnType<typeof createApp>;
