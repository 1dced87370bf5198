/**
 * Where a sender's public key comes from, one resolver per `q=` method (draft -05 §5.7):
 * `dns/txt`, `http/well-known` and `private-exchange`. Resolvers are injectable and chain; the
 * verifier asks them in the order the signature's `q=` lists the methods.
 */

import createDebug from 'debug';
import * as v from 'valibot';
import { CapacityError, ConcurrencyLimit, SharedTasks } from '../concurrency.js';
import { DnsClient, DnsError, type DnsOptions, type DnsResolver, dnsResolver } from '../dns/client.js';
import { isDomainName, registrableDomain } from '../dns/names.js';
import { orderSrv } from '../dns/srv.js';
import { ExpressIScheduleError } from '../errors.js';
import { HttpError, httpRequest } from '../http/request.js';
import { LruCache } from '../lru.js';
import { type AddressPolicy, addressPolicy, isAddressLike } from '../net/address-policy.js';
import { checkOptions } from '../validation.js';
import { dnsKeysOptions, keyResolver, privateExchangeRecords, wellKnownKeysOptions } from './schema.js';
import type { QueryMethod } from './signature.js';

const debug = createDebug('ischedule:dkim:keys');

/** What a KeyResolver is asked for: the `d=`/`s=` of a signature and one `q=` method. */
export interface KeyQuery {
  readonly domain: string;
  readonly selector: string;
  readonly method: QueryMethod;
  /** Aborts when the answer is no longer wanted (the lookup's deadline, a client gone). */
  readonly signal?: AbortSignal;
}

/** Finds key records (tag lists, as published) for a domain and selector by some `q=` methods. */
export interface KeyResolver {
  /** The `q=` methods this resolver answers. */
  readonly methods: readonly QueryMethod[];
  /**
   * The records published for the selector, `[]` when there are none. Rejects with a
   * KeyLookupError when the answer cannot be had now (timeout, server failure).
   */
  lookup(query: KeyQuery): Promise<readonly string[]>;
  /**
   * The records when they are known without waiting (a table, a live cache entry), `[]` when
   * it is known there are none, undefined when only `lookup` can tell. Optional: it lets a
   * verification that needs no network skip the machinery of deadlines and cancellation.
   */
  cached?(query: Omit<KeyQuery, 'signal'>): readonly string[] | undefined;
}

/**
 * A key could not be looked up now (timeout, server failure; a custom KeyResolver throws it too):
 * the key may exist. The message says what failed in our own words and may be shown to the peer;
 * `detail` (addresses, remote error text) is for the log only.
 */
export class KeyLookupError extends ExpressIScheduleError<'key-lookup-failed' | 'key-lookup-busy'> {
  override name = 'KeyLookupError';
  constructor(message: string, detail?: string) {
    super('key-lookup-failed', message, detail);
  }
}

/** Too many key lookups are running already: not the peer's fault, retry shortly. */
export class KeyLookupBusyError extends KeyLookupError {
  override name = 'KeyLookupBusyError';
  override readonly code = 'key-lookup-busy';
}

/** The owner name of a key record: `<selector>._domainkey.<domain>`. */
export function keyRecordName(domain: string, selector: string): string {
  // A sender's requests name the same key, by the same strings (parseSignature memoizes d= and
  // s=): the last name is handed out again, already hashed for the caches it is looked up in.
  if (lastName && domain === lastName.domain && selector === lastName.selector) return lastName.name;
  const name = `${selector}._domainkey.${domain}`.toLowerCase();
  lastName = { domain, selector, name };
  return name;
}

let lastName: { readonly domain: string; readonly selector: string; readonly name: string } | undefined;

/** Combines resolvers: for a method, the first resolver that has records for it answers. */
export function chainKeys(...resolvers: readonly KeyResolver[]): KeyResolver {
  checkOptions(v.array(keyResolver), resolvers, 'chainKeys');
  const methods = [...new Set(resolvers.flatMap((r) => r.methods))];
  return {
    methods,
    cached(query) {
      for (const resolver of resolvers) {
        if (!resolver.methods.includes(query.method)) continue;
        const records = resolver.cached?.(query);
        if (records === undefined) return undefined;
        if (records.length > 0) return records;
      }
      return [];
    },
    async lookup(query) {
      let failure: unknown;
      for (const resolver of resolvers) {
        if (!resolver.methods.includes(query.method)) continue;
        try {
          const records = await resolver.lookup(query);
          if (records.length > 0) return records;
        } catch (error) {
          if (error instanceof KeyLookupBusyError || query.signal?.aborted) throw error;
          failure = error;
        }
      }
      if (failure) throw failure;
      return [];
    },
  };
}

