import { z } from 'zod';

/** Why an operator acted; recorded with who and when. */
export const reason = z
  .string({ error: 'reason is required: say why' })
  .trim()
  .min(1, 'reason is required: say why')
  .max(500);
export const reasonBody = z.object({ reason });
