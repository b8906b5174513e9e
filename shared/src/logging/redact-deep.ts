import { isSecretKey, maskSecrets } from './secret-masks';

export const CENSOR = '[redacted]';
/** Deeper than this a log field is summarised: nobody reads it, and the walk must stay cheap. */
const MAX_DEPTH = 8;

/** An error as a log line shows it: kind, message, code and its causes, masked. */
export function serializeError(e: Error, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { type: e.name, message: maskSecrets(String(e.message)) };
  const code = (e as { code?: unknown }).code;
  if (code !== undefined) out.code = redactDeep(code, depth + 1);
  if (e.cause !== undefined && depth < MAX_DEPTH) out.cause = redactDeep(e.cause, depth + 1);
  return out;
}

/**
 * A copy of `value` fit for a log line, at any depth: fields named like
 * credentials replaced by `[redacted]`, credentials inside strings masked by
 * shape, errors reduced to type/message/code/cause. Objects and arrays with
 * nothing to hide are returned as they are (no copy), so the usual small log
 * object costs one pass over its fields.
 */
export function redactDeep(value: unknown, depth = 0, seen?: WeakSet<object>): unknown {
  if (typeof value === 'string') return maskSecrets(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return serializeError(value, depth);
  if (depth >= MAX_DEPTH) return '[too deep]';
  const visited = seen ?? new WeakSet<object>();
  if (visited.has(value)) return '[circular]';
  visited.add(value);
  try {
    return Array.isArray(value) ? redactArray(value, depth, visited) : redactObject(value, depth, visited);
  } finally {
    // Only ancestors count: the same object met again on another branch is not a cycle.
    visited.delete(value);
  }
}

function redactArray(value: unknown[], depth: number, visited: WeakSet<object>): unknown[] {
  let copy: unknown[] | undefined;
  value.forEach((item, i) => {
    const next = redactDeep(item, depth + 1, visited);
    if (next !== item) (copy ??= value.slice())[i] = next;
  });
  return copy ?? value;
}

function redactObject(value: object, depth: number, visited: WeakSet<object>): unknown {
  // Buffers, dates, maps and class instances serialise their own way (toJSON); only plain objects are walked.
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    const next =
      isSecretKey(key) && item !== undefined && item !== null && item !== ''
        ? CENSOR
        : redactDeep(item, depth + 1, visited);
    if (next !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = next;
  }
  return copy ?? value;
}
