import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { ApiRole, TokenOwner } from '@rayvault/shared';
import { HttpError } from '../http/errors';
import { markTokenAccepted, markTokenRejected } from '../http/rate-limits';
import type { Sessions } from './sessions';
import { hashToken, hasRole, type TokenResolver } from './tokens';

export const SESSION_COOKIE = 'rv_session';
export const CSRF_HEADER = 'x-csrf-token';
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export type Principal = TokenOwner & { via: 'bearer' | 'session'; csrf?: string };

/** Who made the request, if anyone; set by `identify`. */
export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

/** The principal of a route behind `requireRole`. */
export function actorOf(res: Response): Principal {
  const p = principalOf(res);
  if (!p) throw new HttpError('unauthorized', 'not authenticated');
  return p;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function sameOrigin(req: Request): boolean {
  if (req.get('sec-fetch-site') === 'same-origin') return true;
  const origin = req.get('origin');
  try {
    return !!origin && new URL(origin).host === req.get('host');
  } catch {
    return false;
  }
}

/**
 * Bearer tokens for scripts, a session cookie for browsers. A mutating request
 * made with the cookie must also prove it comes from our page: the CSRF token
 * in X-CSRF-Token (or, for Bull Board's own UI, a same-origin request).
 */
export function createAuth(resolve: TokenResolver, sessions: Sessions) {
  async function identifyRequest(req: Request): Promise<Principal | HttpError | undefined> {
    const header = req.get('authorization');
    if (header) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) return new HttpError('unauthorized', 'the Authorization header must be "Bearer <token>"');
      const owner = await resolve(hashToken(m[1]));
      return owner ? { ...owner, via: 'bearer' } : new HttpError('unauthorized', 'unknown or revoked token');
    }
    const sid = req.cookies?.[SESSION_COOKIE] as string | undefined;
    if (!sid) return undefined;
    const session = await sessions.get(sid);
    const owner = session && (await resolve(session.tokenHash));
    if (!session || !owner)
      return new HttpError('unauthorized', 'session expired or its token was revoked: log in again');
    return { ...owner, via: 'session', csrf: session.csrf };
  }

  /** `quiet`: a token that cannot be checked (database down) counts as no token, for the health endpoints. */
  const identify =
    (quiet = false): RequestHandler =>
    async (req, res, next) => {
      try {
        const who = await identifyRequest(req);
        if (who instanceof HttpError) {
          res.locals.authError = who;
          if (req.get('authorization')) markTokenRejected(res); // a stale cookie is not a guess; a wrong bearer token is
        } else {
          res.locals.principal = who;
          if (who) markTokenAccepted(res);
        }
      } catch (err) {
        if (!quiet) throw err;
      }
      next();
    };

  function requireRole(role: ApiRole, csrf: 'token' | 'same-origin' = 'token'): RequestHandler {
    return (req, res, next) => {
      const p = principalOf(res);
      if (!p)
        throw (
          (res.locals.authError as HttpError | undefined) ??
          new HttpError('unauthorized', 'log in at / or send Authorization: Bearer <token>')
        );
      if (!hasRole(p.role, role))
        throw new HttpError('forbidden', `this needs the ${role} role; ${p.name} is ${p.role}`);
      if (p.via === 'session' && MUTATING.has(req.method)) {
        const sent = req.get(CSRF_HEADER);
        const ok = csrf === 'same-origin' ? sameOrigin(req) : !!sent && !!p.csrf && sameText(sent, p.csrf);
        if (!ok)
          throw new HttpError(
            'forbidden',
            `cookie-authenticated ${req.method} needs the ${CSRF_HEADER} header from /login`,
          );
      }
      next();
    };
  }

  return { identify, requireRole };
}
export type Auth = ReturnType<typeof createAuth>;
