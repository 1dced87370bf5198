/** The gateway's DAV client: where its credentials may go, and how much of an answer it reads. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DavClient, readMultistatus } from '../../lib/adapters/caldav/dav-client.js';

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
