export { IScheduleMetrics, type MetricsOptions, type RequestOutcome } from '../metrics.js';
export { MemoryReplayStore, type MemoryReplayStoreOptions } from '../stores/memory-replay-store.js';
export type { RedisClientLike } from '../stores/redis-client.js';
export { RedisReplayStore, type RedisReplayStoreOptions } from '../stores/redis-replay-store.js';
export {
  createIScheduleHandler,
  createIScheduleRouter,
  type IncomingRequest,
  type IScheduleHandler,
  type OutgoingResponse,
} from './handler.js';
export { type KoaContextLike, koaMiddleware } from './koa.js';
export type {
  CapabilityOptions,
  DeliveryResult,
  IScheduleAdapter,
  IScheduleRouterOptions,
  LimitOptions,
  Logger,
  PolicyOptions,
} from './options.js';
export { DEFAULT_LIMITS, DEFAULT_SCHEDULING_MESSAGES } from './options.js';
export { DEFAULT_RATE_LIMITS, type RateLimit, type RateLimitOptions } from './rate-limits.js';
export {
  type RecipientRecord,
  type RecordedOutcome,
  type ReplayContext,
  type ReplayStore,
  ReplayStoreFullError,
} from './replay-store.js';
