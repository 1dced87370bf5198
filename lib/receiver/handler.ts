/**
 * The receiver as one plain Node request handler: `(req, res, next?)`. It answers capability
 * queries, scheduling POSTs and OPTIONS on its path(s), and serves this server's public keys at
 * /.well-known/domainkey/<domain>/<selector>. Express mounts it as middleware; node:http, http2
 * (compatibility API) and Koa call it directly. Nothing here needs Express.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import createDebug from 'debug';
import { LazyAbortController } from '../concurrency.js';
import { wellKnownBody } from '../dkim/publish-key.js';
import { IScheduleError, SetupError, VerificationError } from '../errors.js';
import { LruCache } from '../lru.js';
import { buildCapabilities, buildDraft01Capabilities } from '../xml/capabilities.js';
import { buildScheduleResponse } from '../xml/response.js';
import type { IScheduleRouterOptions } from './options.js';
import { handleSchedulingRequest } from './pipeline.js';
import { type ResolvedOptions, resolveOptions } from './resolve-options.js';
import { sendError, sendText, sendXml, setIScheduleHeaders } from './respond.js';

const debug = createDebug('ischedule:receiver:handler');

const ALLOW = 'GET, HEAD, POST, OPTIONS';
const KEY_PREFIX = '/.well-known/domainkey/';

/** A request as node:http or the http2 compatibility API hands it over (Express's extends it). */
export type IncomingRequest = IncomingMessage | Http2ServerRequest;
/** The response that goes with an IncomingRequest. */
export type OutgoingResponse = ServerResponse | Http2ServerResponse;

/**
 * The receiver's request handler. Requests for its paths are answered; any other request is
 * passed to `next` when there is one (Express, Koa), or answered 404 (node:http).
 */
export type IScheduleHandler = (
  req: IncomingRequest,
  res: OutgoingResponse,
  next?: (error?: unknown) => void,
) => void;

/**
 * Makes the iSchedule receiver: verify each POST's DKIM signature, check the iTIP message, and
 * deliver it through `options.adapter`. Options are checked here; a mistake throws a TypeError
 * naming the option, at startup rather than at the first request.
 *
 * ```ts
 * http.createServer(createIScheduleHandler({ domains: ['example.com'], adapter })).listen(8080);
 * ```
 */
export function createIScheduleHandler<User = unknown>(
  options: IScheduleRouterOptions<User>,
): IScheduleHandler {
  const resolved = resolveOptions(options);
  const serial = resolved.capabilities.serialNumber;
  const capabilitiesXml = buildCapabilities(resolved.capabilities);
  const etag = etagOf(capabilitiesXml);
  // Draft -01 senders (DAViCal) ask ?query=capabilities and read the old schema: served only
  // when some peer is allowed to speak -01.
  const draft01Xml =
    resolved.draft01Peers.length > 0 ? buildDraft01Capabilities(resolved.capabilities) : undefined;
  const draft01 = draft01Xml === undefined ? undefined : { xml: draft01Xml, etag: etagOf(draft01Xml) };
  const paths = new Set(resolved.paths.map(withoutTrailingSlash));
  const bursts = new BurstLog();

  return (req, res, next) => {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
    if (paths.has(withoutTrailingSlash(pathname))) {
      setIScheduleHeaders(res, serial);
      answerReceiver(req, res, queryAt === -1 ? '' : url.slice(queryAt + 1));
    } else if (pathname.startsWith(KEY_PREFIX)) {
      setIScheduleHeaders(res, serial);
      answerKey(req, res, pathname.slice(KEY_PREFIX.length));
    } else if (next) {
      next();
    } else {
      sendText(res, 404, 'not found');
    }
  };

  function answerReceiver(req: IncomingRequest, res: OutgoingResponse, query: string): void {
    switch (req.method) {
      case 'GET':
      case 'HEAD':
        answerQuery(req, res, query);
        return;
      case 'POST':
        void answerPost(req, res, resolved, bursts);
        return;
      case 'OPTIONS':
        res.setHeader('Allow', ALLOW);
        res.setHeader('Cache-Control', `max-age=${resolved.maxAge}`);
        res.statusCode = 204;
        res.end();
        return;
      default:
        res.setHeader('Allow', ALLOW);
        sendText(res, 405, `${req.method} is not allowed here; use ${ALLOW}`);
    }
  }

  function answerKey(req: IncomingRequest, res: OutgoingResponse, rest: string): void {
    const name = keyName(rest);
    if (name === undefined) {
      // %ZZ in the name: answered briefly, not passed to a host's error handler.
      sendText(res, 400, 'malformed URL');
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendText(res, 405, 'use GET');
    } else {
      const records = resolved.publishedKeys.get(name);
      if (!records) {
        sendText(res, 404, 'no such key');
      } else {
        // Set even for 200: a host may have set another status first (Koa starts at 404).
        res.statusCode = 200;
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.end(wellKnownBody(records));
      }
    }
  }

  function answerQuery(req: IncomingRequest, res: OutgoingResponse, query: string): void {
    const params = new URLSearchParams(query);
    if (params.get('action') === 'capabilities') {
      answerCapabilities(req, res, capabilitiesXml, etag);
    } else if (draft01 && params.get('query') === 'capabilities') {
      answerCapabilities(req, res, draft01.xml, draft01.etag);
    } else {
      sendError(
        res,
        400,
        'invalid-scheduling-message',
        'GET needs ?action=capabilities; scheduling messages are POSTed',
      );
    }
  }

  function answerCapabilities(req: IncomingRequest, res: OutgoingResponse, xml: string, tag: string): void {
    res.setHeader('ETag', tag);
    res.setHeader('Cache-Control', `max-age=${resolved.maxAge}`);
    const match = req.headers['if-none-match'];
    if (match?.split(',').some((t) => t.trim() === tag || t.trim() === '*')) {
      res.statusCode = 304;
      res.end();
      return;
    }
    sendXml(res, 200, xml);
  }
}

