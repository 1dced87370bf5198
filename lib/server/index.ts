export { ConfigError, loadConfig, parseConfig, type ServerConfig } from './config.js';
export { type PublishOptions, recordsToPublish } from './records.js';
export { SAMPLE_DOMAIN, type SampleSetup, sampleSetup, VISITOR } from './sample.js';
export { type RunningServer, startServer } from './standalone.js';
