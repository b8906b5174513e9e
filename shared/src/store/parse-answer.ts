import type { z } from 'zod';
import type { Rpc } from './types';

/**
 * Calls an SQL function and parses its answer: one that changed shape fails
 * here, naming the function, instead of as an `undefined` further on.
 */
export async function callParsed<S extends z.ZodType>(
  rpc: Rpc,
  fn: string,
  args: Record<string, unknown>,
  schema: S,
): Promise<z.output<S>> {
  const parsed = schema.safeParse(await rpc(fn, args));
  if (!parsed.success) {
    throw new Error(`${fn} answered in an unexpected shape: ${parsed.error.message}`, { cause: parsed.error });
  }
  return parsed.data;
}

/** `call(fn, args, schema)`: `callParsed` bound to one adapter, as each store uses it. */
export function parsedCall(rpc: Rpc) {
  return <S extends z.ZodType>(fn: string, args: Record<string, unknown>, schema: S): Promise<z.output<S>> =>
    callParsed(rpc, fn, args, schema);
}
export type ParsedCall = ReturnType<typeof parsedCall>;
