/**
 * The gateway's DAV client (where its credentials may go, how much of an answer it reads) and
 * the options it is made from.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DavClient, readMultistatus } from '../../lib/adapters/caldav/dav-client.js';
import { caldavAdapter, caldavGateway, OptionsError } from '../support/api.js';

const MULTISTATUS = (responses: string) =>
  `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">${responses}<d:sync-token>t-2</d:sync-token></d:multistatus>`;

describe('DavClient', () => {
  it("sends the gateway's credentials to the configured server only, whatever an answer names", () => {
    const client = new DavClient({
      url: 'http://127.0.0.1:5232/',
      credentials: { username: 'gateway', password: 'x' },
    });
    try {
      assert.equal(client.url('/bob/calendar/').href, 'http://127.0.0.1:5232/bob/calendar/');
      assert.equal(client.url('http://127.0.0.1:5232/bob/').pathname, '/bob/');
      for (const elsewhere of [
        'http://attacker.example/bob/',
        '//attacker.example/bob/',
        'https://127.0.0.1:5232/bob/',
      ])
        assert.throws(() => client.url(elsewhere), { name: 'DavError' }, elsewhere);
    } finally {
      client.close();
    }
  });

  it('reads a multistatus whatever its prefixes: members, removed members, 200 properties only', () => {
    const answer = readMultistatus(
      MULTISTATUS(
        '<d:response><d:href>http://127.0.0.1:5232/bob/calendar/a.ics</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>' +
          '<d:propstat><d:prop><c:calendar-data/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response>' +
          '<d:response><d:href>/bob/calendar/gone.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>',
      ),
      100,
    );
    assert.equal(answer.syncToken, 't-2');
    assert.deepEqual(
      answer.resources.map((r) => [r.href, r.status, [...r.props.keys()]]),
      [
        ['/bob/calendar/a.ics', undefined, ['DAV: getetag']],
        ['/bob/calendar/gone.ics', 404, []],
      ],
    );
  });

  it('refuses an answer larger than its bounds, and anything but a multistatus', () => {
    const many = '<d:response><d:href>/x</d:href></d:response>'.repeat(60);
    assert.throws(() => readMultistatus(MULTISTATUS(many), 100), { name: 'XmlError' });
    assert.throws(() => readMultistatus('<d:error xmlns:d="DAV:"/>', 100), { name: 'DavError' });
    assert.throws(() => readMultistatus('<!DOCTYPE x [<!ENTITY a "b">]><x/>', 100), { name: 'XmlError' });
  });
});

describe('caldavAdapter and caldavGateway options', () => {
  const base = { url: 'http://127.0.0.1:5232/', username: 'gateway', password: 'x' };
  const refuses = (make: () => unknown, message: RegExp) =>
    assert.throws(
      make,
      (error: unknown) => error instanceof OptionsError && message.test(error.message),
      String(message),
    );

  it('are checked when made: every mistake named, nothing silently defaulted', () => {
    refuses(() => caldavAdapter({ ...base, url: 'ftp://cal' }), /url must be an http:\/\/ or https:\/\/ URL/);
    refuses(
      () => caldavAdapter({ ...base, timeout: 0 }),
      /timeout must be a positive integer \(milliseconds\), not 0/,
    );
    refuses(
      () => caldavAdapter({ ...base, users: { 'mailto:bob@b.example': 'bob' } }),
      /must be a path starting with "\/"/,
    );
    refuses(() => caldavAdapter({ url: base.url, username: 'gateway' }), /username and password go together/);
    refuses(() => caldavAdapter({ ...base, syncIntreval: 5 } as never), /syncIntreval is not an option/);
    refuses(() => caldavGateway({ ...base, stateDir: '/tmp/x' } as never), /domains is required/);
    refuses(
      () => caldavGateway({ ...base, domains: ['b.example'], stateDir: '' }),
      /stateDir must be a directory path/,
    );
    refuses(
      () => caldavGateway({ ...base, domains: ['b.example'], stateDir: '/tmp/x', follow: ['bob'] }),
      /follow\[0\] must be a calendar address/,
    );
  });
});
