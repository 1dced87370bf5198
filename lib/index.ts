/**
 * express-ischedule: the receiver (a handler for Express, Koa, node:http and http2), the client
 * that sends, the CalDAV gateway (an adapter over any CalDAV server), the errors both raise, and what a host needs to configure them. Lower-level parts
 * have their own entries: `express-ischedule/dkim`, `/sender`, `/standalone`, `/itip`, `/xml`.
 */
export { DavError } from './adapters/caldav/dav-client.js';
export {
  type CaldavAdapterOptions,
  type CaldavGateway,
  type CaldavGatewayOptions,
  type CaldavUser,
  caldavAdapter,
  caldavGateway,
} from './adapters/caldav/gateway.js';
export {
  chainKeys,
  type DnsKeysOptions,
  type DnsTxtRecord,
  defaultKeys,
  dnsKeys,
  dnsTxtRecord,
  type GeneratedKeyPair,
  type GenerateKeyOptions,
  generateSigningKey,
  type KeyQuery,
  type KeyRecordOptions,
  type KeyResolver,
  keyRecord,
  privateExchangeKeys,
  type QueryMethod,
  type SignatureAlgorithm,
  type SigningKey,
  type WellKnownKeysOptions,
  wellKnownKeys,
} from './dkim/index.js';
export { KeyLookupBusyError, KeyLookupError } from './dkim/resolvers.js';
export type { DnsOptions, DnsResolver, SrvRecord } from './dns/client.js';
export { DnsError } from './dns/transport.js';
export {
  type ErrorCode,
  ExpressIScheduleError,
  IScheduleError,
  type IScheduleErrorCode,
  type IScheduleErrorDetails,
  OptionsError,
  type RefusingLimit,
  SetupError,
  type SetupErrorCode,
  VerificationError,
  type VerificationFailure,
} from './errors.js';
export { HttpError, type HttpErrorCode } from './http/request.js';
export type { BusyPeriod, BusyType, ScheduleMessage } from './itip/index.js';
export * from './outbox/index.js';
export * from './receiver/index.js';
export * from './sender/index.js';
export { XmlError } from './xml/document.js';
