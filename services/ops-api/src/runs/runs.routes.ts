import { Router, type Request } from 'express';
import { z } from 'zod';
import {
  forceUnlockRun,
  isHttpUrl,
  loadSample,
  OPERATOR_ACTIONS,
  parseProduct,
  RUN_STATUSES,
  runOperatorAction,
  SAMPLE_NAMES,
  STAGES,
  submitRun,
  type Product,
  type Runtime,
} from '@rayvault/shared';
import { actorOf, type Auth } from '../auth/authenticate';
import { HttpError } from '../http/errors';
import { reason } from '../http/schemas';
import { parseInput } from '../http/validate';
import { actionEventId } from './idempotency-key';
import { runDetail } from './run-detail';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const runInput = z.record(z.string(), z.unknown()).optional();
const createBody = z.object({ product: z.looseObject({ name: z.string().trim().min(1).max(200) }), input: runInput });
const createSampleBody = z.object({ sample: z.enum(SAMPLE_NAMES), input: runInput });
const listQuery = z.object({
  status: z.enum(RUN_STATUSES).optional(),
  stage: z.enum(STAGES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
  /** Product name (substring, any case) or run id prefix. */
  q: z.string().trim().max(200).optional(),
});
const actionBody = z.object({ reason, expected: z.enum(RUN_STATUSES).optional() });
const unlockBody = z.object({ reason, force: z.boolean().default(false) });

const runId = (req: Request): string => {
  const id = String(req.params.id);
  if (!UUID.test(id)) throw new HttpError('not_found', `no run ${id}`);
  return id;
};

/** The product and input of a POST /api/runs body: a named sample, or a product whose sources are all URLs. */
async function submission(raw: unknown): Promise<{ product: Product; input: Record<string, unknown> }> {
  const sample = typeof raw === 'object' && raw !== null && 'sample' in raw;
  const body = sample ? parseInput(createSampleBody, raw) : parseInput(createBody, raw);
  let product: Product;
  if ('sample' in body) {
    product = await loadSample(body.sample);
  } else {
    product = parseProduct(body.product, 'product');
    // A file source would read the server's disk on behalf of a remote caller.
    if (product.sources.some((s) => 'file' in s))
      throw new HttpError(
        'invalid_input',
        'sources submitted over the API must be http(s) URLs; file sources are for the CLI',
      );
    // So would a local image, and the render would then show (and upload to the studio) that file.
    if (product.image !== undefined && !isHttpUrl(product.image)) {
      throw new HttpError(
        'invalid_input',
        'product.image submitted over the API must be an http(s) URL; a local image file is for the CLI (inside RAYVAULT_MEDIA_DIR)',
      );
    }
  }
  return { product, input: { ...(product.script ? { script: product.script } : {}), ...body.input } };
}

/** Runs: create, list, show, and the operator actions (illegal → 409, unknown → 404, nothing changed either way). */
export function runRoutes(rt: Runtime, d: { auth: Auth; prices: { creditPriceUsd: number; usdBrl: number } }): Router {
  const r = Router();
  const { requireRole } = d.auth;

  r.post('/api/runs', requireRole('operator'), async (req, res) => {
    const { product, input } = await submission(req.body);
    const run = await submitRun(rt, { product, input, actor: actorOf(res).name });
    res.status(201).json(run);
  });

  r.get('/api/runs', requireRole('viewer'), async (req, res) => {
    const q = parseInput(listQuery, req.query);
    const page = await rt.operations.searchRuns({
      status: q.status,
      stage: q.stage,
      limit: q.limit,
      offset: q.offset,
      search: q.q,
    });
    res.json({ ...page, limit: q.limit, offset: q.offset });
  });

  r.get('/api/runs/:id', requireRole('viewer'), async (req, res) => {
    const run = await rt.store.getRun(runId(req));
    if (!run) throw new HttpError('not_found', `no run ${req.params.id}`);
    res.json(await runDetail(rt.store.rpc, run, d.prices));
  });

  for (const action of OPERATOR_ACTIONS) {
    r.post(`/api/runs/:id/${action}`, requireRole('operator'), async (req, res) => {
      const id = runId(req);
      const body = parseInput(actionBody, req.body);
      const actor = actorOf(res).name;
      const eventId = actionEventId(req, { runId: id, action, actor });
      const run = await runOperatorAction(rt, {
        runId: id,
        action,
        actor,
        reason: body.reason,
        expected: body.expected,
        eventId,
      });
      res.json(run);
    });
  }

  r.post('/api/runs/:id/unlock', requireRole('admin'), async (req, res) => {
    const id = runId(req);
    const body = parseInput(unlockBody, req.body);
    const { run, previous } = await forceUnlockRun(rt, {
      runId: id,
      operator: actorOf(res).name,
      reason: body.reason,
      force: body.force,
    });
    res.json({ run, previous: { status: previous.status, worker_id: previous.worker_id, fence: previous.fence } });
  });
  return r;
}
