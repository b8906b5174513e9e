import type { Logger } from 'pino';

const noop = () => undefined;

/**
 * `parent.child(bindings)`, made on first use at an enabled level. Every job
 * gets its own logger, but at the usual level most jobs log nothing, and
 * pino's child() serialises (and redacts) its bindings each time it is made.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  return new Proxy({} as Logger, {
    get(_target, key) {
      if (!child && typeof key === 'string' && key in parent.levels.values && !parent.isLevelEnabled(key)) return noop;
      child ??= parent.child(bindings);
      const value = Reflect.get(child, key, child) as unknown;
      return typeof value === 'function' ? value.bind(child) : value;
    },
  });
}
