/**
 * A small caching stub resolver: TXT, SRV and address lookups against configured name servers,
 * answers cached for their TTL, empty answers and failures cached briefly. DNS answers are
 * untrusted input: only records for the name asked (or its CNAME chain) are used.
 */
import { getServers } from 'node:dns';
import createDebug from 'debug';
import { Packet, type Resource } from 'dns2';
import { abortable } from '../concurrency.js';
import { LruCache } from '../lru.js';
import { askNameServer, DnsError, type NameServer, type RecordType } from './transport.js';

export type { NameServer };
export { DnsError };

const debug = createDebug('ischedule:dns');

/** Options of the built-in DNS client (any `dns` option takes these or a DnsResolver). */
export interface DnsOptions {
  /** Name servers as `host`, `host:port` or `[v6]:port`; default: the system's. */
  readonly servers?: readonly string[];
  /** Port for servers given without one (default 53). */
  readonly port?: number;
  /** Milliseconds allowed per query and server (default 3000). */
  readonly timeout?: number;
  /** Names kept in the cache (default 1000). */
  readonly cacheSize?: number;
  /** Seconds an empty answer (NXDOMAIN, no data) is remembered (default 60). */
  readonly negativeTtl?: number;
  /** Seconds a failure (timeout, SERVFAIL) is remembered (default 5). */
  readonly failureTtl?: number;
  /** Upper bound on any cached TTL, seconds (default 86400). */
  readonly maxTtl?: number;
  /** Lower bound on a positive answer's cached TTL, seconds (default 0: as the zone says). */
  readonly minTtl?: number;
}

/**
 * What the package asks of DNS. DnsClient is one; a host may pass its own (a shared cache, DNS
 * over HTTPS, a test double) wherever a `dns` option is taken.
 */
export interface DnsResolver {
  /** TXT records at `name`, each record's strings joined; empty when there are none. Throws when no answer can be had. */
  txt(name: string, signal?: AbortSignal): Promise<readonly string[]>;
  /** SRV records at `name`; empty when there are none. */
  srv(name: string, signal?: AbortSignal): Promise<readonly SrvRecord[]>;
  /** IPv4 and IPv6 addresses of `host`; empty when there are none. */
  addresses(host: string): Promise<readonly string[]>;
  /** A TXT answer already at hand, synchronously (optional: a fast path for cached keys). */
  cachedTxt?(name: string): readonly string[] | undefined;
}

/**
 * The resolver a `dns` option stands for: a DnsResolver as given, else a DnsClient made from
 * DnsOptions (the option's schema has already refused an object that is neither).
 */
export function dnsResolver(
  given: DnsResolver | DnsOptions | undefined,
  defaults: DnsOptions = {},
): DnsResolver {
  if (typeof (given as Partial<DnsResolver> | undefined)?.txt === 'function') return given as DnsResolver;
  return new DnsClient({ ...defaults, ...(given as DnsOptions | undefined) });
}

/** One SRV record (RFC 2782). */
export interface SrvRecord {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

type Answer = { readonly records: readonly Resource[] } | { readonly error: DnsError };

const RCODE_NAMES: Record<number, string> = { 1: 'FORMERR', 2: 'SERVFAIL', 4: 'NOTIMP', 5: 'REFUSED' };
const NXDOMAIN = 3;
const MAX_CNAME_HOPS = 8;

export class DnsClient {
  readonly #servers: readonly NameServer[];
  readonly #timeout: number;
  readonly #negativeTtl: number;
  readonly #failureTtl: number;
  readonly #maxTtl: number;
  readonly #minTtl: number;
  readonly #cache: LruCache<string, Answer>;
  readonly #inFlight = new Map<string, Promise<Answer>>();
  /** Questions sent to a name server (cache misses), for benchmarks and tests. */
  queries = 0;

