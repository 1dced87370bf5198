/**
 * Messages per recipient domain per time (the outbox's `perDomainRate`), counted with
 * rate-limiter-flexible: in this process for the embedded engine, in Redis for BullMQ so that
 * every process sending to a domain shares its budget.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimit } from '../receiver/rate-limits.js';

/** Milliseconds to wait before sending to `domain` (0: go now, and it is counted). */
export type DomainRate = (domain: string) => Promise<number>;

export function domainRate(rate: RateLimit, redis?: unknown): DomainRate {
  const options = { points: rate.points, duration: rate.duration, keyPrefix: 'ischedule-outbox-domain' };
  const limiter = redis
    ? new RateLimiterRedis({
        ...options,
        storeClient: redis,
        insuranceLimiter: new RateLimiterMemory(options),
      })
    : new RateLimiterMemory(options);
  return async (domain) => {
    try {
      await limiter.consume(domain.toLowerCase());
      return 0;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return Math.max(1, rejection.msBeforeNext);
      throw rejection;
    }
  };
}
