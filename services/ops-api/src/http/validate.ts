import { InvalidInputError } from '@rayvault/shared';
import type { z } from 'zod';

/** Parse a body or query with zod; every problem is listed in one 422. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
  throw new InvalidInputError(`invalid input: ${problems.join('; ')}`);
}
