import { Router, type CookieOptions, type Request } from 'express';
import { z } from 'zod';
import { API_ROLES, type OpsAudit } from '@rayvault/shared';
import { isLoopback } from '../http/client-address';
import { HttpError } from '../http/errors';
import { markTokenRejected } from '../http/rate-limits';
import { parseInput } from '../http/validate';
import { actorOf, SESSION_COOKIE, type Auth } from './authenticate';
import type { Sessions } from './sessions';
import { hashToken, type TokenResolver, type TokenStore } from './tokens';

type Deps = {
  auth: Auth;
  sessions: Sessions;
  resolve: TokenResolver;
  tokens: TokenStore;
  audit: OpsAudit;
  sessionTtlMs: number;
};

const loginBody = z.object({ token: z.string().min(1).max(512) });
const tokenBody = z.object({
  name: z.string().regex(/^[A-Za-z0-9@._-]{1,64}$/, '1-64 letters, digits, @ . _ -'),
  role: z.enum(API_ROLES),
});
const revokeBody = z.object({ reason: z.string().trim().min(1).max(500).optional() });

/**
 * Plain HTTP from this machine is the only place a session cookie may travel without TLS (req.secure and req.ip follow
 * OPS_TRUST_PROXY).
 */
const plainLocal = (req: Request) => !req.secure && isLoopback(req.ip);
const cookie = (req: Request): CookieOptions => ({
  httpOnly: true,
  sameSite: 'strict',
  secure: !plainLocal(req),
  path: '/',
});

/**
 * POST /login and /logout for browsers; /api/me; token management for admins. Wrong tokens count towards
 * OPS_LOGIN_RATE_LIMIT_PER_MIN.
 */
export function authRoutes(d: Deps): Router {
  const r = Router();

  r.post('/login', async (req, res) => {
    const { token } = parseInput(loginBody, req.body);
    const hash = hashToken(token);
    const owner = await d.resolve(hash);
    if (!owner) {
      markTokenRejected(res);
      throw new HttpError('unauthorized', 'unknown or revoked token');
    }
    const { sid, csrf } = await d.sessions.create(hash);
    await d.audit.record({ type: 'login', actor: owner.name, payload: { role: owner.role, ip: req.ip } });
    res.cookie(SESSION_COOKIE, sid, { ...cookie(req), maxAge: d.sessionTtlMs });
    const warning =
      !req.secure && !plainLocal(req)
        ? 'this connection is plain HTTP, so the browser keeps the Secure session cookie only over HTTPS: serve the API behind TLS (set OPS_TRUST_PROXY for the proxy) or open it from 127.0.0.1'
        : undefined;
    res.json({ name: owner.name, role: owner.role, csrf, ...(warning ? { warning } : {}) });
  });

  r.post('/logout', async (req, res) => {
    const sid = req.cookies?.[SESSION_COOKIE] as string | undefined;
    if (sid) await d.sessions.destroy(sid);
    res.clearCookie(SESSION_COOKIE, cookie(req));
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
