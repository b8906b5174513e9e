import { Router, type CookieOptions, type RequestHandler } from 'express';
import { z } from 'zod';
import type { OpsAudit } from '../audit/ops-events';
import { HttpError } from '../http/errors';
import { parseInput } from '../http/validate';
import { actorOf, SESSION_COOKIE, type Auth } from './authenticate';
import type { Sessions } from './sessions';
import { hashToken, ROLES, type createTokenStore, type TokenResolver } from './tokens';

type Deps = { auth: Auth; sessions: Sessions; resolve: TokenResolver; tokens: ReturnType<typeof createTokenStore>; audit: OpsAudit; sessionTtlMs: number; loginLimiter: RequestHandler };

const loginBody = z.object({ token: z.string().min(1).max(512) });
const tokenBody = z.object({ name: z.string().regex(/^[A-Za-z0-9@._-]{1,64}$/, '1-64 letters, digits, @ . _ -'), role: z.enum(ROLES) });
const revokeBody = z.object({ reason: z.string().trim().min(1).max(500).optional() });

/** POST /login and /logout for browsers; /api/me; token management for admins. */
export function authRoutes(d: Deps): Router {
  const r = Router();
  const cookie = (secure: boolean): CookieOptions => ({ httpOnly: true, sameSite: 'strict', secure, path: '/' });

  r.post('/login', d.loginLimiter, async (req, res) => {
    const { token } = parseInput(loginBody, req.body);
    const hash = hashToken(token);
    const owner = await d.resolve(hash);
    if (!owner) throw new HttpError('unauthorized', 'unknown or revoked token');
    const { sid, csrf } = await d.sessions.create(hash);
    await d.audit.record({ type: 'login', actor: owner.name, payload: { role: owner.role, ip: req.ip } });
    res.cookie(SESSION_COOKIE, sid, { ...cookie(req.secure), maxAge: d.sessionTtlMs });
    res.json({ name: owner.name, role: owner.role, csrf });
  });

  r.post('/logout', async (req, res) => {
    const sid = req.cookies?.[SESSION_COOKIE] as string | undefined;
    if (sid) await d.sessions.destroy(sid);
    res.clearCookie(SESSION_COOKIE, cookie(req.secure));
    res.status(204).end();
  });

  r.get('/api/me', d.auth.requireRole('viewer'), (_req, res) => {
    const p = actorOf(res);
    res.json({ name: p.name, role: p.role, via: p.via, csrf: p.csrf ?? null });
  });

  r.get('/api/tokens', d.auth.requireRole('admin'), async (_req, res) => {
    res.json({ tokens: await d.tokens.list() });
  });

  r.post('/api/tokens', d.auth.requireRole('admin'), async (req, res) => {
    const body = parseInput(tokenBody, req.body);
    const created = await d.tokens.create({ ...body, actor: actorOf(res).name });
    res.status(201).json({ ...created, note: 'the token is shown only now: store it safely' });
  });

  r.post('/api/tokens/:name/revoke', d.auth.requireRole('admin'), async (req, res) => {
    const { reason } = parseInput(revokeBody, req.body);
    res.json(await d.tokens.revoke({ name: String(req.params.name), actor: actorOf(res).name, reason }));
  });
  return r;
}
