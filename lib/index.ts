export * from './dkim/index.js';
export { DnsClient, DnsError, type DnsOptions, type SrvRecord } from './dns/client.js';
export { orderSrv } from './dns/srv.js';
export {
  IScheduleError,
  type IScheduleErrorCode,
  VerificationError,
  type VerificationFailure,
} from './errors.js';
