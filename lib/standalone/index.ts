/**
 * express-ischedule/standalone: the standalone server `ischedule serve` runs (node:https, a
 * filesystem inbox, the config file), for hosts that embed it.
 */

export { OptionsError } from '../errors.js';
export {
  type Certificate,
  type CertificateOptions,
  createSelfSignedCertificate,
} from '../tls/certificate.js';
export { ConfigError, loadConfig, type OutboxConfig, parseConfig, type ServerConfig } from './config.js';
export {
  type FilesystemAdapterOptions,
  type FilesystemUser,
  filesystemAdapter,
  readBusyPeriods,
  userDirectory,
  writeInbox,
} from './filesystem-adapter.js';
export { type PublishOptions, recordsToPublish } from './records.js';
export { type RunningServer, type StartOptions, startServer } from './server.js';
