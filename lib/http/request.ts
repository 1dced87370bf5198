/**
 * One bounded HTTPS exchange: a deadline on the whole exchange, a cap on the response body, TLS
 * verified unless the caller explicitly says otherwise, and host names resolved through the
 * package's DNS client when one is given (so tests and private deployments need no system DNS).
 * With an address policy, only addresses it allows are dialled: the address checked is the
 * address connected to, so no second resolution can slip in between.
 */

import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import net from 'node:net';
import type { DnsResolver } from '../dns/client.js';
import { ExpressIScheduleError } from '../errors.js';
import { type AddressPolicy, unbracket } from '../net/address-policy.js';

export interface HttpRequest {
  readonly url: URL;
  readonly method?: string;
  /** Sent exactly as given, in order. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly body?: Uint8Array;
  readonly timeout: number;
  readonly maxBytes: number;
  readonly agent?: http.Agent;
  /** Extra trusted CA certificates (PEM). */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Verify the server certificate (default true). */
  readonly rejectUnauthorized?: boolean;
  readonly dns?: DnsResolver;
  /** Only connect to addresses this policy allows (untrusted names); absent: any address. */
  readonly policy?: AddressPolicy;
  /** Abandons the exchange (a caller's deadline, a client that went away). */
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Seconds from now that a response's Retry-After asks for (delta or HTTP date), if it does. */
export function retryAfterSeconds(response: HttpResponse): number | undefined {
  const value = response.headers['retry-after'];
  if (value === undefined) return undefined;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  return Number.isFinite(seconds) ? Math.max(0, Math.ceil(seconds)) : undefined;
}

/** How an HTTP exchange failed (HttpError.code). */
export type HttpErrorCode =
  /** No answer within the deadline. */
  | 'timeout'
  /** The answer was larger than allowed. */
  | 'too-large'
  /** No connection was made: nothing was sent. */
  | 'connect'
  /** The address policy refused every address of the host: nothing was sent. */
  | 'refused'
  /** The TLS handshake failed (certificate not trusted, wrong name, protocol). */
  | 'tls'
  /** The caller abandoned the exchange. */
  | 'aborted'
  | 'network';

/** An HTTP exchange with another server failed; `code` says how. */
export class HttpError extends ExpressIScheduleError<HttpErrorCode> {
  override name = 'HttpError';
}

/** Thrown by the guarded lookup when the policy refuses every address of a host. */
const ADDRESS_REFUSED = 'ERR_ISCHEDULE_ADDRESS_REFUSED';
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

export function httpRequest(request: HttpRequest): Promise<HttpResponse> {
  const { url } = request;
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:')
    return Promise.reject(new HttpError('network', `unsupported URL ${url.href}`));
  const transport = secure ? https : http;
  const literal = unbracket(url.hostname);
  if (request.policy && net.isIP(literal)) {
    const refusal = request.policy.refusal(literal);
    if (refusal)
      return Promise.reject(
        new HttpError('refused', `${url.origin}: ${refusal}, not allowed (allowNetworks)`),
      );
  }
  if (request.signal?.aborted) return Promise.reject(new HttpError('aborted', `${url.origin}: abandoned`));
  // Headers go out as a raw list, exactly as given; Node then adds no Host of its own.
  const headers: string[] = [];
  const given = request.headers ?? [];
  if (!given.some(([name]) => name.toLowerCase() === 'host')) headers.push('Host', url.host);
  for (const [name, value] of given) headers.push(name, value);
  if (request.body) headers.push('Content-Length', String(request.body.length));

  return new Promise((resolve, reject) => {
    let settled = false;
    let connected = false;
    const fail = (error: HttpError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      reject(error);
    };
    const onAbort = () => fail(new HttpError('aborted', `${url.origin}: abandoned`));
    const req = transport.request(url, {
      method: request.method ?? 'GET',
      headers,
      ...(request.agent && { agent: request.agent }),
      // With an agent, its own TLS settings apply: request-level ones would override them.
      ...(secure &&
        !request.agent && {
          ca: request.ca as https.RequestOptions['ca'],
          rejectUnauthorized: request.rejectUnauthorized ?? true,
        }),
      ...(request.dns && !net.isIP(literal) && { lookup: dnsLookup(request.dns, request.policy) }),
    });
    request.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => fail(new HttpError('timeout', `${url.origin} did not answer within ${request.timeout} ms`)),
      request.timeout,
    );
    req.on('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      fail(new HttpError(classify(error, connected), `${url.origin}: ${error.message}`));
    });
    req.on('response', (res) => {
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > request.maxBytes) {
        return fail(
          new HttpError('too-large', `${url.origin} answered ${declared} octets, over ${request.maxBytes}`),
        );
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > request.maxBytes)
          return fail(new HttpError('too-large', `${url.origin} answered over ${request.maxBytes} octets`));
        chunks.push(chunk);
      });
      res.on('error', (error) => fail(new HttpError('network', `${url.origin}: ${error.message}`)));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
        resolve({
          status: res.statusCode ?? 0,
          headers: flattenHeaders(res.headers),
          body: Buffer.concat(chunks, size),
        });
      });
    });
    req.end(request.body);
  });
}

function classify(error: NodeJS.ErrnoException, connected: boolean): HttpErrorCode {
  const code = error.code ?? '';
  if (code === ADDRESS_REFUSED) return 'refused';
  if (!connected && CONNECT_FAILURES.has(code)) return 'connect';
  if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL)/.test(code)) return 'tls';
  return 'network';
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/**
 * A `net` lookup function answered by the package's DNS client. With a policy, addresses it
 * refuses are dropped; a host left with none fails with ADDRESS_REFUSED.
 */
function dnsLookup(dns: DnsResolver, policy?: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dns.addresses(hostname).then(
      (addresses) => {
        const refused: string[] = [];
        const usable = addresses.filter((address) => {
          const refusal = policy?.refusal(address);
          if (refusal) refused.push(`${address} (${refusal})`);
          return !refusal;
        });
        const all = usable.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }));
        if (all.length === 0) {
          const error: NodeJS.ErrnoException = new Error(
            refused.length
              ? `${hostname} resolves only to addresses not allowed (allowNetworks): ${refused.join(', ')}`
              : `no address for ${hostname}`,
          );
          error.code = refused.length ? ADDRESS_REFUSED : 'ENOTFOUND';
          return callback(error, '', 0);
        }
        if (options.all) return (callback as unknown as (e: null, a: typeof all) => void)(null, all);
        const first = all[0]!;
        callback(null, first.address, first.family);
      },
      (error: Error) => {
        const failure: NodeJS.ErrnoException = new Error(`${hostname}: ${error.message}`);
        failure.code = 'ENOTFOUND';
        callback(failure, '', 0);
      },
    );
  };
}
