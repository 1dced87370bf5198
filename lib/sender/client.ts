/**
 * IScheduleClient: what a host calls from its scheduling outbox when recipients are at other
 * domains. It checks the message as a receiver would, finds each domain's receiver, reads its
 * capabilities, batches recipients, signs and POSTs, and returns one result per recipient.
 */
import { createHash, type KeyObject, randomUUID } from 'node:crypto';
import createDebug from 'debug';
import ICAL from 'ical.js';
import { signDraft01Request } from '../dkim/draft01.js';
import type { SignatureAlgorithm } from '../dkim/read-key-record.js';
import { prepareSigningKey, type SigningKey, signRequest } from '../dkim/sign.js';
import type { QueryMethod } from '../dkim/signature.js';
import { type DnsOptions, type DnsResolver, dnsResolver } from '../dns/client.js';
import { IScheduleError, OptionsError, SetupError } from '../errors.js';
import { HttpError } from '../http/request.js';
import { addressDomain, isCalendarAddress, normalizeAddress, withinDomain } from '../itip/address.js';
import { type ParsedMessage, parseMessageTree } from '../itip/message.js';
import { checkParticipants } from '../itip/rules.js';
import { LruCache } from '../lru.js';
import type { IScheduleMetrics } from '../metrics.js';
import { addressPolicy } from '../net/address-policy.js';
import { checkOptions } from '../validation.js';
import { VERSION } from '../version.js';
import { type CachedCapabilities, CapabilitiesCache } from './capabilities-cache.js';
import { discoverReceiver, type Receiver } from './discovery.js';
import { Exchange, type HopHeaders, RedirectError } from './exchange.js';
import { failure, type Outcome, type RecipientResult, resultsFromResponse } from './results.js';
import { clientOptions } from './schema.js';

const debug = createDebug('ischedule:sender:client');

/** One send() on its way: the parsed message, who sends it, with which key and Message-ID. */
interface Sending {
  readonly message: ParsedMessage;
  readonly originator: string;
  readonly key: SigningKey;
  readonly messageId: string | undefined;
}

/**
 * The iSchedule-Message-ID of one POST. A message given an id keeps it when it fits one batch;
 * split into batches, each batch's id adds a digest of its recipients, so that a retry of the
 * same recipients carries the same id (and the receiver answers it from its records) while
 * another batch is never taken for a replay of the first.
 */
function messageIdFor(messageId: string | undefined, batch: readonly string[], batches: number): string {
  if (messageId === undefined) return randomUUID();
  if (batches === 1) return messageId;
  const recipients = batch.map(normalizeAddress).sort().join(',');
  return `${messageId}-${createHash('sha256').update(recipients).digest('base64url').slice(0, 12)}`;
}

