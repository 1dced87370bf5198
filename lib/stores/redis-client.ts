/**
 * The ioredis client every Redis-backed part shares (ioredis, the client BullMQ uses too, is an
 * optional peer dependency, loaded only when a Redis URL is configured).
 */
import { createRequire } from 'node:module';
import { SetupError } from '../errors.js';
import type { Logger } from '../receiver/options.js';

/** The part of an ioredis client (Redis or Cluster) the stores use. */
export interface RedisClientLike {
  call(command: string, ...args: string[]): Promise<unknown>;
  quit(): Promise<unknown>;
}

type RedisConstructor = new (
  url: string,
  options: Record<string, unknown>,
) => RedisClientLike & {
  on(event: 'error' | 'ready', listener: (error?: Error) => void): unknown;
};

/** ioredis's client class, loaded on first need; else a SetupError saying `missing`. */
export function loadIoredis<Constructor>(missing: string): Constructor {
  try {
    const loaded = createRequire(import.meta.url)('ioredis') as { default?: Constructor };
    return (loaded.default ?? loaded) as Constructor;
  } catch {
    throw new SetupError('no-redis', missing);
  }
}

/**
 * An ioredis client that never holds a command past `commandTimeout` and reconnects by itself;
 * `what` names its user in the log lines of an outage.
 */
export function connect(
  url: string,
  { commandTimeout, logger, what }: { commandTimeout: number; logger: Logger; what: string },
): RedisClientLike {
  const Redis = loadIoredis<RedisConstructor>(`a ${what} needs the ioredis package: npm install ioredis`);
  const client = new Redis(url, {
    commandTimeout,
    connectTimeout: Math.max(commandTimeout, 2000),
    // Commands wait for a reconnection up to commandTimeout, then fail: the request gets a 503.
    maxRetriesPerRequest: 1,
    // Commands of concurrent requests leave in one write: fewer system calls on both ends.
    enableAutoPipelining: true,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
  });
  let down = false;
  client.on('error', (error) => {
    if (down) return;
    down = true;
    logger.warn?.(`${what} unreachable: requests are answered 503 until it is back`, {
      error: error?.message,
    });
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info?.(`${what} reachable again`);
  });
  return client;
}
