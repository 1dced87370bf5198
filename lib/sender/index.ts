export type { CachedCapabilities } from './capabilities-cache.js';
export { IScheduleClient, type IScheduleClientOptions, type SendOptions } from './client.js';
export type { Receiver } from './discovery.js';
export type { Outcome, RecipientResult } from './results.js';
