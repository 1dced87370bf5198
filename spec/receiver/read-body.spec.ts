/**
 * Reading the POST body: the exact octets, within max-content-length whether declared or
 * streamed, never decoded, and a clear setup error when a host's body parser took them first.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { headerPairs } from '../../lib/http/headers.js';
import { readBody } from '../../lib/receiver/read-body.js';
import { IScheduleError, SetupError } from '../support/api.js';

/** A request whose body arrives in the given chunks (no chunks: nothing written yet). */
function request(headers: Record<string, string>, chunks?: readonly string[]): IncomingMessage & PassThrough {
  // No req.headers: the reader takes the header list the pipeline makes from rawHeaders.
  const rawHeaders = Object.entries(headers).flat();
  const stream = Object.assign(new PassThrough(), { rawHeaders }) as unknown as IncomingMessage & PassThrough;
  if (chunks) {
    for (const chunk of chunks) stream.write(Buffer.from(chunk, 'latin1'));
    stream.end();
  }
  return stream;
}

const read = (req: IncomingMessage, limit: number) => readBody(req, limit, headerPairs(req.rawHeaders));

const isError = (code: string, status: number) => (error: unknown) =>
  error instanceof IScheduleError && error.code === code && error.status === status;

describe('readBody', () => {
  it('returns the octets as sent, chunks joined, up to exactly the limit', async () => {
    const body = await read(request({}, ['BEGIN:', 'VCALENDAR\r\n', '\u00e9\u00ff']), 22);
    assert.deepEqual(body, Buffer.from('BEGIN:VCALENDAR\r\n\u00e9\u00ff', 'latin1'));
    assert.equal(body.length, 19);
    const req = request({ 'content-length': '4' }, ['ab', 'cd']);
    assert.equal((await read(req, 4)).toString(), 'abcd');
    for (const event of ['data', 'end', 'error'])
      assert.equal(req.listenerCount(event), 0, `no ${event} listener left`);
  });

  it('refuses a declared Content-Length over the limit before reading anything (413)', async () => {
    const req = request({ 'content-length': '5' });
    await assert.rejects(read(req, 4), isError('max-content-length', 413));
    assert.equal(req.listenerCount('data'), 0, 'the body was not read');
    await read(request({ 'content-length': '4' }, ['abcd']), 4);
  });

  it('stops a streamed body at the first octet over the limit and drains the rest (413)', async () => {
    const req = request({});
    const reading = read(req, 4);
    req.write('abc');
    req.write('de');
    await assert.rejects(reading, isError('max-content-length', 413));
    assert.equal(req.listenerCount('data'), 0, 'no longer buffered');
    assert.equal(req.isPaused(), false, 'the rest is drained so that the socket can close');
  });

  it('refuses an encoded body (415) and takes Content-Encoding: identity', async () => {
    await assert.rejects(
      read(request({ 'content-encoding': 'gzip' }, ['x']), 10),
      isError('invalid-calendar-data-type', 415),
    );
    assert.equal((await read(request({ 'content-encoding': 'identity' }, ['x']), 10)).toString(), 'x');
  });

  it('reads Content-Encoding and Content-Length from the fields as received, in any case, every field', async () => {
    const twice = request({ 'Content-Encoding': 'identity', 'CONTENT-ENCODING': 'gzip' }, ['x']);
    await assert.rejects(read(twice, 10), (error: unknown) => {
      assert.ok(isError('invalid-calendar-data-type', 415)(error));
      assert.match((error as Error).message, /^Content-Encoding identity, gzip is not accepted/);
      return true;
    });
    await assert.rejects(
      read(request({ 'Content-Length': '11' }), 10),
      isError('max-content-length', 413),
      'refused by its declared length, before any octet arrives',
    );
  });

  it('passes on a stream error, and leaves no listener behind', async () => {
    const req = request({});
    const reading = read(req, 10);
    req.destroy(new Error('connection reset'));
    await assert.rejects(reading, /connection reset/);
    assert.equal(req.listenerCount('error'), 0);
  });

  it('takes the raw Buffer express.raw() left, still within the limit', async () => {
    const req = Object.assign(request({}), { body: Buffer.from('raw') });
    assert.equal((await read(req, 3)).toString(), 'raw');
    await assert.rejects(read(req, 2), isError('max-content-length', 413));
  });

  it('says how to mount the router when another body parser consumed the body', async () => {
    const consumed = [
      Object.assign(request({}), { body: { parsed: true } }),
      Object.assign(request({}), { body: '' }),
      Object.assign(request({}), { _body: true }),
      request({}, []),
    ];
    const ended = consumed[3]!;
    ended.resume();
    await new Promise((resolve) => ended.once('end', resolve));
    for (const req of consumed) {
      await assert.rejects(
        read(req, 10),
        (error: unknown) => error instanceof SetupError && error.code === 'body-consumed',
      );
    }
  });
});
