export { IScheduleMetrics, type MetricsOptions, type RequestOutcome } from '../metrics.js';
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
  type RedisClientLike,
  RedisReplayStore,
  type RedisReplayStoreOptions,
} from './redis-replay-store.js';
export {
  MemoryReplayStore,
  type MemoryReplayStoreOptions,
  type RecipientRecord,
  type RecordedOutcome,
  type ReplayContext,
  type ReplayStore,
  ReplayStoreFullError,
} from './replay-store.js';