  constructor(options: DnsOptions = {}) {
    const port = options.port ?? 53;
    const servers = options.servers?.length ? options.servers : getServers();
    this.#servers = servers.map((server) => parseServer(server, port));
    if (this.#servers.length === 0) throw new TypeError('DnsClient needs at least one name server');
    this.#timeout = options.timeout ?? 3000;
    this.#negativeTtl = options.negativeTtl ?? 60;
    this.#failureTtl = options.failureTtl ?? 5;
    this.#maxTtl = options.maxTtl ?? 86400;
    this.#minTtl = Math.min(options.minTtl ?? 0, this.#maxTtl);
    this.#cache = new LruCache(options.cacheSize ?? 1000);
  }

  /**
   * TXT records at `name`, each record's strings joined. Empty when there are none. A `signal`
   * stops the wait (the query itself runs to its own timeout for whoever else asked).
   */
  async txt(name: string, signal?: AbortSignal): Promise<readonly string[]> {
    return joinedTxt(await this.#lookup(name, 'TXT', signal));
  }

  /**
   * The TXT records at `name` when a live cached answer has them (the same array each time),
   * `[]` for a cached empty answer, undefined when only a query (or a failure) would tell.
   */
  cachedTxt(name: string): readonly string[] | undefined {
    const answer = this.#cache.get(`${normalize(name)} TXT`);
    return answer && !('error' in answer) ? joinedTxt(answer.records) : undefined;
  }

  /** SRV records at `name`, unordered (see `orderSrv`). */
  async srv(name: string, signal?: AbortSignal): Promise<SrvRecord[]> {
    const records = await this.#lookup(name, 'SRV', signal);
    return records
      .filter((r) => Number.isInteger(r.port) && typeof r.target === 'string')
      .map((r) => ({
        priority: r.priority ?? 0,
        weight: r.weight ?? 0,
        port: r.port ?? 0,
        target: r.target ?? '',
      }));
  }

  /** IPv4 then IPv6 addresses of a host. */
  async addresses(host: string): Promise<string[]> {
    const [v4, v6] = await Promise.allSettled([this.#lookup(host, 'A'), this.#lookup(host, 'AAAA')]);
    const found = [v4, v6].flatMap((result) =>
      result.status === 'fulfilled' ? result.value.map((record) => record.address ?? '') : [],
    );
    if (found.length === 0 && v4.status === 'rejected') throw v4.reason;
    return found.filter(Boolean);
  }

  async #lookup(name: string, type: RecordType, signal?: AbortSignal): Promise<readonly Resource[]> {
    const question = `${normalize(name)} ${type}`;
    // A cached answer never touches the signal: listening on one costs more than the lookup.
    const cached = this.#cache.get(question);
    const answer = cached ?? (await abortable(this.#shared(question, normalize(name), type), signal));
    if ('error' in answer) throw answer.error;
    return answer.records;
  }

  /** Concurrent identical questions share one query. */
  #shared(question: string, name: string, type: RecordType): Promise<Answer> {
    let pending = this.#inFlight.get(question);
    if (!pending) {
      pending = this.#ask(name, type).finally(() => this.#inFlight.delete(question));
      this.#inFlight.set(question, pending);
    }
    return pending;
  }

  async #ask(name: string, type: RecordType): Promise<Answer> {
    const question = `${name} ${type}`;
    let lastError: DnsError | undefined;
    for (const server of this.#servers) {
      this.queries++;
      try {
        const response = await askNameServer(server, name, type, this.#timeout);
        const rcode = response.header.rcode;
        if (rcode === NXDOMAIN) return this.#remember(question, { records: [] }, this.#negativeTtl);
        if (rcode !== 0) {
          lastError = new DnsError(
            RCODE_NAMES[rcode] ?? `RCODE${rcode}`,
            `${question}: ${RCODE_NAMES[rcode] ?? rcode}`,
          );
          continue;
        }
        const records = matching(response, name, Packet.TYPE[type]);
        const ttl = records.length
          ? Math.max(this.#minTtl, Math.min(...records.map((r) => r.ttl)))
          : this.#negativeTtl;
        debug('%s: %d record(s), ttl %d', question, records.length, ttl);
        return this.#remember(question, { records }, Math.min(ttl, this.#maxTtl));
      } catch (error) {
        lastError = error instanceof DnsError ? error : new DnsError('network', String(error));
        debug('%s via %s:%d failed: %s', question, server.host, server.port, lastError.message);
      }
    }
    const error = lastError ?? new DnsError('network', `${question}: no name server answered`);
    return this.#remember(question, { error }, this.#failureTtl);
  }

  #remember(question: string, answer: Answer, ttlSeconds: number): Answer {
    if (ttlSeconds > 0) this.#cache.set(question, answer, ttlSeconds * 1000);
    return answer;
  }
}

const joined = new WeakMap<readonly Resource[], readonly string[]>();

/** Each TXT record's strings joined; one array per answer, so callers can cache by it. */
function joinedTxt(records: readonly Resource[]): readonly string[] {
  let texts = joined.get(records);
  if (!texts) {
    texts = records.map((record) =>
      Array.isArray(record.data) ? record.data.join('') : String(record.data ?? ''),
    );
    joined.set(records, texts);
  }
  return texts;
}

/** The answer records of `type` for `name`, following a CNAME chain inside the answer section. */
function matching(response: Packet, name: string, type: number): Resource[] {
  let owner = name;
  for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
    const own = response.answers.filter((r) => normalize(r.name) === owner);
    const records = own.filter((r) => r.type === type && r.class === Packet.CLASS.IN);
    if (records.length) return records;
    const alias = own.find((r) => r.type === Packet.TYPE.CNAME && typeof r.domain === 'string');
    if (!alias?.domain) return [];
    owner = normalize(alias.domain);
  }
  return [];
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function parseServer(server: string, defaultPort: number): NameServer {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(server);
  if (bracketed) return { host: bracketed[1] ?? '', port: Number(bracketed[2] ?? defaultPort) };
  const parts = server.split(':');
  if (parts.length === 2) return { host: parts[0] ?? '', port: Number(parts[1]) };
  return { host: server, port: defaultPort };
}