/** Options of IScheduleClient; every one is optional (without signing, the client can discover but not send). */
export interface IScheduleClientOptions {
  /**
   * The key(s) outgoing requests are signed with; the one whose domain covers the Originator is
   * used. Without one the client can discover and read capabilities, but not send.
   */
  readonly signing?: SigningKey | readonly SigningKey[];
  /** `q=` methods announced in signatures (default dns/txt, http/well-known). */
  readonly queryMethods?: readonly QueryMethod[];
  /** Seconds a signature stays valid (`x=`, default 300). */
  readonly signatureLifetime?: number;
  readonly dns?: DnsOptions | DnsResolver;
  readonly tls?: {
    /** Extra trusted CA certificates (PEM). */
    readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
    /** Verify receivers' certificates (default true). Turning it off exposes every message. */
    readonly rejectUnauthorized?: boolean;
  };
  /**
   * Domain -> receiver URL, consulted before DNS (private deployments, tests; may be http://).
   * What the operator names here is trusted as named: its origin may be any address.
   */
  readonly overrides?: Readonly<Record<string, string>>;
  /**
   * Networks that receivers found through DNS (and redirects) may be in besides the public
   * Internet, as CIDR blocks or addresses (default none): without this, a recipient domain's
   * DNS can never make the client connect to loopback, private or link-local addresses.
   */
  readonly allowNetworks?: readonly string[];
  /** Try parent domains when a domain has no SRV record (default false). */
  readonly subdomainFallback?: boolean;
  /** Milliseconds for one HTTP exchange (default 30000). */
  readonly timeout?: number;
  /** Largest schedule response accepted, octets (default 1 MiB; capabilities: 64 KiB). */
  readonly maxResponseBytes?: number;
  /** Receivers whose capabilities are kept (default 1000). */
  readonly capabilitiesCacheSize?: number;
  /** How long capabilities are kept when a receiver sends no max-age, ms (default 1 hour). */
  readonly capabilitiesLifetime?: number;
  /** Attempts for refused connections and 503 Retry-After (default 3). */
  readonly attempts?: number;
  readonly userAgent?: string;
  /** Prometheus metrics to keep (capabilities cache hits and fetches); may be the receiver's. */
  readonly metrics?: IScheduleMetrics;
  readonly logger?: { warn?(message: string, details?: Record<string, unknown>): void };
  /**
   * Recipient domains (sub-domains included) that may be spoken to in the old draft -01, as
   * DAViCal and EGroupware speak it (default none). Their receiver is asked draft -05's
   * capabilities first; one that answers 404 there and a -01 `capability-set` at
   * `?query=capabilities` gets requests signed the -01 way (`c=simple-http`, `q=dns/txt`, Host
   * signed on every hop). Every other domain is spoken to in draft -05 only.
   */
  readonly draft01Peers?: readonly string[];
}

/** One iTIP message to send. */
export interface SendOptions {
  /** The calendar user sending (ORGANIZER for REQUEST/CANCEL/ADD, the replying ATTENDEE for REPLY...). */
  readonly originator: string;
  /** Who should receive it: calendar addresses at other domains. */
  readonly recipients: readonly string[];
  /** The iTIP message, iCalendar text. */
  readonly calendar: string;
  /**
   * The iSchedule-Message-ID to send (default a fresh UUID per POST). Give the same one on every
   * retry of a message: receivers that remember recipients per message (this package's does)
   * then deliver each recipient once, however often it is sent.
   */
  readonly messageId?: string;
}

/**
 * The sender: finds each recipient domain's receiver, reads its capabilities, signs the
 * message and POSTs it, and says per recipient what happened. Connections, DNS answers and
 * capabilities are cached and reused; call close() when done.
 *
 * ```ts
 * const client = new IScheduleClient({ signing: { domain, selector, privateKey } });
 * const results = await client.send({ originator, recipients, calendar });
 * ```
 */
export class IScheduleClient {
  readonly dns: DnsResolver;
  readonly #keys: readonly SigningKey[];
  readonly #options: IScheduleClientOptions;
  readonly #exchange: Exchange;
  readonly #capabilities: CapabilitiesCache;
  readonly #overrides: Map<string, URL>;
  readonly #draft01Peers: readonly string[];
  /** `t=` last used per given Message-ID: a resend within the same second must not repeat it. */
  readonly #lastSignedAt = new LruCache<string, number>(4096);