/**
 * The same handler, named for Express hosts: `app.use(createIScheduleRouter(options))` (Express 4
 * and 5), mounted before any body parser.
 */
export const createIScheduleRouter: <User = unknown>(
  options: IScheduleRouterOptions<User>,
) => IScheduleHandler = createIScheduleHandler;

/** `<domain>/<selector>`, decoded and lower-cased; undefined for a malformed escape. */
function keyName(rest: string): string | undefined {
  try {
    return rest
      .replace(/\/$/, '')
      .split('/')
      .map((part) => decodeURIComponent(part))
      .join('/')
      .toLowerCase();
  } catch {
    return undefined;
  }
}

function etagOf(xml: string): string {
  return `"${createHash('sha256').update(xml).digest('base64url').slice(0, 22)}"`;
}

function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

async function answerPost<User>(
  req: IncomingRequest,
  res: OutgoingResponse,
  options: ResolvedOptions<User>,
  bursts: BurstLog,
): Promise<void> {
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  // Work done for a client that went away (key lookups above all) stops with it.
  const cancel = new LazyAbortController();
  const untrack = trackRequest(req, cancel);
  try {
    const responses = await handleSchedulingRequest(req, options, cancel);
    sendXml(res, 200, buildScheduleResponse(responses));
    if (options.metrics) {
      options.metrics.request('accepted');
      for (const response of responses) options.metrics.recipient(response.requestStatus);
    }
  } catch (error) {
    if (cancel.reason === CLIENT_GONE) {
      debug('client went away: %s', (error as Error)?.message);
      return;
    }
    if (error instanceof IScheduleError) {
      debug('refused: %s (%s) %s', error.code, error.message, error.detail ?? '');
      logRefusal(error, options, bursts);
      countRefusal(error, options);
      // A body we stopped reading: close the connection rather than read the rest.
      if (error.code === 'max-content-length') res.setHeader('Connection', 'close');
      if (error.retryAfter !== undefined) res.setHeader('Retry-After', String(error.retryAfter));
      sendError(res, error.status, error.code, error.message);
      return;
    }
    const setup = error instanceof SetupError;
    options.metrics?.request('failed');
    options.logger.error?.(setup ? error.message : 'iSchedule receiver fault', {
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    debug('internal fault: %O', error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(
      res,
      setup ? 500 : 503,
      'service-unavailable',
      setup
        ? 'this receiver is misconfigured (its request body was consumed before it); its administrator has been told'
        : 'the receiver could not process the request; try again later',
    );
  } finally {
    untrack();
  }
}

/**
 * Requests in progress on each connection, aborted when it closes: one listener per connection
 * rather than one per request. A list, not a Set: a connection has one request at a time but
 * for pipelining, and a Set emptied after each request made V8 shrink its table every time.
 */
const inProgress = new WeakMap<Socket, LazyAbortController[]>();
const CLIENT_GONE = new Error('the client closed the connection');

function trackRequest(req: IncomingRequest, cancel: LazyAbortController): () => void {
  // HTTP/2 multiplexes requests on one session: follow the request's own stream instead.
  if ('stream' in req) {
    const onClose = () => cancel.abort(CLIENT_GONE);
    req.stream.once('close', onClose);
    return () => req.stream.off('close', onClose);
  }
  const requests = inProgress.get(req.socket) ?? watchConnection(req.socket);
  requests.push(cancel);
  return () => {
    const at = requests.indexOf(cancel);
    if (at === -1) return;
    requests[at] = requests[requests.length - 1]!;
    requests.pop();
  };
}

/** The requests in progress on a new connection, all aborted when it closes. */
function watchConnection(socket: Socket): LazyAbortController[] {
  const requests: LazyAbortController[] = [];
  inProgress.set(socket, requests);
  socket.once('close', () => {
    for (const request of [...requests]) request.abort(CLIENT_GONE);
  });
  return requests;
}

/** Signature refusals are logged with their detail; overload once per burst, not per request. */
function logRefusal(error: IScheduleError, options: ResolvedOptions<unknown>, bursts: BurstLog): void {
  const details = {
    description: error.message,
    ...(error.detail !== undefined && { detail: error.detail }),
  };
  if (error instanceof VerificationError) {
    options.logger.warn?.('iSchedule signature refused', { reason: error.reason, ...details });
  } else if (error.code === 'service-unavailable' && bursts.first(error.detail ?? error.message)) {
    options.logger.warn?.('iSchedule request deferred (503)', details);
  }
}

function countRefusal(error: IScheduleError, { metrics }: ResolvedOptions<unknown>): void {
  if (!metrics) return;
  metrics.request(error.status === 503 ? 'deferred' : 'refused', error.code);
  if (error instanceof VerificationError) metrics.verificationFailure(error.reason);
  if (error.limit) metrics.limited(error.limit);
}

/** Remembers which messages were logged in the last minute. */
class BurstLog {
  readonly #seen = new LruCache<string, true>(1000);
  first(key: string): boolean {
    if (this.#seen.get(key)) return false;
    this.#seen.set(key, true, 60_000);
    return true;
  }
}