/**
 * Keys handed over out of band (`private-exchange`), keyed `<selector>._domainkey.<domain>`;
 * a value is one record, several, or a file's text with one record per line.
 */
export function privateExchangeKeys(
  records: Readonly<Record<string, string | readonly string[]>>,
): KeyResolver {
  checkOptions(privateExchangeRecords, records, 'privateExchangeKeys records');
  const byName = new Map<string, string[]>();
  for (const [name, value] of Object.entries(records)) {
    const lines = (typeof value === 'string' ? [value] : value).flatMap(splitRecordLines);
    byName.set(name.toLowerCase().replace(/\.$/, ''), lines);
  }
  const find = ({ domain, selector }: Omit<KeyQuery, 'signal' | 'method'>) =>
    byName.get(keyRecordName(domain, selector)) ?? [];
  return {
    methods: ['private-exchange'],
    cached: find,
    lookup: async (query) => find(query),
  };
}

/** Options of dnsKeys: DNS client options, or a resolver to share. */
export interface DnsKeysOptions extends DnsOptions {
  /** A DNS resolver to share (its own options then apply). */
  readonly client?: DnsResolver;
}

/** `dns/txt`: the TXT records at `<selector>._domainkey.<domain>`, chunks joined. */
export function dnsKeys(options: DnsKeysOptions = {}): KeyResolver {
  checkOptions(dnsKeysOptions, options, 'dnsKeys options');
  const dns = options.client ?? keyDnsClient(options);
  const cachedTxt = dns.cachedTxt?.bind(dns);
  return {
    methods: ['dns/txt'],
    ...(cachedTxt && { cached: ({ domain, selector }) => cachedTxt(keyRecordName(domain, selector)) }),
    async lookup({ domain, selector, signal }) {
      const name = keyRecordName(domain, selector);
      try {
        return await dns.txt(name, signal);
      } catch (error) {
        throw dnsFailure(name, error, signal);
      }
    },
  };
}

const KEY_DNS_DEFAULTS: DnsOptions = { minTtl: 60, maxTtl: 3600 };

/**
 * A DNS client for key lookups: records are cached at least a minute (a flood of requests is one
 * query) and at most an hour (a rotated or revoked key is noticed), whatever TTL the zone gives.
 */
export function keyDnsClient(options: DnsOptions = {}): DnsClient {
  return new DnsClient({ ...KEY_DNS_DEFAULTS, ...options });
}

/**
 * The usual way to find senders' keys: `dns/txt`, then `http/well-known`, over one DNS client
 * (the receiver's default).
 */
export function defaultKeys(options: WellKnownKeysOptions = {}): KeyResolver {
  checkOptions(wellKnownKeysOptions, options, 'defaultKeys options');
  const dns = dnsResolver(options.dns, KEY_DNS_DEFAULTS);
  return chainKeys(dnsKeys({ client: dns }), wellKnownKeys({ ...options, dns }));
}

/** Options of wellKnownKeys and defaultKeys. */
export interface WellKnownKeysOptions {
  /** DNS for the `_domainkey_lookup._tcp` SRV and the key server's address. */
  readonly dns?: DnsResolver | DnsOptions;
  /** Extra trusted CA certificates (PEM) for the key servers. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Verify key servers' certificates (default true; turning it off defeats the purpose). */
  readonly rejectUnauthorized?: boolean;
  /**
   * Networks key servers may be in besides the public Internet, e.g. `["10.0.0.0/8"]`
   * (default none: a signature's `d=` must not make us connect inside our own network).
   */
  readonly allowNetworks?: readonly string[] | AddressPolicy;
  /** Milliseconds for one key server's answer (default 5000). */
  readonly timeout?: number;
  /** Largest key document accepted, octets (default 16384). */
  readonly maxBytes?: number;
  /** When no SRV record exists, try `https://<domain>/` as CalendarServer does (default true). */
  readonly fallbackToDomain?: boolean;
  /** Key documents remembered (default 1000), each for its max-age within 60 s to 1 h. */
  readonly cacheSize?: number;
  /** Fetches running at once (default 16), and for one registrable domain (default 2). */
  readonly maxConcurrent?: number;
  readonly maxConcurrentPerDomain?: number;
}