  constructor(options: IScheduleClientOptions = {}) {
    this.#options = options;
    checkOptions(clientOptions, options, 'IScheduleClient options');
    this.#keys = signingKeyList(options.signing).map((key, i) =>
      prepareSigningKey(
        key,
        Array.isArray(options.signing)
          ? `IScheduleClient options.signing[${i}]`
          : 'IScheduleClient options.signing',
      ),
    );
    this.dns = dnsResolver(options.dns);
    this.#draft01Peers = options.draft01Peers ?? [];
    this.#overrides = new Map(
      // The schema has checked each one is an http(s) URL.
      Object.entries(options.overrides ?? {}).map(([domain, url]) => [domain.toLowerCase(), new URL(url)]),
    );
    this.#exchange = new Exchange({
      dns: this.dns,
      timeout: options.timeout ?? 30_000,
      maxResponseBytes: options.maxResponseBytes ?? 1 << 20,
      policy: addressPolicy(options.allowNetworks, 'IScheduleClient allowNetworks'),
      trustedOrigins: new Set([...this.#overrides.values()].map((url) => url.origin)),
      ...(options.tls?.ca !== undefined && { ca: options.tls.ca }),
      rejectUnauthorized: options.tls?.rejectUnauthorized ?? true,
      attempts: options.attempts ?? 3,
      backoffMs: 200,
      maxRetryAfterMs: 10_000,
    });
    this.#capabilities = new CapabilitiesCache(this.#exchange, {
      maxEntries: options.capabilitiesCacheSize ?? 1000,
      lifetimeMs: options.capabilitiesLifetime ?? 3_600_000,
      ...(options.metrics && { metrics: options.metrics }),
    });
  }

  /** Counters for benchmarks: DNS questions sent, capability GETs, HTTP requests. */
  get stats(): { dnsQueries: number; capabilityFetches: number; httpRequests: number } {
    return {
      dnsQueries: (this.dns as { queries?: number }).queries ?? 0,
      capabilityFetches: this.#capabilities.fetches,
      httpRequests: this.#exchange.requests,
    };
  }

  /** The receiver of a domain (overrides, SRV, TXT path), or undefined when it has none. */
  discover(domain: string): Promise<Receiver | undefined> {
    return discoverReceiver(domain, {
      dns: this.dns,
      overrides: this.#overrides,
      subdomainFallback: this.#options.subdomainFallback ?? false,
    });
  }

  /**
   * A receiver's capabilities (cached; see CapabilitiesCache). `domain` is the recipients'
   * domain: listed in draft01Peers, a draft -01 receiver's old document is read too.
   */
  async getCapabilities(receiver: Receiver | URL, domain?: string): Promise<CachedCapabilities> {
    const url = receiver instanceof URL ? receiver : receiver.urls[0]!;
    return this.#capabilities.get(url, domain !== undefined && this.#mayUseDraft01(domain));
  }

  #mayUseDraft01(domain: string): boolean {
    return this.#draft01Peers.some((peer) => withinDomain(domain, peer));
  }

  /**
   * Sends an iTIP message. Rejects (before any network I/O) with an IScheduleError when the
   * message or its addressing breaks iSchedule's rules; otherwise resolves to one result per
   * recipient, in the order given.
   */
  async send(options: SendOptions): Promise<RecipientResult[]> {
    const { originator, recipients, messageId } = options;
    const { message, key } = this.#prepare(options);
    const byDomain = new Map<string, string[]>();
    for (const recipient of new Set(recipients)) {
      const domain = addressDomain(recipient) ?? '';
      byDomain.set(domain, [...(byDomain.get(domain) ?? []), recipient]);
    }
    const results = new Map<string, RecipientResult>();
    await Promise.all(
      [...byDomain].map(async ([domain, list]) => {
        const sending = { message, originator, key, messageId };
        for (const result of await this.#sendToDomain(domain, list, sending)) {
          results.set(result.recipient, result);
        }
      }),
    );
    return recipients.map((r) => results.get(r)!);
  }

  /**
   * The checks send() makes before any network I/O, alone: throws what send() would throw for
   * this message (an IScheduleError, an OptionsError, a SetupError), else returns its UID.
   */
  check(options: SendOptions): { readonly uid: string } {
    return { uid: this.#prepare(options).message.uid };
  }

  #prepare({ originator, recipients, calendar, messageId }: SendOptions): {
    message: ParsedMessage;
    key: SigningKey;
  } {
    if (!isCalendarAddress(originator))
      throw new IScheduleError('originator-invalid', `${originator} is not a calendar address`);
    if (recipients.length === 0)
      throw new IScheduleError('recipient-missing', 'send() needs at least one recipient');
    const bad = recipients.find((r) => !isCalendarAddress(r) || r.includes(','));
    if (bad) throw new IScheduleError('recipient-invalid', `${bad} is not a calendar address`);
    if (messageId !== undefined && !/^[\x21-\x7e]{1,200}$/.test(messageId))
      throw new OptionsError('messageId must be 1 to 200 printable ASCII characters, no spaces', 'messageId');
    const message = parseMessageTree(calendar);
    checkParticipants(message, originator, recipients);
    return { message, key: this.#keyFor(originator) };
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.#exchange.close();
  }

  async #sendToDomain(
    domain: string,
    recipients: readonly string[],
    sending: Sending,
  ): Promise<RecipientResult[]> {
    let receiver: Receiver | undefined;
    try {
      receiver = domain ? await this.discover(domain) : undefined;
    } catch (error) {
      return recipients.map((r) =>
        failure(
          r,
          'temporary-failure',
          '5.1;Service unavailable',
          `DNS lookup for ${domain} failed: ${(error as Error).message}`,
        ),
      );
    }
    if (!receiver) {
      const why = domain
        ? `no iSchedule receiver for ${domain} (no _ischedules._tcp SRV record)`
        : 'not a mailto address';
      return recipients.map((r) => failure(r, 'no-receiver', '5.2;Invalid calendar service', why));
    }
    let lastError: Error | undefined;
    for (const url of receiver.urls) {
      try {
        return await this.#sendToReceiver(url, domain, recipients, sending);
      } catch (error) {
        lastError = error as Error;
        // Nothing reached a target that refused connections or may not be reached: try the next.
        if (!(error instanceof HttpError && (error.code === 'connect' || error.code === 'refused'))) break;
        debug('%s: %s, trying the next target', url.href, lastError.message);
      }
    }
    return this.#failed(domain, recipients, lastError);
  }

  /** What a failure to reach any of a domain's receivers means for its recipients. */
  #failed(domain: string, recipients: readonly string[], error: Error | undefined): RecipientResult[] {
    const [outcome, status, reason] = classifyFailure(domain, error);
    const why = `${reason}: ${error?.message}`;
    this.#options.logger?.warn?.('iSchedule delivery failed', { domain, reason: why });
    return recipients.map((r) => failure(r, outcome, status, why));
  }

  async #sendToReceiver(
    url: URL,
    domain: string,
    recipients: readonly string[],
    sending: Sending,
  ): Promise<RecipientResult[]> {
    const { message } = sending;
    const cached = await this.getCapabilities(url, domain);
    const { capabilities } = cached;
    const refuse = (why: string) =>
      recipients.map((r) => failure(r, 'refused', '3.14;Unsupported capability', why, url));
    if (!capabilities.versions.includes('1.0'))
      return refuse(`the receiver speaks iSchedule ${capabilities.versions.join(', ')}, not 1.0`);
    const methods = capabilities.schedulingMessages[message.component];
    if (!methods || (methods.length > 0 && !methods.includes(message.method))) {
      return refuse(`the receiver does not accept ${message.component} ${message.method}`);
    }
    const size = Buffer.byteLength(message.text);
    if (capabilities.maxContentLength !== undefined && size > capabilities.maxContentLength) {
      return refuse(
        `the message (${size} octets) exceeds the receiver's max-content-length ${capabilities.maxContentLength}`,
      );
    }
    const batchSize = capabilities.maxRecipients ?? recipients.length;
    const batches: string[][] = [];
    for (let i = 0; i < recipients.length; i += batchSize) batches.push(recipients.slice(i, i + batchSize));
    // Only a domain listed in draft01Peers gets here with a draft -01 document.
    const draft01 = capabilities.revision === 'draft-01';
    const results = await Promise.all(
      batches.map((batch) =>
        this.#post(
          cached.url,
          batch,
          sending,
          messageIdFor(sending.messageId, batch, batches.length),
          draft01,
        ),
      ),
    );
    return results.flat();
  }

  async #post(
    url: URL,
    batch: readonly string[],
    { message, originator, key, messageId: given }: Sending,
    messageId: string,
    draft01: boolean,
  ): Promise<RecipientResult[]> {
    const post: OnePost = {
      message,
      originator,
      key,
      batch,
      messageId,
      body: Buffer.from(bodyFor(message, batch), 'utf8'),
      // Only a Message-ID kept across retries can be resent in the same second.
      timestamp: given === undefined ? Math.floor(Date.now() / 1000) : this.#timestampFor(messageId),
    };
    const headers = draft01 ? draft01Headers(post, this.#options) : signedHeaders(post, this.#options);
    return this.#postBatch(url, batch, headers, post.body, draft01);
  }

  /** POSTs one batch and reads what the receiver said for each recipient. */
  async #postBatch(
    url: URL,
    batch: readonly string[],
    headers: HopHeaders,
    body: Buffer,
    draft01: boolean,
  ): Promise<RecipientResult[]> {
    try {
      const { response, finalUrl } = await this.#exchange.post(url, headers, body);
      this.#capabilities.noteSerial(url, response.headers['ischedule-capabilities']);
      return resultsFromResponse(batch, response, finalUrl, draft01);
    } catch (error) {
      if (error instanceof HttpError && error.code === 'connect') throw error;
      // A redirect this client will not follow: retrying the same receiver cannot help.
      if (error instanceof RedirectError || (error instanceof HttpError && error.code === 'refused')) {
        const why = `receiver refused: ${error.message}`;
        return batch.map((r) => failure(r, 'refused', '5.2;Invalid calendar service', why, url));
      }
      const reason = error instanceof HttpError ? error.message : String(error);
      return batch.map((r) => failure(r, 'temporary-failure', '5.1;Service unavailable', reason, url));
    }
  }

  /**
   * Now, or one second past the last `t=` of this Message-ID: the signature of a resend in the
   * same second would be byte for byte the last one, which receivers refuse as a replay. A
   * second or two ahead is well within every receiver's clock skew.
   */
  #timestampFor(messageId: string): number {
    const now = Math.floor(Date.now() / 1000);
    const last = this.#lastSignedAt.get(messageId);
    const t = last !== undefined && last >= now ? last + 1 : now;
    this.#lastSignedAt.set(messageId, t);
    return t;
  }

  #keyFor(originator: string): SigningKey {
    const domain = addressDomain(originator);
    const key = domain
      ? [...this.#keys]
          .sort((a, b) => b.domain.length - a.domain.length)
          .find((k) => withinDomain(domain, k.domain))
      : undefined;
    if (!key) {
      // Our own setup, not the peer's or the Originator's fault: never an IS:error code.
      throw new SetupError(
        'no-signing-key',
        this.#keys.length === 0
          ? 'this client has no signing key: give options.signing to send'
          : `no signing key covers ${originator}: receivers would refuse it (signing domains: ${this.#keys.map((k) => k.domain).join(', ')})`,
      );
    }
    return key;
  }
}

