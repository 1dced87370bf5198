/**
 * A CalDAV gateway: iSchedule for a CalDAV server the operator did not write. Inbound, the
 * receiver's adapter over CalDAV (`caldavAdapter`); outbound, a follower of the users' calendars
 * that queues what their changes mean in the outbox and writes the answers back
 * (`caldavGateway(...).start(outbox)`).
 */
import { OptionsError } from '../../errors.js';
import { normalizeAddress } from '../../itip/address.js';
import type { Outbox, StatusUpdate } from '../../outbox/outbox.js';
import type { IScheduleAdapter, Logger } from '../../receiver/options.js';
import { checkOptions } from '../../validation.js';
import { DavClient, type DavCredentials } from './dav-client.js';
import { CaldavDirectory, type CaldavUser } from './directory.js';
import { GatewayState } from './gateway-state.js';
import { CaldavInbound } from './inbound.js';
import { CaldavFollower } from './outbound.js';
import { caldavAdapterSchema, caldavGatewaySchema } from './schema.js';

export type { CaldavUser } from './directory.js';

export interface CaldavAdapterOptions {
  /** The CalDAV server's base URL, e.g. http://127.0.0.1:5232/. */
  readonly url: string;
  /** A service account that may read and write every user's calendars... */
  readonly username?: string;
  readonly password?: string;
  /** ...or the credentials for each path (per-user accounts); undefined sends none. */
  readonly credentials?: (
    path: string,
  ) => { readonly username: string; readonly password: string } | undefined;
  /**
   * Calendar address -> that user's principal or calendar-home path, for servers that cannot
   * say (e.g. `{ "mailto:bob@example.org": "/bob/" }`). Addresses not listed are asked of the
   * server (principal-property-search on calendar-user-address-set).
   */
  readonly users?: Readonly<Record<string, string>>;
  /** A PEM CA certificate to trust for an https:// server (its certificate is always verified). */
  readonly ca?: string;
  /** Milliseconds for one exchange with the server (default 10000). */
  readonly timeout?: number;
  /** Milliseconds a user's lookup is cached (default 60000). */
  readonly cacheTtl?: number;
  /** Objects one free-busy answer or one sync may read at most (default 10000). */
  readonly maxObjects?: number;
  /** Instances expanded per recurring event for free-busy (default 10000). */
  readonly maxInstances?: number;
  /** Attempts at a conditional write that keeps meeting another change (default 5). */
  readonly maxAttempts?: number;
  readonly logger?: Logger;
}

export interface CaldavGatewayOptions extends CaldavAdapterOptions {
  /** The calendar-user domains of this server: attendees elsewhere are invited by iSchedule. */
  readonly domains: readonly string[];
  /**
   * Where sync tokens and the last seen version of each event are kept (a folder; required to
   * follow calendars, so that a restart neither resends nor misses a change).
   */
  readonly stateDir: string;
  /** Users whose calendars are followed (default: the addresses of `users`). */
  readonly follow?: readonly string[];
  /** Milliseconds between two syncs of every followed calendar (default 5000). */
  readonly syncInterval?: number;
}

export interface CaldavGateway {
  /** The receiver's adapter: users, deliveries and free-busy over CalDAV. */
  readonly adapter: IScheduleAdapter<CaldavUser>;
  /** Follows the calendars every `syncInterval`, queueing into `outbox`; stops on close(). */
  start(outbox: Outbox): void;
  /** One sync now (what start() runs on its timer); resolves when it is done. */
  syncNow(): Promise<void>;
  /** Give this the outbox's status updates: they become SCHEDULE-STATUS on the events. */
  statusChanged(update: StatusUpdate): Promise<void>;
  close(): Promise<void>;
}

interface Parts {
  readonly client: DavClient;
  readonly directory: CaldavDirectory;
  readonly inbound: CaldavInbound;
  readonly state: GatewayState;
  readonly logger: Logger;
  readonly maxAttempts: number;
}

/** The pieces both factories share, from options already checked against their schema. */
function parts(options: CaldavAdapterOptions, stateDir: string | undefined): Parts {
  if ((options.username === undefined) !== (options.password === undefined))
    throw new OptionsError('caldav username and password go together', 'username');
  const credentials: DavCredentials | undefined =
    options.credentials ??
    (options.username !== undefined
      ? { username: options.username, password: options.password! }
      : undefined);
  const client = new DavClient({
    url: options.url,
    ...(credentials && { credentials }),
    ...(options.timeout !== undefined && { timeout: options.timeout }),
    ...(options.ca && { ca: options.ca }),
  });
  const state = new GatewayState(stateDir);
  const logger = options.logger ?? {};
  const maxAttempts = options.maxAttempts ?? 5;
  const directory = new CaldavDirectory(client, options.users ?? {}, options.cacheTtl ?? 60_000);
  const inbound = new CaldavInbound(
    client,
    state,
    {
      maxObjects: options.maxObjects ?? 10_000,
      maxInstances: options.maxInstances ?? 10_000,
      maxAttempts,
    },
    logger,
  );
  return { client, directory, inbound, state, logger, maxAttempts };
}

function adapterOf({ directory, inbound }: Parts): IScheduleAdapter<CaldavUser> {
  return {
    lookupUser: ({ address, signal }) => directory.lookup(address, signal),
    deliverToInbox: ({ user, originator, message, signal }) =>
      inbound.deliver(user, originator, message, signal),
    getFreeBusy: ({ user, start, end, signal }) => inbound.freeBusy(user, start, end, signal),
  };
}

/** The receiver's adapter over a CalDAV server (inbound only; see caldavGateway to send too). */
export function caldavAdapter(options: CaldavAdapterOptions): IScheduleAdapter<CaldavUser> {
  checkOptions(caldavAdapterSchema, options, 'caldavAdapter options');
  return adapterOf(parts(options, undefined));
}

/** The adapter and the follower that sends for the users' changes; see CaldavGatewayOptions. */
export function caldavGateway(options: CaldavGatewayOptions): CaldavGateway {
  checkOptions(caldavGatewaySchema, options, 'caldavGateway options');
  const made = parts(options, options.stateDir);
  const follower = new CaldavFollower(made.client, made.directory, made.state, {
    domains: options.domains,
    maxObjects: options.maxObjects ?? 10_000,
    logger: made.logger,
  });
  // A REFRESH is answered by sending the event again, once there is an outbox to send with.
  made.inbound.onRefresh = (organizer, attendee, stored) =>
    outbox
      ? follower.refresh(organizer.address, attendee, stored, outbox)
      : Promise.resolve({
          requestStatus: '3.14;Unsupported capability',
          description:
            'this gateway does not send (no outbox); the organizer sends updates as the event changes',
        });
  const follow = (options.follow ?? Object.keys(options.users ?? {})).map(normalizeAddress);
  const interval = options.syncInterval ?? 5000;
  let outbox: Outbox | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const syncNow = async () => {
    if (!outbox) throw new Error('caldavGateway: start(outbox) first');
    await follower.sync(follow, outbox);
  };
  const tick = () => {
    timer = undefined;
    syncNow()
      .catch((error: Error) => made.logger.warn?.(`CalDAV gateway: sync failed: ${error.message}`))
      .finally(() => {
        if (!closed) timer = setTimeout(tick, interval);
      });
  };
  return {
    adapter: adapterOf(made),
    start(given) {
      if (outbox) throw new Error('caldavGateway: already started');
      outbox = given;
      tick();
    },
    syncNow,
    statusChanged: (update) => follower.writeStatus(update, made.maxAttempts),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await follower.idle();
      made.client.close();
    },
  };
}
