import { Router, type RequestHandler } from 'express';
import type { OpsAudit, Runtime } from '@rayvault/shared';
import { actorOf, type Auth } from './auth/authenticate';
import { HttpError } from './http/errors';
import { opsQueues } from './queues/queue-overview';

export const BULL_BOARD_PATH = '/admin/queues';
const READS = new Set(['GET', 'HEAD']);

/**
 * Bull Board over the stage queues and the alerts queue; readOnlyMode hides
 * and refuses its buttons. Loaded on its first request: the API idles about
 * 10 MB lighter when nobody opens it.
 */
async function board(rt: Runtime, write: boolean): Promise<Router> {
  const [{ createBullBoard }, { BullMQAdapter }, { ExpressAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/express'),
  ]);
  const adapter = new ExpressAdapter();
  adapter.setBasePath(BULL_BOARD_PATH);
  const queues = [...opsQueues(rt).values()].map((q) => new BullMQAdapter(q, { readOnlyMode: !write }));
  createBullBoard({ queues, serverAdapter: adapter, options: { uiConfig: { boardTitle: 'RayVault' } } });
  return adapter.getRouter() as Router;
}

/**
 * Read-only: any request but GET/HEAD is refused here, whatever the UI shows
 * (Bull Board's own read-only flag is per queue and misses "pause all").
 * Writable: the audit event (who, method, path, body) is written first, and a
 * change that cannot be audited is not made.
 */
function gate(d: { audit: OpsAudit; write: boolean }): RequestHandler {
  return async (req, res, next) => {
    if (READS.has(req.method)) return next();
    if (!d.write) {
      throw new HttpError(
        'forbidden',
        'Bull Board is read-only (OPS_BULL_BOARD_WRITE is not 1): use the audited API (/api/ops/queues/:name/pause|resume|purge, /api/dead-letters/:queue/:jobId/redrive) or the rayvault CLI',
      );
    }
    const who = actorOf(res);
    try {
      await d.audit.record({
        type: 'bull_board',
        actor: who.name,
        target: BULL_BOARD_PATH + req.path,
        payload: { method: req.method, role: who.role, via: who.via, body: req.body ?? null },
      });
    } catch (err) {
      throw new HttpError(
        'dependency_unavailable',
        'the audit event for this Bull Board change could not be written, so the change was not made: check the database, then retry',
        { cause: err },
      );
    }
    next();
  };
}

/** Bull Board for admins: the same-origin check for the browser, then the read-only/audit gate, then the board. */
export function bullBoardRoutes(rt: Runtime, d: { auth: Auth; audit: OpsAudit; write: boolean }): Router {
  const r = Router();
  let loaded: Promise<Router> | undefined;
  const lazyBoard: RequestHandler = (req, res, next) => {
    // A load that failed is tried again on the next request.
    loaded ??= board(rt, d.write).catch((err: unknown) => {
      loaded = undefined;
      throw err;
    });
    loaded.then((b) => b(req, res, next), next);
  };
  r.use(BULL_BOARD_PATH, d.auth.requireRole('admin', 'same-origin'), gate(d), lazyBoard);
  return r;
}
