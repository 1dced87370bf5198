/**
 * Receivers' capabilities, fetched once and kept: reloaded when any response's
 * `iSchedule-Capabilities` serial differs from the cached one, or when Cache-Control max-age
 * passes, with a conditional GET on the ETag.
 */

import createDebug from 'debug';
import { ExpressIScheduleError } from '../errors.js';
import type { HttpResponse } from '../http/request.js';
import { LruCache } from '../lru.js';
import type { IScheduleMetrics } from '../metrics.js';
import { type Capabilities, parseCapabilities } from '../xml/capabilities.js';
import type { Exchange } from './exchange.js';

const debug = createDebug('ischedule:sender:capabilities');

/** Largest capabilities document accepted, octets (real ones are a few kilobytes). */
/** A receiver's capabilities could not be had: not a document we can read, or an HTTP error. */
export class CapabilitiesError extends ExpressIScheduleError<'capabilities-unusable'> {
  override name = 'CapabilitiesError';
  constructor(message: string, detail?: string) {
    super('capabilities-unusable', message, detail);
  }
}

export const MAX_CAPABILITIES_BYTES = 65536;

/** A receiver's capabilities as the client keeps them: the document, where to POST, until when. */
export interface CachedCapabilities {
  readonly capabilities: Capabilities;
  /**
   * Where POSTs go: the URL that answered, when a redirect kept it on the same origin (it saves
   * a redirect per POST); else the URL asked, whose redirects each POST follows under the rules.
   */
  readonly url: URL;
  readonly etag?: string;
  readonly serial?: string;
  readonly expires: number;
}

export class CapabilitiesCache {
  readonly #entries: LruCache<string, CachedCapabilities>;
  readonly #stale = new Set<string>();
  readonly #inFlight = new Map<string, Promise<CachedCapabilities>>();
  readonly #exchange: Exchange;
  readonly #defaultLifetime: number;
  readonly #metrics: IScheduleMetrics | undefined;
  /** GETs sent (for benchmarks and tests). */
  fetches = 0;

  constructor(
    exchange: Exchange,
    options: { maxEntries: number; lifetimeMs: number; metrics?: IScheduleMetrics },
  ) {
    this.#exchange = exchange;
    this.#metrics = options.metrics;
    this.#entries = new LruCache(options.maxEntries);
    this.#defaultLifetime = options.lifetimeMs;
  }

  /**
   * The capabilities of the receiver at `url`, from cache when fresh. With `draft01`, a receiver
   * that answers `?action=capabilities` with 404 is asked draft -01's `?query=capabilities`.
   */
  async get(url: URL, draft01 = false): Promise<CachedCapabilities> {
    const key = url.href;
    const cached = this.#entries.get(key);
    if (cached && !this.#stale.has(key) && cached.expires > Date.now()) {
      this.#metrics?.capabilitiesLookup('hit');
      return cached;
    }
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = this.#measured(this.#load(url, cached, draft01)).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending;
  }

  /** Called with every response's `iSchedule-Capabilities`: a new serial marks the entry stale. */
  noteSerial(url: URL, serial: string | undefined): void {
    const cached = this.#entries.get(url.href);
    if (cached && serial !== undefined && cached.serial !== undefined && serial.trim() !== cached.serial) {
      debug('%s: serial %s -> %s, reloading', url.href, cached.serial, serial);
      this.#stale.add(url.href);
    }
  }

  /** One fetch counted once, however many callers wait for it. */
  async #measured(loading: Promise<CachedCapabilities>): Promise<CachedCapabilities> {
    if (!this.#metrics) return loading;
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const entry = await loading;
      this.#metrics.capabilitiesLookup('fetched', seconds());
      return entry;
    } catch (error) {
      this.#metrics.capabilitiesLookup('failed', seconds());
      throw error;
    }
  }

  async #load(
    url: URL,
    previous: CachedCapabilities | undefined,
    draft01: boolean,
  ): Promise<CachedCapabilities> {
    const query = new URL(url);
    query.searchParams.set('action', 'capabilities');
    const fetched = await this.#fetch(query, previous);
    if (fetched.response.status === 404 && draft01) {
      const old = new URL(url);
      old.searchParams.set('query', 'capabilities');
      debug('%s: no ?action=capabilities, asking draft -01 ?query=capabilities', url.href);
      return this.#store(url, old, await this.#fetch(old, undefined), previous);
    }
    return this.#store(url, query, fetched, previous);
  }

  async #fetch(
    query: URL,
    previous: CachedCapabilities | undefined,
  ): Promise<{ response: HttpResponse; finalUrl: URL }> {
    this.fetches++;
    // Some receivers (Cyrus 3.6) fail a second GET on one kept-alive connection: close it.
    const headers: Array<[string, string]> = [
      ['Accept', 'application/xml, text/xml'],
      ['Connection', 'close'],
    ];
    if (previous?.etag) headers.push(['If-None-Match', previous.etag]);
    return this.#exchange.get(query, headers, MAX_CAPABILITIES_BYTES);
  }

  #store(
    url: URL,
    query: URL,
    { response, finalUrl }: { response: HttpResponse; finalUrl: URL },
    previous: CachedCapabilities | undefined,
  ): CachedCapabilities {
    const lifetime = maxAge(response.headers['cache-control']) ?? this.#defaultLifetime;
    let entry: CachedCapabilities;
    if (response.status === 304 && previous) {
      entry = { ...previous, expires: Date.now() + lifetime };
    } else if (response.status === 200) {
      let capabilities: Capabilities;
      try {
        capabilities = parseCapabilities(response.body.toString('utf8'));
      } catch (error) {
        throw new CapabilitiesError(
          `${query.href} served no usable capabilities document`,
          (error as Error).message,
        );
      }
      // A capabilities redirect never makes another server the POST target.
      const target = new URL(finalUrl.origin === url.origin ? finalUrl : url);
      target.search = '';
      const serial =
        response.headers['ischedule-capabilities']?.trim() ?? capabilities.serialNumber?.toString();
      entry = {
        capabilities,
        url: target,
        expires: Date.now() + lifetime,
        ...(response.headers.etag && { etag: response.headers.etag }),
        ...(serial !== undefined && { serial }),
      };
    } else {
      const hint =
        response.status === 404 && query.searchParams.has('action')
          ? ' (a draft -01 receiver such as DAViCal answers only ?query=capabilities: list its domain in draft01Peers)'
          : '';
      throw new CapabilitiesError(
        `${query.href} answered HTTP ${response.status} to the capabilities query${hint}`,
      );
    }
    this.#entries.set(url.href, entry);
    this.#stale.delete(url.href);
    return entry;
  }
}

function maxAge(cacheControl: string | undefined): number | undefined {
  const match = /(?:^|,)\s*max-age=(\d+)/i.exec(cacheControl ?? '');
  return match ? Number(match[1]) * 1000 : undefined;
}
