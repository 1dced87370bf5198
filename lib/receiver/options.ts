/**
 * The receiver's options: the contract with the host (the adapter) and what each option means.
 * ./schema.ts checks them and ./resolve-options.ts fills in the defaults.
 */
import type { KeyResolver } from '../dkim/resolvers.js';
import type { SigningKey } from '../dkim/sign.js';
import type { DnsOptions, DnsResolver } from '../dns/client.js';
import type { BusyPeriod, ScheduleMessage } from '../itip/schedule-message.js';
import type { IScheduleMetrics } from '../metrics.js';
import type { IncomingRequest } from './handler.js';
import type { RateLimitOptions } from './rate-limits.js';
import type { ReplayStore } from './replay-store.js';

type MaybePromise<T> = T | Promise<T>;

interface AdapterCall {
  /** The request being answered (under Express, Express's request object). */
  readonly request: IncomingRequest;
  /** Aborted when the call times out: stop work that is no longer awaited. */
  readonly signal: AbortSignal;
}

/** What a delivery may answer: nothing (success), a REQUEST-STATUS, or one with a description. */
export type DeliveryResult =
  | undefined
  | string
  | { readonly requestStatus: string; readonly description?: string };

/** The host's side: find users, deliver into scheduling inboxes, compute free-busy. */
export interface IScheduleAdapter<User = unknown> {
  /** The local, schedulable user for a calendar address, or null/undefined (=> 3.7). */
  lookupUser(args: AdapterCall & { readonly address: string }): MaybePromise<User | null | undefined>;
  /** Stores one iTIP message in the user's scheduling inbox. */
  deliverToInbox(
    args: AdapterCall & {
      readonly recipient: string;
      readonly user: User;
      readonly originator: string;
      readonly message: ScheduleMessage;
    },
    // void, not only undefined: `async deliverToInbox() { await store(...) }` is Promise<void>.
    // biome-ignore lint/suspicious/noConfusingVoidType: a callback's "returns nothing" is void
  ): MaybePromise<DeliveryResult | void>;
  /** The user's busy periods (with FBTYPE) within [start, end). */
  getFreeBusy(
    args: AdapterCall & {
      readonly recipient: string;
      readonly user: User;
      readonly originator: string;
      readonly start: Date;
      readonly end: Date;
      readonly message: ScheduleMessage;
    },
  ): MaybePromise<readonly BusyPeriod[]>;
}

/** Where the receiver reports: any object with these methods (console will do). */
export interface Logger {
  info?(message: string, details?: Record<string, unknown>): void;
  warn?(message: string, details?: Record<string, unknown>): void;
  error?(message: string, details?: Record<string, unknown>): void;
}

/** What the receiver advertises in its capabilities document, and enforces. */
export interface CapabilityOptions {
  /** Increment whenever senders must reload the capabilities (default 1). */
  readonly serialNumber?: number;
  /** Component -> METHODs accepted (default VEVENT and VTODO scheduling methods, VFREEBUSY REQUEST). */
  readonly schedulingMessages?: Readonly<Record<string, readonly string[]>>;
  /** Largest body accepted, octets (default 1048576). */
  readonly maxContentLength?: number;
  readonly minDateTime?: string;
  readonly maxDateTime?: string;
  /** Most recurrence instances in one message (default 1000). */
  readonly maxInstances?: number;
  /** Most Recipients in one request (default 100). */
  readonly maxRecipients?: number;
  /** Attachment forms accepted (default external only: inline base64 can carry malware). */
  readonly attachments?: { readonly inline: boolean; readonly external: boolean };
  /** Contact for this receiver's administrator, e.g. mailto:ischedule-admin@example.com. */
  readonly administrator?: string;
  /** Seconds senders may cache the document (Cache-Control max-age, default 3600). */
  readonly maxAge?: number;
}

/** Which signatures and senders the receiver accepts (secure by default). */
export interface PolicyOptions {
  /**
   * How `d=` must relate to the Originator's domain: `relaxed` (default) the same domain or a
   * parent of it, `strict` the same domain, `off` no check (trust any signer: not recommended).
   */
  readonly alignment?: 'relaxed' | 'strict' | 'off';
  /** Accept Originators in our own `domains` (default false: that is spoofing). */
  readonly allowLocalOriginators?: boolean;
  /** Seconds a signature's `t=` may be in the future (default 300). */
  readonly clockSkew?: number;
  /**
   * The longest a signature is accepted, seconds (default 3600): `x=` further than this after
   * `t=` is refused, and a signature without `x=` expires this long after `t=`. It is also how
   * long the replay store must remember a signature.
   */
  readonly maxSignatureAge?: number;
  /**
   * Refuse signatures without `t=` (default true). Without `t=` a signature's age is unknown and
   * it can only be remembered for maxSignatureAge from its first receipt.
   */
  readonly requireTimestamp?: boolean;
  /** Accept `a=rsa-sha1` (default false, RFC 8301). */
  readonly allowSha1?: boolean;
  /** Only these signing domains (and their sub-domains) may send, when given. */
  readonly allowDomains?: readonly string[];
  /** These signing domains (and their sub-domains) may not send. */
  readonly denyDomains?: readonly string[];
  /** Refuse a second request with the same signature or message id (default true). */
  readonly replayProtection?: boolean;
}