/** Key servers tried per lookup at most: 40 SRV targets must not mean 40 connections. */
const MAX_KEY_SERVERS = 3;
/** Records read from one key document or TXT answer at most. */
const MAX_RECORDS = 16;
/** Seconds a key document is kept: its max-age within these bounds, else the default. */
const DOCUMENT_TTL = { min: 60, max: 3600, default: 600 } as const;
/** Seconds "no key here" and a failed fetch are remembered. */
const NEGATIVE_TTL = 60;
const FAILURE_TTL = 10;

type CachedDocument = { readonly records: readonly string[] } | { readonly error: KeyLookupError };

/**
 * `http/well-known`: SRV `_domainkey_lookup._tcp.<domain>` names the key server; GET
 * `https://<server>/.well-known/domainkey/<domain>/<selector>`, a `text/plain` body with one
 * record per line. Always HTTPS, never redirected, only to allowed addresses. Documents (and
 * their absence, and failures) are cached; concurrent lookups of one key share one fetch.
 */
export function wellKnownKeys(options: WellKnownKeysOptions = {}): KeyResolver {
  checkOptions(wellKnownKeysOptions, options, 'wellKnownKeys options');
  const dns = dnsResolver(options.dns);
  const context: FetchContext = {
    dns,
    timeout: options.timeout ?? 5000,
    maxBytes: options.maxBytes ?? 16384,
    policy: addressPolicy(options.allowNetworks, 'wellKnownKeys allowNetworks'),
    ...(options.ca !== undefined && { ca: options.ca }),
    rejectUnauthorized: options.rejectUnauthorized ?? true,
  };
  const fallback = options.fallbackToDomain ?? true;
  const cache = new LruCache<string, CachedDocument>(options.cacheSize ?? 1000);
  const shared = new SharedTasks<string, readonly string[]>();
  const limit = new ConcurrencyLimit({
    total: options.maxConcurrent ?? 16,
    perGroup: options.maxConcurrentPerDomain ?? 2,
  });

  const fetchDocument = async (domain: string, selector: string, signal: AbortSignal) => {
    // Random sub-domains of one attacker's domain are one group.
    const release = acquire(limit, registrableDomain(domain) ?? domain);
    try {
      const urls = await keyDocumentUrls(dns, domain, selector, fallback, signal);
      let failure: KeyLookupError | undefined;
      for (const url of urls) {
        try {
          return await fetchKeyDocument(url, context, signal);
        } catch (error) {
          failure = error as KeyLookupError;
          debug('key server %s failed: %s', url.href, failure.detail ?? failure.message);
          if (signal.aborted) break;
        }
      }
      if (failure) throw failure;
      return { records: [], ttl: NEGATIVE_TTL };
    } finally {
      release();
    }
  };

  return {
    methods: ['http/well-known'],
    cached({ domain, selector }) {
      const cached = cache.get(`${domain}/${selector}`.toLowerCase());
      return cached && 'records' in cached ? cached.records : undefined;
    },
    async lookup({ domain, selector, signal }) {
      const key = `${domain}/${selector}`.toLowerCase();
      const cached = cache.get(key);
      if (cached) {
        if ('error' in cached) throw cached.error;
        return cached.records;
      }
      return shared.run(key, signal, async (sharedSignal) => {
        try {
          const { records, ttl } = await fetchDocument(domain, selector, sharedSignal);
          cache.set(key, { records }, ttl * 1000);
          return records;
        } catch (error) {
          const failure =
            error instanceof KeyLookupError
              ? error
              : new KeyLookupError(`the key lookup for ${domain} failed`, String(error));
          // Busy and abandoned lookups say nothing about the key server: not remembered.
          if (!(failure instanceof KeyLookupBusyError) && !sharedSignal.aborted)
            cache.set(key, { error: failure }, FAILURE_TTL * 1000);
          throw failure;
        }
      });
    },
  };
}

function acquire(limit: ConcurrencyLimit, group: string): () => void {
  try {
    return limit.acquire(group);
  } catch (error) {
    if (!(error instanceof CapacityError)) throw error;
    throw new KeyLookupBusyError(
      'too many key lookups are in progress here; retry shortly',
      `key fetches: ${error.message}`,
    );
  }
}

/**
 * The key document URLs to try, in RFC 2782 order: always https, whatever the SRV port; at most
 * MAX_KEY_SERVERS; targets that are no host names (IP literals included) skipped.
 */
export async function keyDocumentUrls(
  dns: DnsResolver,
  domain: string,
  selector: string,
  fallbackToDomain = true,
  signal?: AbortSignal,
): Promise<URL[]> {
  const path = `/.well-known/domainkey/${encodeURIComponent(domain)}/${encodeURIComponent(selector)}`;
  const origins = await keyServers(dns, domain, fallbackToDomain, signal);
  return origins.map((origin) => new URL(path, origin));
}

