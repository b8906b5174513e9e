import type { RequestHandler, Response } from 'express';
import { ipKeyGenerator, MemoryStore, rateLimit } from 'express-rate-limit';
import { HttpError } from './errors';

/** Set on a request whose token (bearer or /login) was unknown, revoked or malformed: it counts as a guess. */
export function markTokenRejected(res: Response): void {
  res.locals.tokenRejected = true;
}

/**
 * Called once a request's credential is known good: it stops counting as a
 * possible guess now, not when it ends — a live stream (the dashboard's
 * server-sent events) never ends and would otherwise hold a place forever.
 */
export function markTokenAccepted(res: Response): void {
  (res.locals.releaseTokenGuess as (() => void) | undefined)?.();
}

/** Every request from one client (req.ip, so as OPS_TRUST_PROXY resolves it), on every route. */
export function requestLimiter(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: 'requests',
    handler: (_req, _res, next) =>
      next(
        new HttpError(
          'rate_limited',
          `more than ${perMinute} requests a minute from this address: slow down and retry after the Retry-After seconds`,
        ),
      ),
  });
}

/**
 * Failed token attempts from one client, on every route: a guesser spreading
 * its tries over routes with a generous limit still gets 429. Only rejected
 * tokens count (a request in flight counts until it ends), so a client with a
 * good token is never slowed by this, and another client is not affected.
 */
export function tokenGuessLimiter(perMinute: number): RequestHandler {
  const store = new MemoryStore();
  const key = (ip: string | undefined) => ipKeyGenerator(ip ?? '');
  const limiter = rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: 'failed-tokens',
    store,
    // The same key the default would make (ipKeyGenerator), spelled out so markTokenAccepted can release it.
    keyGenerator: (req) => key(req.ip),
    validate: { keyGeneratorIpFallback: false },
    skipSuccessfulRequests: true,
    // Released early (markTokenAccepted) counts as not successful here, so it is not taken off twice.
    requestWasSuccessful: (_req, res) => res.locals.tokenRejected !== true && res.locals.tokenGuessReleased !== true,
    handler: (_req, _res, next) =>
      next(
        new HttpError(
          'rate_limited',
          `more than ${perMinute} failed token attempts a minute from this address: check the token, then retry after the Retry-After seconds`,
        ),
      ),
  });
  return (req, res, next) => {
    res.locals.releaseTokenGuess = () => {
      if (res.locals.tokenGuessReleased || res.locals.tokenRejected) return;
      res.locals.tokenGuessReleased = true;
      void store.decrement(key(req.ip));
    };
    return limiter(req, res, next);
  };
}
