/**
 * The standalone server's CalDAV gateway (config `caldav`): one follower, with its state under
 * `<dataDir>/caldav`, in the process that runs the outbox; every process receiving gets the
 * inbound adapter, which keeps no state on disk (so that workers never write the follower's file).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  type CaldavAdapterOptions,
  type CaldavGateway,
  type CaldavUser,
  caldavAdapter,
  caldavGateway,
} from '../adapters/caldav/gateway.js';
import type { IScheduleAdapter, Logger } from '../receiver/options.js';
import type { ServerConfig } from './config.js';

function adapterOptions(config: ServerConfig, logger: Logger): CaldavAdapterOptions {
  const caldav = config.caldav!;
  return {
    url: caldav.url,
    ...(caldav.username !== undefined && { username: caldav.username, password: caldav.password! }),
    ...(caldav.users && { users: caldav.users }),
    ...(caldav.ca && { ca: readFileSync(caldav.ca, 'utf8') }),
    ...(caldav.timeout && { timeout: caldav.timeout }),
    logger,
  };
}

/** The receiving side only: for `serve --workers` processes that do not run the outbox. */
export function serverCaldavAdapter(config: ServerConfig, logger: Logger): IScheduleAdapter<CaldavUser> {
  return caldavAdapter(adapterOptions(config, logger));
}

/** The whole gateway: the adapter, and the follower that startOutbox starts with the outbox. */
export function serverGateway(config: ServerConfig, logger: Logger): CaldavGateway {
  return caldavGateway({
    ...adapterOptions(config, logger),
    ...(config.caldav!.syncInterval && { syncInterval: config.caldav!.syncInterval }),
    domains: config.domains,
    stateDir: path.join(config.dataDir, 'caldav'),
    follow: [...Object.keys(config.caldav!.users ?? {}), ...config.users],
  });
}
