/**
 * createIScheduleRouter: the verified scheduling inbox a host Express app mounts. It answers
 * capability queries, scheduling POSTs and OPTIONS on its path(s), and serves this server's
 * public keys at /.well-known/domainkey/<domain>/<selector>.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import createDebug from 'debug';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { LazyAbortController } from '../concurrency.js';
import { wellKnownBody } from '../dkim/keys.js';
import { IScheduleError, VerificationError } from '../errors.js';
import { LruCache } from '../lru.js';
import { buildCapabilities } from '../xml/capabilities.js';
import { buildScheduleResponse } from '../xml/response.js';
import { type IScheduleRouterOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { handleSchedulingRequest } from './pipeline.js';
import { BodyConsumedError } from './read-body.js';
import { sendError, sendXml, setIScheduleHeaders } from './respond.js';

const debug = createDebug('ischedule:receiver:router');

const ALLOW = 'GET, HEAD, POST, OPTIONS';

export function createIScheduleRouter<User = unknown>(options: IScheduleRouterOptions<User>): Router {
  const resolved = resolveOptions(options);
  const serial = resolved.capabilities.serialNumber;
  const capabilitiesXml = buildCapabilities(resolved.capabilities);
  const etag = `"${createHash('sha256').update(capabilitiesXml).digest('base64url').slice(0, 22)}"`;
  const router = express.Router({ caseSensitive: true, strict: false });
  const bursts = new BurstLog();

  const withHeaders = (_req: Request, res: Response, next: NextFunction) => {
    setIScheduleHeaders(res, serial);
    next();
  };

  for (const path of resolved.paths) {
    router.all(path, withHeaders, (req, res) => {
      switch (req.method) {
        case 'GET':
        case 'HEAD':
          return answerQuery(req, res);
        case 'POST':
          return answerPost(req, res, resolved, bursts);
        case 'OPTIONS':
          res.setHeader('Allow', ALLOW);
          res.setHeader('Cache-Control', `max-age=${resolved.maxAge}`);
          res.status(204).end();
          return;
        default:
          res.setHeader('Allow', ALLOW);
          res.status(405).type('text/plain').end(`${req.method} is not allowed here; use ${ALLOW}\n`);
      }
    });
  }

  router.all('/.well-known/domainkey/:domain/:selector', withHeaders, (req, res) => {
    const name = `${String(req.params.domain)}/${String(req.params.selector)}`.toLowerCase();
    const records = resolved.publishedKeys.get(name);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      res.status(405).type('text/plain').end('use GET\n');
      return;
    }
    if (!records) {
      res.status(404).type('text/plain').end('no such key\n');
      return;
    }
    res.status(200).setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(wellKnownBody(records));
  });

  // A malformed URL on one of our routes (%ZZ in a parameter) is answered here, briefly,
  // instead of reaching the host's error handler (or Express's, which prints a stack trace).
  router.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (!(error instanceof URIError) && (error as { status?: number })?.status !== 400) return next(error);
    if (res.headersSent) return next(error);
    res.status(400).type('text/plain').end('malformed URL\n');
  });

  function answerQuery(req: Request, res: Response): void {
    if (req.query.action !== 'capabilities') {
      sendError(
        res,
        400,
        'invalid-scheduling-message',
        'GET needs ?action=capabilities; scheduling messages are POSTed',
      );
      return;
    }
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', `max-age=${resolved.maxAge}`);
    const match = req.headers['if-none-match'];
    if (match?.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
      res.status(304).end();
      return;
    }
    sendXml(res, 200, capabilitiesXml);
  }

  return router;
}

async function answerPost<User>(
  req: Request,
  res: Response,
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
  } catch (error) {
    if (cancel.reason === CLIENT_GONE) {
      debug('client went away: %s', (error as Error)?.message);
      return;
    }
    if (error instanceof IScheduleError) {
      debug('refused: %s (%s) %s', error.code, error.message, error.detail ?? '');
      logRefusal(error, options, bursts);
      // A body we stopped reading: close the connection rather than read the rest.
      if (error.code === 'max-content-length') res.setHeader('Connection', 'close');
      if (error.retryAfter !== undefined) res.setHeader('Retry-After', String(error.retryAfter));
      sendError(res, error.status, error.code, error.message);
      return;
    }
    const setup = error instanceof BodyConsumedError;
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
 * rather than one per request.
 */
const inProgress = new WeakMap<Socket, Set<LazyAbortController>>();
const CLIENT_GONE = new Error('the client closed the connection');

function trackRequest(req: Request, cancel: LazyAbortController): () => void {
  const socket = req.socket;
  let requests = inProgress.get(socket);
  if (!requests) {
    const tracked = new Set<LazyAbortController>();
    requests = tracked;
    inProgress.set(socket, tracked);
    socket.once('close', () => {
      for (const request of tracked) request.abort(CLIENT_GONE);
    });
  }
  requests.add(cancel);
  return () => requests.delete(cancel);
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

/** Remembers which messages were logged in the last minute. */
class BurstLog {
  readonly #seen = new LruCache<string, true>(1000);
  first(key: string): boolean {
    if (this.#seen.get(key)) return false;
    this.#seen.set(key, true, 60_000);
    return true;
  }
}
