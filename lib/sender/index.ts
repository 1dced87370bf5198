/** express-ischedule/sender: the client that signs and sends, without the receiver. */
export type { QueryMethod, SignatureAlgorithm, SigningKey } from '../dkim/index.js';
export type { DnsOptions, DnsResolver, SrvRecord } from '../dns/client.js';
export { IScheduleError, type IScheduleErrorCode, VerificationError } from '../errors.js';
export type { CachedCapabilities } from './capabilities-cache.js';
export { IScheduleClient, type IScheduleClientOptions, type SendOptions } from './client.js';
export type { Receiver } from './discovery.js';
export type { Outcome, RecipientResult } from './results.js';
