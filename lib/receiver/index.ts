export type {
  CapabilityOptions,
  DeliveryResult,
  IScheduleAdapter,
  IScheduleRouterOptions,
  Logger,
  PolicyOptions,
} from './options.js';
export { DEFAULT_SCHEDULING_MESSAGES } from './options.js';
export { MemoryReplayStore, type MemoryReplayStoreOptions, type ReplayStore } from './replay-store.js';
export { createIScheduleRouter } from './router.js';
