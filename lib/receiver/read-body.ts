/**
 * The POST body as the exact octets received: the DKIM body hash covers them, so no parser may
 * decode or re-encode them first. Bounded by max-content-length without buffering the excess.
 */

import { IScheduleError, SetupError } from '../errors.js';
import { type HeaderList, headerValues } from '../http/headers.js';
import type { IncomingRequest } from './handler.js';

export async function readBody(
  req: IncomingRequest,
  limit: number,
  /** The request's header list (node builds req.headers on first use, microseconds a request). */
  headers: HeaderList,
): Promise<Buffer> {
  // A host's body parser may have run first. express.raw() (or Koa's raw-body) leaves the exact
  // octets: usable as they are. Anything else has lost them.
  const parsed = req as { body?: unknown; _body?: boolean };
  if (Buffer.isBuffer(parsed.body)) return checkSize(parsed.body, limit);
  if (parsed.body !== undefined || parsed._body || req.readableEnded) {
    throw new SetupError(
      'body-consumed',
      'the request body was consumed before the iSchedule router saw it: mount the iSchedule handler ' +
        'before any body parser (express.json, express.text, ...), or exclude its paths from them',
    );
  }
  // Fields of one name joined as node joins them in req.headers.
  const encoding = headerValues(headers, 'content-encoding').join(', ');
  if (encoding && encoding !== 'identity') {
    throw new IScheduleError(
      'invalid-calendar-data-type',
      `Content-Encoding ${encoding} is not accepted: send the iCalendar body unencoded`,
      415,
    );
  }
  const declared = Number(headerValues(headers, 'content-length')[0] ?? Number.NaN);
  if (declared > limit) throw tooLarge(declared, limit);

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Stop buffering; drain the rest so the socket can close after the answer.
        req.resume();
        reject(tooLarge(size, limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function checkSize(body: Buffer, limit: number): Buffer {
  if (body.length > limit) throw tooLarge(body.length, limit);
  return body;
}

function tooLarge(size: number, limit: number): IScheduleError {
  return new IScheduleError(
    'max-content-length',
    `the body (${size} octets or more) exceeds max-content-length ${limit}`,
    413,
  );
}
