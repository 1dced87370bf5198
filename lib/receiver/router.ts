/**
 * createIScheduleRouter: the verified scheduling inbox a host Express app mounts. It answers
 * capability queries, scheduling POSTs and OPTIONS on its path(s), and serves this server's
 * public keys at /.well-known/domainkey/<domain>/<selector>.
 */
import { createHash } from 'node:crypto';
import createDebug from 'debug';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { wellKnownBody } from '../dkim/keys.js';
import { IScheduleError, VerificationError } from '../errors.js';
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
          return answerPost(req, res, resolved);
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

async function answerPost<User>(req: Request, res: Response, options: ResolvedOptions<User>): Promise<void> {
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  try {
    const responses = await handleSchedulingRequest(req, options);
    sendXml(res, 200, buildScheduleResponse(responses));
  } catch (error) {
    if (error instanceof IScheduleError) {
      debug('refused: %s (%s)', error.code, error.message);
      if (error instanceof VerificationError) {
        options.logger.warn?.('iSchedule signature refused', {
          reason: error.reason,
          description: error.message,
        });
      }
      // A body we stopped reading: close the connection rather than read the rest.
      if (error.code === 'max-content-length') res.setHeader('Connection', 'close');
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
  }
}
