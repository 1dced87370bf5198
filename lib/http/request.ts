/**
 * One bounded HTTPS exchange: a deadline on the whole exchange, a cap on the response body, TLS
 * verified unless the caller explicitly says otherwise, and host names resolved through the
 * package's DNS client when one is given (so tests and private deployments need no system DNS).
 */

import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import net from 'node:net';
import type { DnsClient } from '../dns/client.js';

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
  readonly dns?: DnsClient;
}

export interface HttpResponse {
  readonly status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export class HttpError extends Error {
  override name = 'HttpError';
  /** `timeout`, `too-large`, `connect` (nothing was sent), `network`. */
  readonly code: 'timeout' | 'too-large' | 'connect' | 'network';
  constructor(code: HttpError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export function httpRequest(request: HttpRequest): Promise<HttpResponse> {
  const { url } = request;
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:')
    return Promise.reject(new HttpError('network', `unsupported URL ${url.href}`));
  const transport = secure ? https : http;
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
      req.destroy();
      reject(error);
    };
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
      ...(request.dns && !net.isIP(url.hostname) && { lookup: dnsLookup(request.dns) }),
    });
    const timer = setTimeout(
      () => fail(new HttpError('timeout', `${url.origin} did not answer within ${request.timeout} ms`)),
      request.timeout,
    );
    req.on('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      const refused =
        !connected && ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH'].includes(error.code ?? '');
      fail(new HttpError(refused ? 'connect' : 'network', `${url.origin}: ${error.message}`));
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

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** A `net` lookup function answered by the package's DNS client. */
export function dnsLookup(dns: DnsClient): LookupFunction {
  return (hostname, options, callback) => {
    dns.addresses(hostname).then(
      (addresses) => {
        const all = addresses.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }));
        if (all.length === 0) {
          const error: NodeJS.ErrnoException = new Error(`no address for ${hostname}`);
          error.code = 'ENOTFOUND';
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