/** What failing to reach a domain's receivers means: an outcome, a status, and why in our words. */
function classifyFailure(domain: string, error: Error | undefined): [Outcome, string, string] {
  const code = error instanceof HttpError ? error.code : undefined;
  // Only private addresses: as good as no receiver; the host falls back to iMIP.
  if (code === 'refused')
    return [
      'no-receiver',
      '5.2;Invalid calendar service',
      `no address of ${domain}'s receiver may be reached`,
    ];
  if (error instanceof RedirectError) return ['refused', '5.2;Invalid calendar service', 'receiver refused'];
  const reason = code === 'connect' ? 'receiver unreachable' : 'receiver failed';
  return ['temporary-failure', '5.1;Service unavailable', reason];
}

/** One POST of a batch: what it carries and how it is signed. */
interface OnePost {
  readonly message: ParsedMessage;
  readonly originator: string;
  readonly key: SigningKey;
  readonly batch: readonly string[];
  readonly messageId: string;
  readonly body: Buffer;
  /** `t=`, Unix seconds. */
  readonly timestamp: number;
}

/** A draft -05 request's headers, signed `ischedule-relaxed/simple` (the same on every hop). */
function signedHeaders(post: OnePost, options: IScheduleClientOptions): Array<[string, string]> {
  const { message } = post;
  const headers: Array<[string, string]> = [
    ['Originator', post.originator],
    ['Recipient', post.batch.join(',')],
    [
      'Content-Type',
      `text/calendar; charset=utf-8; component=${message.component}; method=${message.method}`,
    ],
    ['User-Agent', options.userAgent ?? `express-ischedule/${VERSION}`],
    ['iSchedule-Version', '1.0'],
    ['iSchedule-Message-ID', post.messageId],
    ['Cache-Control', 'no-cache, no-transform'],
  ];
  const signature = signRequest({
    headers,
    body: post.body,
    key: post.key,
    timestamp: post.timestamp,
    algorithm: algorithmFor(post.key),
    ...(options.queryMethods && { queryMethods: options.queryMethods }),
    expiresIn: options.signatureLifetime ?? 300,
  });
  headers.push(['DKIM-Signature', signature]);
  return headers;
}

