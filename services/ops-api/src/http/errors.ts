import type { ErrorRequestHandler, RequestHandler } from 'express';
import {
  HTTP_STATUS_BY_CODE,
  isRayVaultError,
  maskSecrets,
  RayVaultError,
  type ErrorCode,
  type Logger,
} from '@rayvault/shared';

/** An error raised by the HTTP layer itself (auth, routing, limits); the code picks the status. */
export class HttpError extends RayVaultError {
  /** Only a rate limit or an unavailable dependency passes by asking again; the rest need a different request. */
  readonly retryable: boolean;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.retryable = HTTP_STATUS_BY_CODE[code] === 429 || HTTP_STATUS_BY_CODE[code] === 503;
  }
}

export type ErrorBody = { error: { code: ErrorCode; message: string } };

/** body-parser marks its errors with `type`; these are the client's fault. */
function fromBodyParser(err: { type?: string; message?: string }): HttpError | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return new HttpError('payload_too_large', 'request body too large: send at most the configured OPS_JSON_LIMIT');
    case 'entity.parse.failed':
      return new HttpError('bad_request', 'request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
    case 'request.aborted':
    case 'request.size.invalid':
      return new HttpError('bad_request', err.message ?? 'bad request body');
  }
  return undefined;
}

/**
 * Other client errors raised before our code runs carry a 4xx status: a path that is not valid percent-encoding, a body
 * that does not inflate.
 */
function fromClientError(err: { status?: unknown; message?: string }): HttpError | undefined {
  if (err instanceof URIError)
    return new HttpError('bad_request', 'the URL is not valid percent-encoding: check the id in the path');
  const status = typeof err.status === 'number' ? err.status : 0;
  if (status < 400 || status > 499) return undefined;
  return new HttpError(
    status === 413 ? 'payload_too_large' : 'bad_request',
    `unreadable request: ${err.message ?? 'bad request'}`,
  );
}

/** Every error leaves as `{error: {code, message}}` with the status of HTTP_STATUS_BY_CODE; never a stack. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const known =
      err instanceof HttpError ? err : (fromBodyParser(err) ?? (isRayVaultError(err) ? err : fromClientError(err)));
    const code: ErrorCode = known ? (known.code as ErrorCode) : 'internal';
    const status = HTTP_STATUS_BY_CODE[code];
    if (status >= 500) log.error({ err, method: req.method, path: req.path }, 'request failed');
    const message = known ? maskSecrets(known.message) : 'internal error: see the ops-api log';
    if (res.headersSent) return;
    res.status(status).json({ error: { code, message } } satisfies ErrorBody);
  };
}

export const notFound: RequestHandler = (req, _res, next) =>
  next(new HttpError('not_found', `no route ${req.method} ${req.path}`));