/** Bounds on the work one request may cause (none of them advertised to senders). */
export interface LimitOptions {
  /** Milliseconds for a sender's key lookup, every method and server included (default 5000). */
  readonly keyLookupTimeout?: number;
  /** iCalendar content lines in one message (default 10000). */
  readonly maxLines?: number;
  /** Parameters on one property (default 32) and in the whole message (default 20000). */
  readonly maxParametersPerProperty?: number;
  readonly maxParameters?: number;
  /** Components (VEVENT, VALARM, VTIMEZONE, ...) in one message (default 1000). */
  readonly maxComponents?: number;
  /**
   * Requests from one signing domain (by registrable domain) in progress at once, per process
   * (default 32): beyond it a request is answered 503 with Retry-After 1, so that one peer cannot
   * occupy every adapter call.
   */
  readonly maxConcurrentPerDomain?: number;
  /** Longest free-busy range a request may ask for, days (default 366). */
  readonly maxFreeBusyDays?: number;
  /**
   * Busy periods answered per recipient (default 5000): more are joined across the shortest free
   * gaps; a host answering over 20 times this gets that recipient a 5.1.
   */
  readonly maxFreeBusyPeriods?: number;
}

/** Options of createIScheduleHandler / createIScheduleRouter: `domains` and `adapter` are required. */
export interface IScheduleRouterOptions<User = unknown> {
  /** The calendar-user domains this server receives for. */
  readonly domains: readonly string[];
  readonly adapter: IScheduleAdapter<User>;
  /** This server's signing key(s), published at /.well-known/domainkey (several during rotation). */
  readonly signing?: SigningKey | readonly SigningKey[];
  /** Where senders' keys come from (default: dns/txt, then http/well-known). */
  readonly keys?: KeyResolver;
  /** DNS for the default key resolvers: options for the built-in client, or your own resolver. */
  readonly dns?: DnsOptions | DnsResolver;
  /**
   * Networks the default key resolvers may connect to besides the public Internet, as CIDR
   * blocks or addresses (default none). A signature's `d=` comes from the network: without this,
   * it can never make the receiver connect to loopback, private or link-local addresses. With
   * your own `keys`, give the same list to `wellKnownKeys`.
   */
  readonly allowNetworks?: readonly string[];
  readonly limits?: LimitOptions;
  readonly capabilities?: CapabilityOptions;
  readonly policy?: PolicyOptions;
  /** Prometheus metrics to keep (see IScheduleMetrics); default none. */
  readonly metrics?: IScheduleMetrics;
  /** Requests per client address and per signing domain (limits in this process by default). */
  readonly rateLimits?: RateLimitOptions;
  /** Where seen signatures are remembered (default: in memory, this process only). */
  readonly replayStore?: ReplayStore;
  readonly logger?: Logger;
  /** The receiver's path (default /.well-known/ischedule). */
  readonly path?: string;
  /** More paths answering the same, e.g. the TXT `path=` published in DNS. */
  readonly extraPaths?: readonly string[];
  /** Milliseconds allowed for each adapter call (default 10000). */
  readonly adapterTimeout?: number;
  /**
   * Peer domains (sub-domains included) that may speak the old draft -01, as DAViCal and
   * EGroupware do (default none): their `c=simple-http` signatures are verified the -01 way and a
   * bare `user@domain` Recipient is read as `mailto:`; with any listed, `?query=capabilities`
   * answers the -01 `capability-set`. Everything else (alignment, replay, iTIP rules, limits) is
   * checked as for draft -05, and every other peer is held to draft -05.
   */
  readonly draft01Peers?: readonly string[];
}

/** The components and METHODs accepted unless capabilities.schedulingMessages says otherwise. */
export const DEFAULT_SCHEDULING_MESSAGES: Readonly<Record<string, readonly string[]>> = {
  VEVENT: ['REQUEST', 'REPLY', 'CANCEL', 'ADD', 'REFRESH', 'COUNTER', 'DECLINECOUNTER'],
  VTODO: ['REQUEST', 'REPLY', 'CANCEL', 'ADD', 'REFRESH', 'COUNTER', 'DECLINECOUNTER'],
  VFREEBUSY: ['REQUEST'],
};

/** The limits applied unless `limits` says otherwise. */
export const DEFAULT_LIMITS: Required<LimitOptions> = {
  keyLookupTimeout: 5000,
  maxLines: 10_000,
  maxParametersPerProperty: 32,
  maxParameters: 20_000,
  maxComponents: 1000,
  maxFreeBusyDays: 366,
  maxFreeBusyPeriods: 5000,
  maxConcurrentPerDomain: 32,
};