/**
 * A draft -01 request's headers for each hop: Host is signed as sent, so a redirect to another
 * host is signed afresh. DAViCal requires Host, Originator, Recipient and Content-Type signed.
 */
function draft01Headers(
  post: OnePost,
  options: IScheduleClientOptions,
): (url: URL) => Array<[string, string]> {
  const { message, key } = post;
  return (url) => {
    const headers: Array<[string, string]> = [
      ['Host', url.host],
      ['iSchedule-Version', '1.0'],
      ['Originator', post.originator],
      ['Recipient', post.batch.join(', ')],
      ['Content-Type', `text/calendar; component=${message.component}; method=${message.method}`],
      ['User-Agent', options.userAgent ?? `express-ischedule/${VERSION}`],
      ['iSchedule-Message-ID', post.messageId],
    ];
    const signature = signDraft01Request({
      headers,
      body: post.body,
      domain: key.domain,
      selector: key.selector,
      privateKey: key.privateKey as KeyObject,
      algorithm: algorithmFor(key),
      timestamp: post.timestamp,
      expiresIn: options.signatureLifetime ?? 300,
    });
    headers.push(['DKIM-Signature', signature]);
    return headers;
  };
}

/** For a free-busy request, the VFREEBUSY's ATTENDEEs must be exactly the batch's Recipients. */
function bodyFor(message: ParsedMessage, batch: readonly string[]): string {
  if (message.component !== 'VFREEBUSY') return message.text;
  const wanted = new Set(batch.map(normalizeAddress));
  if (
    message.attendees.length === wanted.size &&
    message.attendees.every((a) => wanted.has(normalizeAddress(a)))
  ) {
    return message.text;
  }
  // A fresh parse: ical.js components share their jCal arrays with the message's.
  const calendar = new ICAL.Component(ICAL.parse(message.text) as unknown[]);
  for (const component of calendar.getAllSubcomponents('vfreebusy')) {
    for (const attendee of [...component.getAllProperties('attendee')]) {
      if (!wanted.has(normalizeAddress(String(attendee.getFirstValue())))) component.removeProperty(attendee);
    }
  }
  return `${calendar.toString()}\r\n`;
}

/** Parses and checks the signing keys once: a bad key is a TypeError when the client is made. */
function signingKeyList(signing: IScheduleClientOptions['signing']): readonly SigningKey[] {
  if (signing === undefined) return [];
  return Array.isArray(signing) ? signing : [signing as SigningKey];
}

function algorithmFor(key: SigningKey): SignatureAlgorithm {
  return (key.privateKey as KeyObject).asymmetricKeyType === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256';
}
