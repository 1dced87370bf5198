/**
 * A ReplayStore shared by every process and host that receives for the same domains: one atomic
 * `SET key 1 NX PXAT expiresAt` per request in Redis. ioredis (the client BullMQ uses too) is an
 * optional peer dependency, loaded only when this store is made.
 */
import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { SetupError } from '../errors.js';
import type { Logger } from '../receiver/options.js';
import type {
  RecipientRecord,
  RecordedOutcome,
  ReplayContext,
  ReplayStore,
} from '../receiver/replay-store.js';
import { amount, checkOptions, fn, methods, redisUrl } from '../validation.js';
import { connect, type RedisClientLike } from './redis-client.js';

/** Options of RedisReplayStore: a `url` (the store makes and owns its client) or your `client`. */
export interface RedisReplayStoreOptions {
  /** `redis://[:password@]host:port/db` (or `rediss://` for TLS). */
  readonly url?: string;
  /** An ioredis client you made (and close); `commandTimeout` is then yours to set. */
  readonly client?: RedisClientLike;
  /** Prefix of every key, to share one Redis with other applications (default `ischedule:`). */
  readonly prefix?: string;
  /**
   * Milliseconds a command may take, waiting for a reconnection included (default 1000): past it
   * the request is answered 503, never held longer.
   */
  readonly commandTimeout?: number;
  /** Told once per burst when Redis cannot be reached, and when it is back. */
  readonly logger?: Logger;
}

const schema = v.strictObject(
  {
    url: v.optional(redisUrl),
    client: v.optional(
      methods({ call: fn('a function'), quit: fn('a function') }, 'an ioredis client (call, quit)'),
    ),
    prefix: v.optional(v.string('a string')),
    commandTimeout: v.optional(amount('a positive number of milliseconds', 1)),
    logger: v.optional(v.looseObject({}, 'a logger { info, warn, error }')),
  },
  'an object',
);

/** Redis replay memory for several receivers: what one has accepted, every other refuses. */
export class RedisReplayStore implements ReplayStore {
  readonly #client: RedisClientLike;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #recordPrefix: string;

  constructor(options: RedisReplayStoreOptions) {
    checkOptions(schema, options, 'RedisReplayStore options');
    if ((options.url === undefined) === (options.client === undefined))
      throw new SetupError('no-redis', 'RedisReplayStore needs either url or client');
    this.#prefix = `${options.prefix ?? 'ischedule:'}replay:`;
    this.#recordPrefix = `${options.prefix ?? 'ischedule:'}delivery:`;
    this.#owned = options.client === undefined;
    this.#client =
      options.client ??
      connect(options.url!, {
        commandTimeout: options.commandTimeout ?? 1000,
        logger: options.logger ?? {},
        what: 'Redis replay store',
      });
  }

  async remember(key: string, expiresAt: number, _context?: ReplayContext): Promise<boolean> {
    // Keys of one length whatever the signature's; a digest also keeps them printable.
    const digest = createHash('sha256').update(key).digest('base64url');
    const answer = await this.#client.call(
      'SET',
      this.#prefix + digest,
      '1',
      'NX',
      'PXAT',
      String(Math.ceil(expiresAt)),
    );
    return answer === 'OK';
  }

  async claim(key: string, holdUntil: number, _context?: ReplayContext): Promise<RecipientRecord> {
    const found = await this.#script(CLAIM, this.#recordKey(key), String(Math.ceil(holdUntil)));
    if (found === null || found === undefined) return { held: true };
    if (found === PENDING) return { held: false };
    try {
      return { held: false, outcome: JSON.parse(String(found)) as RecordedOutcome };
    } catch {
      return { held: false };
    }
  }

  async settle(key: string, outcome: RecordedOutcome | undefined, expiresAt: number): Promise<void> {
    if (!outcome) {
      await this.#client.call('DEL', this.#recordKey(key));
      return;
    }
    await this.#client.call(
      'SET',
      this.#recordKey(key),
      JSON.stringify(outcome),
      'PXAT',
      String(Math.ceil(expiresAt)),
    );
  }

  /** Runs a script by its digest; Redis is sent the text only when it does not have it yet. */
  async #script(script: Script, key: string, ...args: string[]): Promise<unknown> {
    try {
      return await this.#client.call('EVALSHA', script.sha1, '1', key, ...args);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      return this.#client.call('EVAL', script.text, '1', key, ...args);
    }
  }

  #recordKey(key: string): string {
    return `${this.#recordPrefix}${createHash('sha256').update(key).digest('base64url')}`;
  }

  /** The ioredis client in use (to share it, e.g. as rateLimits.redis). */
  get client(): RedisClientLike {
    return this.#client;
  }

  /** Closes the connection the store made from `url` (a client you gave stays yours). */
  async close(): Promise<void> {
    if (this.#owned) await this.#client.quit().catch(() => undefined);
  }
}

interface Script {
  readonly text: string;
  readonly sha1: string;
}
const script = (text: string): Script => ({ text, sha1: createHash('sha1').update(text).digest('hex') });

const PENDING = 'pending';
/** Hold the key if nobody does (nil back), else answer what it holds: one atomic step. */
const CLAIM = script(`if redis.call('SET', KEYS[1], '${PENDING}', 'NX', 'PXAT', ARGV[1]) then return nil end
return redis.call('GET', KEYS[1])`);
