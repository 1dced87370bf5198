/**
 * Limits per peer (rate-limiter-flexible): per client address before any signature work, and per
 * verified signing domain after it, in this process or shared through Redis. Over a limit the
 * request is answered 503 with Retry-After, which every iSchedule sender understands (429 is
 * not in the draft), with a description naming the limit.
 */
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { registrableDomain } from '../dns/names.js';
import { IScheduleError } from '../errors.js';
import type { RedisClientLike } from '../stores/redis-client.js';
import type { IncomingRequest } from './handler.js';

/** `points` requests per `duration` seconds. */
export interface RateLimit {
  readonly points: number;
  readonly duration: number;
}

/** Options of the receiver's `rateLimits`. */
export interface RateLimitOptions {
  /** Requests per client address, counted before any signature work (default 600 per 60 s); false: none. */
  readonly perAddress?: RateLimit | false;
  /** Verified requests per signing domain, by registrable domain (default 1200 per 60 s); false: none. */
  readonly perDomain?: RateLimit | false;
  /** Limits of particular signing domains (trusted partners get more), by registrable domain. */
  readonly domains?: Readonly<Record<string, RateLimit>>;
  /**
   * Counters shared by every process through this ioredis client (a RedisReplayStore's `client`
   * will do); default: in this process. When Redis fails, counting goes on in memory.
   */
  readonly redis?: RedisClientLike;
  /** The client's address (default the socket's; behind a proxy, read the header it sets). */
  readonly clientAddress?: (request: IncomingRequest) => string | undefined;
}

export const DEFAULT_RATE_LIMITS = {
  perAddress: { points: 600, duration: 60 },
  perDomain: { points: 1200, duration: 60 },
} as const;

interface Limiter {
  readonly limiter: RateLimiterAbstract;
  readonly limit: RateLimit;
  /** The option that set it, for the peer's description. */
  readonly name: string;
  /** perAddress or perDomain, for logs and metrics. */
  readonly kind: 'perAddress' | 'perDomain';
}

/** The receiver's limits, made once from its options. */
export class RateLimits {
  readonly #address: Limiter | undefined;
  readonly #domain: Limiter | undefined;
  readonly #domains = new Map<string, Limiter>();
  readonly #clientAddress: (request: IncomingRequest) => string | undefined;

  constructor(options: RateLimitOptions = {}, prefix = 'ischedule:limit:') {
    const make = (name: string, limit: RateLimit | false | undefined, key: string): Limiter | undefined =>
      limit
        ? {
            limiter: limiter(limit, `${prefix}${key}`, options.redis),
            limit,
            name,
            kind: key === 'address' ? 'perAddress' : 'perDomain',
          }
        : undefined;
    this.#address = make(
      'rateLimits.perAddress',
      options.perAddress ?? DEFAULT_RATE_LIMITS.perAddress,
      'address',
    );
    this.#domain = make('rateLimits.perDomain', options.perDomain ?? DEFAULT_RATE_LIMITS.perDomain, 'domain');
    for (const [domain, limit] of Object.entries(options.domains ?? {})) {
      const key = registrableDomain(domain) ?? domain.toLowerCase();
      this.#domains.set(key, make(`rateLimits.domains["${domain}"]`, limit, `domain:${key}`)!);
    }
    this.#clientAddress = options.clientAddress ?? ((request) => request.socket?.remoteAddress);
  }

  /**
   * Before any work: the client's address. Undefined when there is nothing to wait for (no
   * such limit, or no address), so that a receiver without it pays no await.
   */
  checkAddress(request: IncomingRequest): Promise<void> | undefined {
    if (!this.#address) return undefined;
    const address = this.#clientAddress(request);
    return address ? consume(this.#address, address, 'this address') : undefined;
  }

  /** After verification: the signing domain, under its own limit if it has one (undefined: none). */
  checkDomain(domain: string): Promise<void> | undefined {
    const key = registrableDomain(domain) ?? domain;
    const limiter = this.#domains.get(key) ?? this.#domain;
    return limiter ? consume(limiter, key, domain) : undefined;
  }
}

function limiter(
  limit: RateLimit,
  keyPrefix: string,
  redis: RedisClientLike | undefined,
): RateLimiterAbstract {
  const options = { points: limit.points, duration: limit.duration, keyPrefix };
  if (!redis) return new RateLimiterMemory(options);
  // Redis unreachable: go on counting in this process rather than refuse or admit everyone.
  return new RateLimiterRedis({
    ...options,
    storeClient: redis,
    insuranceLimiter: new RateLimiterMemory(options),
  });
}

async function consume({ limiter, limit, name, kind }: Limiter, key: string, who: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    throw new IScheduleError(
      'service-unavailable',
      `too many requests from ${who} (${name}: ${limit.points} per ${limit.duration} s); retry in ${retryAfter} s`,
      503,
      { retryAfter, limit: kind, detail: `limit ${kind}` },
    );
  }
}
