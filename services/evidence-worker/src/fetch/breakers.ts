import CircuitBreaker from 'opossum';
import type { RedisClient } from '@rayvault/shared';
import { breakersKey, type BreakerRecord } from '@rayvault/shared';
import type { Logger } from 'pino';
import { isSourceFetchError, SourceFetchError } from './source-fetch-error';

export type BreakerOptions = {
  redis: RedisClient;
  prefix: string;
  log: Logger;
  cooldownMs: number;
  volumeThreshold: number;
};

type Circuit = CircuitBreaker<[() => Promise<unknown>], unknown>;

/** A host's record before anything happened to it. */
function freshRecord(host: string, cooldownMs: number): BreakerRecord {
  return {
    source: host,
    operation: 'fetch',
    state: 'closed',
    opened_at: null,
    cooldown_ms: cooldownMs,
    failures: 0,
    reason: null,
    last_error: null,
    last_failure_at: null,
    last_success_at: null,
    updated_at: '',
  };
}

/** A circuit for `host` that runs whatever it is fired with. */
function newCircuit(host: string, o: BreakerOptions): Circuit {
  return new CircuitBreaker((fn: () => Promise<unknown>) => fn(), {
    name: host,
    timeout: false,
    resetTimeout: o.cooldownMs,
    volumeThreshold: o.volumeThreshold,
    errorThresholdPercentage: 50,
    rollingCountTimeout: Math.max(60_000, o.cooldownMs),
    rollingCountBuckets: 10,
    // A 404 or a shutdown says nothing about the host's health.
    errorFilter: (err: unknown) => !(isSourceFetchError(err) && err.retryable),
  });
}

function logOpened(o: BreakerOptions, host: string, r: BreakerRecord | undefined): void {
  o.log.warn(
    {
      event: 'ingestion_circuit_open',
      source: host,
      operation: 'fetch',
      cooldownMs: o.cooldownMs,
      reason: r?.reason,
      last_error: r?.last_error,
    },
    `ingestion_circuit_open: ${host} refused for ${o.cooldownMs} ms`,
  );
}

/** The transient error of a refused fetch: how much cooldown is left and what failed last. */
function circuitOpenError(
  host: string,
  r: BreakerRecord | undefined,
  cooldownMs: number,
  cause: unknown,
): SourceFetchError {
  const left = r?.opened_at ? Math.max(0, Date.parse(r.opened_at) + cooldownMs - Date.now()) : cooldownMs;
  return new SourceFetchError(
    'circuit_open',
    `circuit open for ${host}: ${Math.ceil(left / 1000)} s of cooldown left (last error: ${r?.last_error ?? 'unknown'})`,
    true,
    { cause },
  );
}

/**
 * A circuit breaker (opossum) per source host. Only transient failures count
 * towards opening it; an open circuit refuses at once until its cooldown
 * ends, then lets one trial request through. State changes and failures are
 * written to Redis for the health view (best effort: never blocks a fetch).
 */
export function createBreakers(o: BreakerOptions) {
  const circuits = new Map<string, Circuit>();
  const records = new Map<string, BreakerRecord>();

  const save = (host: string, change: Partial<BreakerRecord>) => {
    const prev = records.get(host) ?? freshRecord(host, o.cooldownMs);
    const next: BreakerRecord = { ...prev, ...change, updated_at: new Date().toISOString() };
    records.set(host, next);
    o.redis
      .hset(breakersKey(o.prefix), host, JSON.stringify(next))
      .catch((err) => o.log.debug({ err, host }, 'breaker state not saved'));
  };

  const circuitOf = (host: string) => {
    let c = circuits.get(host);
    if (c) return c;
    c = newCircuit(host, o);
    // Emitted before 'open', so the log line of an opening circuit names the failure that opened it.
    c.on('failure', (err: Error) =>
      save(host, {
        failures: (records.get(host)?.failures ?? 0) + 1,
        reason: isSourceFetchError(err) ? err.reason : null,
        last_error: err.message,
        last_failure_at: new Date().toISOString(),
      }),
    );
    c.on('open', () => {
      logOpened(o, host, records.get(host));
      save(host, { state: 'open', opened_at: new Date().toISOString() });
    });
    c.on('halfOpen', () => save(host, { state: 'half_open' }));
    c.on('close', () => {
      o.log.info({ event: 'ingestion_circuit_closed', source: host }, `${host} answers again: circuit closed`);
      save(host, { state: 'closed', opened_at: null, failures: 0 });
    });
    circuits.set(host, c);
    return c;
  };

  return {
    /** Runs `fn` through the host's circuit; an open circuit rejects with a transient `circuit_open` error. */
    async fire<T>(host: string, fn: () => Promise<T>): Promise<T> {
      const c = circuitOf(host);
      try {
        const result = (await c.fire(fn)) as T;
        save(host, { last_success_at: new Date().toISOString() });
        return result;
      } catch (err) {
        if ((err as { code?: string }).code === 'EOPENBREAKER') {
          throw circuitOpenError(host, records.get(host), o.cooldownMs, err);
        }
        throw err;
      }
    },
    shutdown() {
      for (const c of circuits.values()) c.shutdown();
      circuits.clear();
    },
  };
}
export type Breakers = ReturnType<typeof createBreakers>;
