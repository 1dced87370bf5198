/**
 * Where a sender's public key comes from, one resolver per `q=` method (draft -05 §5.7):
 * `dns/txt`, `http/well-known` and `private-exchange`. Resolvers are injectable and chain; the
 * verifier asks them in the order the signature's `q=` lists the methods.
 */
import createDebug from 'debug';
import { DnsClient, type DnsOptions } from '../dns/client.js';
import { orderSrv } from '../dns/srv.js';
import { HttpError, httpRequest } from '../http/request.js';
import type { QueryMethod } from './signature.js';

const debug = createDebug('ischedule:dkim:keys');

export interface KeyQuery {
  readonly domain: string;
  readonly selector: string;
  readonly method: QueryMethod;
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
}

/** A temporary failure to look a key up: the key may exist, but could not be fetched. */
export class KeyLookupError extends Error {
  override name = 'KeyLookupError';
}

/** The owner name of a key record: `<selector>._domainkey.<domain>`. */
export function keyRecordName(domain: string, selector: string): string {
  return `${selector}._domainkey.${domain}`.toLowerCase();
}

/** Combines resolvers: for a method, the first resolver that has records for it answers. */
export function chainKeys(...resolvers: readonly KeyResolver[]): KeyResolver {
  const methods = [...new Set(resolvers.flatMap((r) => r.methods))];
  return {
    methods,
    async lookup(query) {
      let failure: unknown;
      for (const resolver of resolvers) {
        if (!resolver.methods.includes(query.method)) continue;
        try {
          const records = await resolver.lookup(query);
          if (records.length > 0) return records;
        } catch (error) {
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
  const byName = new Map<string, string[]>();
  for (const [name, value] of Object.entries(records)) {
    const lines = (typeof value === 'string' ? [value] : value).flatMap(splitRecordLines);
    byName.set(name.toLowerCase().replace(/\.$/, ''), lines);
  }
  return {
    methods: ['private-exchange'],
    async lookup({ domain, selector }) {
      return byName.get(keyRecordName(domain, selector)) ?? [];
    },
  };
}

export interface DnsKeysOptions extends DnsOptions {
  /** A DNS client to share (its own options then apply). */
  readonly client?: DnsClient;
}

/** `dns/txt`: the TXT records at `<selector>._domainkey.<domain>`, chunks joined. */
export function dnsKeys(options: DnsKeysOptions = {}): KeyResolver {
  const dns = options.client ?? new DnsClient(options);
  return {
    methods: ['dns/txt'],
    async lookup({ domain, selector }) {
      try {
        return await dns.txt(keyRecordName(domain, selector));
      } catch (error) {
        throw new KeyLookupError(
          `DNS lookup of ${keyRecordName(domain, selector)} failed: ${(error as Error).message}`,
        );
      }
    },
  };
}

/**
 * The usual way to find senders' keys: `dns/txt`, then `http/well-known`, over one DNS client
 * (the receiver's default).
 */
export function defaultKeys(options: WellKnownKeysOptions = {}): KeyResolver {
  const dns = options.dns instanceof DnsClient ? options.dns : new DnsClient(options.dns);
  return chainKeys(dnsKeys({ client: dns }), wellKnownKeys({ ...options, dns }));
}

export interface WellKnownKeysOptions {
  /** DNS for the `_domainkey_lookup._tcp` SRV and the key server's address. */
  readonly dns?: DnsClient | DnsOptions;
  /** Extra trusted CA certificates (PEM) for the key servers. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Verify key servers' certificates (default true; turning it off defeats the purpose). */
  readonly rejectUnauthorized?: boolean;
  /** Milliseconds for the whole fetch (default 5000). */
  readonly timeout?: number;
  /** Largest key document accepted, octets (default 65536). */
  readonly maxBytes?: number;
  /** When no SRV record exists, try `https://<domain>/` as CalendarServer does (default true). */
  readonly fallbackToDomain?: boolean;
}

/**
 * `http/well-known`: SRV `_domainkey_lookup._tcp.<domain>` names the key server; GET
 * `https://<server>/.well-known/domainkey/<domain>/<selector>`, a `text/plain` body with one
 * record per line. Always HTTPS, never redirected.
 */
export function wellKnownKeys(options: WellKnownKeysOptions = {}): KeyResolver {
  const dns = options.dns instanceof DnsClient ? options.dns : new DnsClient(options.dns);
  const timeout = options.timeout ?? 5000;
  const maxBytes = options.maxBytes ?? 65536;
  return {
    methods: ['http/well-known'],
    async lookup({ domain, selector }) {
      const urls = await keyDocumentUrls(dns, domain, selector, options.fallbackToDomain ?? true);
      let failure: Error | undefined;
      for (const url of urls) {
        try {
          return await fetchKeyDocument(url, { dns, timeout, maxBytes, options });
        } catch (error) {
          failure = error as Error;
          debug('key server %s failed: %s', url.href, failure.message);
        }
      }
      if (failure) throw failure instanceof KeyLookupError ? failure : new KeyLookupError(failure.message);
      return [];
    },
  };
}

/** The key document URLs to try, in RFC 2782 order: always https, whatever the SRV port. */
export async function keyDocumentUrls(
  dns: DnsClient,
  domain: string,
  selector: string,
  fallbackToDomain = true,
): Promise<URL[]> {
  const path = `/.well-known/domainkey/${encodeURIComponent(domain)}/${encodeURIComponent(selector)}`;
  const origins = await keyServers(dns, domain, fallbackToDomain);
  return origins.map((origin) => new URL(path, origin));
}

async function keyServers(dns: DnsClient, domain: string, fallback: boolean): Promise<string[]> {
  let records: Awaited<ReturnType<DnsClient['srv']>>;
  try {
    records = await dns.srv(`_domainkey_lookup._tcp.${domain}`);
  } catch (error) {
    throw new KeyLookupError(
      `SRV lookup for the key server of ${domain} failed: ${(error as Error).message}`,
    );
  }
  if (records.length === 0) return fallback ? [`https://${domain}`] : [];
  return orderSrv(records).map((r) => `https://${r.target.replace(/\.$/, '')}:${r.port}`);
}

async function fetchKeyDocument(
  url: URL,
  context: { dns: DnsClient; timeout: number; maxBytes: number; options: WellKnownKeysOptions },
): Promise<string[]> {
  let response: Awaited<ReturnType<typeof httpRequest>>;
  try {
    response = await httpRequest({
      url,
      timeout: context.timeout,
      maxBytes: context.maxBytes,
      dns: context.dns,
      headers: [['Accept', 'text/plain']],
      ...(context.options.ca !== undefined && { ca: context.options.ca }),
      ...(context.options.rejectUnauthorized !== undefined && {
        rejectUnauthorized: context.options.rejectUnauthorized,
      }),
    });
  } catch (error) {
    const reason = error instanceof HttpError ? error.message : String(error);
    throw new KeyLookupError(`fetching ${url.href} failed: ${reason}`);
  }
  if (response.status === 404 || response.status === 410) return [];
  if (response.status !== 200) throw new KeyLookupError(`${url.href} answered HTTP ${response.status}`);
  const type = (response.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'text/plain')
    throw new KeyLookupError(`${url.href} served ${type || 'no content type'}, not text/plain`);
  return splitRecordLines(response.body.toString('utf8'));
}

function splitRecordLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}
