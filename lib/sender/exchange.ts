/**
 * HTTP exchanges with receivers: one keep-alive agent per origin, TLS verified unless turned off
 * explicitly, redirects followed by the client itself (POST stays POST, at most 3 hops, only to
 * https within the receiver's registrable domain), bounded retries for refused connections and
 * 503 Retry-After. Receivers found through DNS, and every redirect, are reached only at
 * addresses the policy allows; the origins the operator named (overrides) are trusted as named.
 */

import http from 'node:http';
import https from 'node:https';
import createDebug from 'debug';
import type { DnsResolver } from '../dns/client.js';
import { registrableDomain } from '../dns/names.js';
import { ExpressIScheduleError } from '../errors.js';
import { HttpError, type HttpResponse, httpRequest, retryAfterSeconds } from '../http/request.js';
import { type AddressPolicy, isAddressLike } from '../net/address-policy.js';

const debug = createDebug('ischedule:sender:http');

const REDIRECTS = new Set([301, 302, 307, 308]);
const MAX_HOPS = 3;

export interface ExchangeOptions {
  readonly dns: DnsResolver;
  readonly timeout: number;
  readonly maxResponseBytes: number;
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  readonly rejectUnauthorized: boolean;
  /** Attempts for a refused connection or a 503 (default 3). */
  readonly attempts: number;
  /** First backoff, doubled each time (default 200 ms); Retry-After above `maxRetryAfter` is not waited for. */
  readonly backoffMs: number;
  readonly maxRetryAfterMs: number;
  /** Which addresses untrusted URLs may reach. */
  readonly policy: AddressPolicy;
  /** Origins the operator configured (overrides): reached as named, without the policy. */
  readonly trustedOrigins: ReadonlySet<string>;
}

/** A receiver redirected somewhere this client will not follow (another domain, http, too many hops). */
export class RedirectError extends ExpressIScheduleError<'redirect-refused'> {
  override name = 'RedirectError';
  constructor(message: string) {
    super('redirect-refused', message);
  }
}

/** A request's headers, or how to make them for each URL it goes to (a draft -01 peer signs Host). */
export type HopHeaders =
  | ReadonlyArray<readonly [string, string]>
  | ((url: URL) => ReadonlyArray<readonly [string, string]>);

export class Exchange {
  readonly #agents = new Map<string, http.Agent>();
  readonly #options: ExchangeOptions;
  /** Requests sent, redirects and retries included. */
  requests = 0;

  constructor(options: ExchangeOptions) {
    this.#options = options;
  }

  /** A GET, redirects followed; `maxBytes` bounds the answer (default maxResponseBytes). */
  get(
    url: URL,
    headers: ReadonlyArray<readonly [string, string]>,
    maxBytes = this.#options.maxResponseBytes,
  ): Promise<{ response: HttpResponse; finalUrl: URL }> {
    return this.#follow(url, 'GET', headers, undefined, maxBytes);
  }

  /** POSTs the exact headers and body, re-POSTing on redirects; retries refusals and 503. */
  async post(
    url: URL,
    headers: HopHeaders,
    body: Buffer,
  ): Promise<{ response: HttpResponse; finalUrl: URL }> {
    const { attempts, backoffMs, maxRetryAfterMs } = this.#options;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.#follow(url, 'POST', headers, body, this.#options.maxResponseBytes);
        const wait = retryAfter(result.response, maxRetryAfterMs);
        if (result.response.status !== 503 || wait === undefined || attempt >= attempts) return result;
        debug('%s: 503, retrying in %d ms', url.href, wait);
        await sleep(wait);
      } catch (error) {
        // Only a connection that was never made is safe to retry: nothing was delivered.
        if (!(error instanceof HttpError && error.code === 'connect') || attempt >= attempts) throw error;
        debug('%s: %s, retrying', url.href, error.message);
        await sleep(backoffMs * 2 ** (attempt - 1));
      }
    }
  }

  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }

  /** Whether `url` is one the operator named, reached without the address policy. */
  #trusted(url: URL): boolean {
    return this.#options.trustedOrigins.has(url.origin);
  }

  async #follow(
    start: URL,
    method: string,
    headers: HopHeaders,
    body: Buffer | undefined,
    maxBytes: number,
  ): Promise<{ response: HttpResponse; finalUrl: URL }> {
    let url = start;
    for (let hop = 0; ; hop++) {
      this.requests++;
      const response = await httpRequest({
        url,
        method,
        headers: typeof headers === 'function' ? headers(url) : headers,
        ...(body && { body }),
        timeout: this.#options.timeout,
        maxBytes,
        agent: this.#agent(url),
        dns: this.#options.dns,
        ...(!this.#trusted(url) && { policy: this.#options.policy }),
      });
      const location = response.headers.location;
      if (!REDIRECTS.has(response.status) || !location) return { response, finalUrl: url };
      if (hop >= MAX_HOPS) throw new RedirectError(`more than ${MAX_HOPS} redirects from ${start.href}`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new RedirectError(`${url.href} redirected to an invalid location`);
      }
      const refusal = this.#redirectRefusal(url, next, start);
      if (refusal) throw new RedirectError(`${url.href} redirected ${refusal} (refused)`);
      debug('%s %s -> %d %s', method, url.href, response.status, next.href);
      url = next;
    }
  }

  /**
   * A redirect may stay on its origin, go to an origin the operator named, or go to https on
   * the registrable domain of the receiver first asked; anything else is refused.
   */
  #redirectRefusal(from: URL, to: URL, start: URL): string | undefined {
    if (to.origin === from.origin) return undefined;
    if (to.protocol !== 'https:') return `to ${to.protocol} (only https is followed)`;
    if (this.#trusted(to)) return undefined;
    const home = isAddressLike(start.hostname) ? undefined : registrableDomain(start.hostname);
    if (home && !isAddressLike(to.hostname) && registrableDomain(to.hostname) === home) return undefined;
    return `to ${to.host}, outside ${home ?? start.host}`;
  }

  #agent(url: URL): http.Agent {
    let agent = this.#agents.get(url.origin);
    if (!agent) {
      // No lookup here: each request brings its own, guarded by the policy when untrusted.
      const common = { keepAlive: true, maxSockets: 16 };
      agent =
        url.protocol === 'https:'
          ? new https.Agent({
              ...common,
              ca: this.#options.ca as https.AgentOptions['ca'],
              rejectUnauthorized: this.#options.rejectUnauthorized,
            })
          : new http.Agent(common);
      this.#agents.set(url.origin, agent);
    }
    return agent;
  }
}

/** Milliseconds to wait before retrying a 503, when it says and it is short enough. */
function retryAfter(response: HttpResponse, maxMs: number): number | undefined {
  const seconds = retryAfterSeconds(response);
  if (seconds === undefined) return undefined;
  const ms = seconds * 1000;
  return ms <= maxMs ? ms : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