async function keyServers(
  dns: DnsResolver,
  domain: string,
  fallback: boolean,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const service = `_domainkey_lookup._tcp.${domain}`;
  let records: Awaited<ReturnType<DnsResolver['srv']>>;
  try {
    records = await dns.srv(service, signal);
  } catch (error) {
    throw dnsFailure(service, error, signal);
  }
  if (records.length === 0) {
    // A single label ("localhost") or an address is no domain with a web server of its own.
    return fallback && domain.includes('.') && !isAddressLike(domain) ? [`https://${domain}`] : [];
  }
  const hosts = orderSrv(records).filter((r) => isDomainName(r.target) && !isAddressLike(r.target));
  return hosts.slice(0, MAX_KEY_SERVERS).map((r) => `https://${r.target.replace(/\.$/, '')}:${r.port}`);
}

interface FetchContext {
  readonly dns: DnsResolver;
  readonly timeout: number;
  readonly maxBytes: number;
  readonly policy: AddressPolicy;
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  readonly rejectUnauthorized: boolean;
}

async function fetchKeyDocument(
  url: URL,
  context: FetchContext,
  signal: AbortSignal,
): Promise<{ records: string[]; ttl: number }> {
  const server = `the key server ${url.hostname}`;
  let response: Awaited<ReturnType<typeof httpRequest>>;
  try {
    response = await httpRequest({
      url,
      timeout: context.timeout,
      maxBytes: context.maxBytes,
      dns: context.dns,
      policy: context.policy,
      signal,
      headers: [['Accept', 'text/plain']],
      ...(context.ca !== undefined && { ca: context.ca }),
      rejectUnauthorized: context.rejectUnauthorized,
    });
  } catch (error) {
    const detail = `${url.href}: ${(error as Error).message}`;
    throw new KeyLookupError(`${server} ${httpFailure(error, context)}`, detail);
  }
  if (response.status === 404 || response.status === 410) return { records: [], ttl: NEGATIVE_TTL };
  if (response.status !== 200)
    throw new KeyLookupError(`${server} answered HTTP ${response.status}`, url.href);
  const type = (response.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'text/plain') {
    throw new KeyLookupError(
      `${server} did not serve text/plain`,
      `${url.href} served ${type || 'no content type'}`,
    );
  }
  return {
    records: splitRecordLines(response.body.toString('utf8')),
    ttl: documentTtl(response.headers['cache-control']),
  };
}

/** What went wrong with a key server, in our words: no addresses, no remote error text. */
function httpFailure(error: unknown, context: FetchContext): string {
  switch (error instanceof HttpError ? error.code : 'network') {
    case 'connect':
      return 'is unreachable';
    case 'refused':
      return 'has no address this receiver may connect to (only public addresses are used)';
    case 'tls':
      return 'failed the TLS check (its certificate is not trusted or not for its name)';
    case 'timeout':
      return `did not answer within ${context.timeout} ms`;
    case 'too-large':
      return `sent a key document over ${context.maxBytes} octets`;
    case 'aborted':
      return 'was not asked to the end (the lookup was abandoned)';
    default:
      return 'broke the connection';
  }
}

/** Seconds a key document is kept, from its Cache-Control (exported for its spec). */
export function documentTtl(cacheControl: string | undefined): number {
  const match = /(?:^|,)\s*max-age=(\d{1,9})/i.exec(cacheControl ?? '');
  const ttl = match ? Number(match[1]) : DOCUMENT_TTL.default;
  return Math.min(DOCUMENT_TTL.max, Math.max(DOCUMENT_TTL.min, ttl));
}

/** A DNS failure in our words; the name server's address and error text go to the detail. */
function dnsFailure(name: string, error: unknown, signal: AbortSignal | undefined): KeyLookupError {
  if (signal?.aborted) return new KeyLookupError(`the DNS lookup of ${name} was abandoned`);
  const code = error instanceof DnsError ? error.reason : 'network';
  const why =
    code === 'timeout'
      ? 'timed out'
      : code === 'network'
        ? 'got no answer'
        : code === 'malformed'
          ? 'got an unreadable answer'
          : `failed (${code})`;
  return new KeyLookupError(`the DNS lookup of ${name} ${why}`, String((error as Error)?.message ?? error));
}

function splitRecordLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .slice(0, MAX_RECORDS);
}
