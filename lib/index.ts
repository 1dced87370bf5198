export * from './dkim/index.js';
export { DnsClient, DnsError, type DnsOptions, type SrvRecord } from './dns/client.js';
export { isDomainName, splitTxtStrings } from './dns/names.js';
export { orderSrv } from './dns/srv.js';
export {
  IScheduleError,
  type IScheduleErrorCode,
  type IScheduleErrorDetails,
  VerificationError,
  type VerificationFailure,
} from './errors.js';
export { parseWireRequest, type WireRequest } from './http/wire.js';
export * from './itip/index.js';
export { AddressPolicy } from './net/address-policy.js';
export * from './receiver/index.js';
export * from './sender/index.js';
export * from './server/index.js';
export * from './store/index.js';
export { type Certificate, type CertificateOptions, createSelfSignedCertificate } from './tls/certificate.js';
export * from './xml/index.js';
