import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { HttpError } from '../http/errors';

const MAX_KEY = 255;

/**
 * The run-event id of an operator action sent with an Idempotency-Key. The
 * key is scoped to the run, the action and the caller: a retry of the same
 * request is recorded once, while the same key on another run, another
 * action or from another caller is a new request and acts (a global key used
 * to make those silently do nothing). The body is not compared: a retry is
 * expected to resend it unchanged. Key and caller are hashed, so the id has a
 * fixed length and two long keys never collide on a shared prefix.
 */
export function actionEventId(
  req: Request,
  scope: { runId: string; action: string; actor: string },
): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > MAX_KEY)
    throw new HttpError(
      'invalid_input',
      `Idempotency-Key must be 1-${MAX_KEY} characters: send a fresh UUID per action`,
    );
  const digest = createHash('sha256').update(`${scope.actor}\n${key}`, 'utf8').digest('base64url');
  return `api:${scope.runId}:${scope.action}:${digest}`;
}
