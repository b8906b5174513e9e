import { Router } from 'express';
import type { Queue } from 'bullmq';
import { z } from 'zod';
import { intakeState, setIntakePaused, type OpsAudit, type Runtime } from '@rayvault/shared';
import { actorOf, type Auth } from '../auth/authenticate';
import { HttpError } from '../http/errors';
import { reason, reasonBody } from '../http/schemas';
import { parseInput } from '../http/validate';
import { opsQueues, queueCounts, queueOverview, remainingWork } from './queue-overview';

const purgeBody = z.object({ reason, confirm: z.string({ error: 'confirm is required: type the queue name' }) });

type Deps = { auth: Auth; audit: OpsAudit };

/** Queue triage, pause/resume, drain/resume intake, and the confirmed purge. */
export function queueRoutes(rt: Runtime, d: Deps): Router {
  const r = Router();
  perQueueRoutes(r, rt, d);
  intakeRoutes(r, rt, d);
  r.get('/api/ops/events', d.auth.requireRole('viewer'), async (req, res) => {
    const limit = Math.min(500, Math.max(1, Number(req.query.limit) || 50));
    res.json({ events: await d.audit.recent(limit) });
  });
  return r;
}

/** The overview of every queue, and pause/resume/purge of one. */
function perQueueRoutes(r: Router, rt: Runtime, d: Deps): void {
  const { requireRole } = d.auth;
  const queues = opsQueues(rt);
  const queueOf = (name: string): Queue => {
    const q = queues.get(name);
    if (!q) throw new HttpError('not_found', `no queue ${name}: one of ${[...queues.keys()].join(', ')}`);
    return q;
  };

  r.get('/api/ops/queues', requireRole('viewer'), async (_req, res) => {
    res.json(await queueOverview(rt));
  });

  for (const action of ['pause', 'resume'] as const) {
    r.post(`/api/ops/queues/:name/${action}`, requireRole('admin'), async (req, res) => {
      const q = queueOf(String(req.params.name));
      const body = parseInput(reasonBody, req.body);
      await (action === 'pause' ? q.pause() : q.resume());
      await d.audit.record({ type: `queue_${action}`, actor: actorOf(res).name, reason: body.reason, target: q.name });
      res.json({ queue: q.name, ...(await queueCounts(q)) });
    });
  }

  // Removes waiting jobs only (never active ones); the database still lists their runs, so the reconciler may queue
  // them again.
  r.post('/api/ops/queues/:name/purge', requireRole('admin'), async (req, res) => {
    const q = queueOf(String(req.params.name));
    const body = parseInput(purgeBody, req.body);
    if (body.confirm !== q.name) throw new HttpError('invalid_input', `confirm must be the queue name "${q.name}"`);
    const removed = [...(await q.clean(0, 0, 'wait')), ...(await q.clean(0, 0, 'prioritized'))];
    await d.audit.record({
      type: 'queue_purge',
      actor: actorOf(res).name,
      reason: body.reason,
      target: q.name,
      payload: { removed },
    });
    res.json({
      queue: q.name,
      removed,
      note: 'runs of removed stage jobs stay queued in the database: abort them, or the reconciler queues them again',
    });
  });
}

/** Drain and resume of intake (new runs), and what is left to finish. */
function intakeRoutes(r: Router, rt: Runtime, d: Deps): void {
  const { requireRole } = d.auth;
  const prefix = rt.config.RAYVAULT_QUEUE_PREFIX;
  const drainState = async () => ({
    intake: await intakeState(rt.fastRedis, prefix),
    remaining: await remainingWork(rt),
  });
  r.get('/api/ops/drain', requireRole('viewer'), async (_req, res) => {
    res.json(await drainState());
  });

  // Drain: stop taking new runs and let the workers finish what is queued. Nothing is removed.
  r.post('/api/ops/drain', requireRole('admin'), async (req, res) => {
    const body = parseInput(reasonBody, req.body);
    const actor = actorOf(res).name;
    await setIntakePaused(rt.fastRedis, prefix, true, actor, body.reason);
    await d.audit.record({ type: 'intake_drain', actor, reason: body.reason });
    res.json(await drainState());
  });

  r.post('/api/ops/resume', requireRole('admin'), async (req, res) => {
    const body = parseInput(reasonBody, req.body);
    const actor = actorOf(res).name;
    await setIntakePaused(rt.fastRedis, prefix, false, actor);
    await d.audit.record({ type: 'intake_resume', actor, reason: body.reason });
    res.json(await drainState());
  });
}
