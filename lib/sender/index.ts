/** express-ischedule/sender: the client that signs and sends, without the receiver. */
export type { QueryMethod, SignatureAlgorithm, SigningKey } from '../dkim/index.js';
export type { DnsOptions, DnsResolver, SrvRecord } from '../dns/client.js';
export { DnsError } from '../dns/transport.js';
export {
  type ErrorCode,
  ExpressIScheduleError,
  IScheduleError,
  type IScheduleErrorCode,
  OptionsError,
  SetupError,
} from '../errors.js';
export { HttpError, type HttpErrorCode } from '../http/request.js';
export { XmlError } from '../xml/document.js';
export type { CachedCapabilities } from './capabilities-cache.js';
export { CapabilitiesError } from './capabilities-cache.js';
export { IScheduleClient, type IScheduleClientOptions, type SendOptions } from './client.js';
export type { Receiver } from './discovery.js';
export { RedirectError } from './exchange.js';
export type { Outcome, RecipientResult } from './results.js';
