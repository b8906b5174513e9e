import type { RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { HttpError } from './errors';

/** Set on a request whose token (bearer or /login) was unknown, revoked or malformed: it counts as a guess. */
export function markTokenRejected(res: Response): void {
  res.locals.tokenRejected = true;
}

/** Every request from one client (req.ip, so as OPS_TRUST_PROXY resolves it), on every route. */
export function requestLimiter(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000, limit: perMinute, standardHeaders: 'draft-8', legacyHeaders: false, identifier: 'requests',
    handler: (_req, _res, next) => next(new HttpError('rate_limited', `more than ${perMinute} requests a minute from this address: slow down and retry after the Retry-After seconds`)),
  });
}

/**
 * Failed token attempts from one client, on every route: a guesser spreading
 * its tries over routes with a generous limit still gets 429. Only rejected
 * tokens count (a request in flight counts until it ends), so a client with a
 * good token is never slowed by this, and another client is not affected.
 */
export function tokenGuessLimiter(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000, limit: perMinute, standardHeaders: 'draft-8', legacyHeaders: false, identifier: 'failed-tokens',
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.locals.tokenRejected !== true,
    handler: (_req, _res, next) => next(new HttpError('rate_limited', `more than ${perMinute} failed token attempts a minute from this address: check the token, then retry after the Retry-After seconds`)),
  });
}
