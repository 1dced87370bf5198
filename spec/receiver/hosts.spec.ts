import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { httpRequest } from '../../lib/http/request.js';
import { createIScheduleHandler, parseCapabilities, signRequest } from '../support/api.js';
import { draftHeaders, fixture, keys, testKeyResolver } from '../support/fixtures.js';
import { describeResponse, draft01Battery, post, startReceiver } from '../support/receiver.js';

const invitation = fixture('draft/a1-request.ics');
const get = (url: string) =>
  httpRequest({ url: new URL(url), method: 'GET', headers: [], timeout: 5000, maxBytes: 1 << 20 });

describe('the receiver in every kind of host', () => {
  for (const host of ['express', 'node', 'koa'] as const) {
    it(`${host}: delivers a signed invitation, serves capabilities and keys, leaves other paths alone`, async () => {
      const receiver = await startReceiver({ host });
      try {
        const result = await post(receiver, { headers: draftHeaders(), body: invitation });
        assert.equal(result.status, 200, result.text);
        assert.equal(result.responses?.[0]?.requestStatus, '2.0;Success');
        assert.equal(receiver.delivered.length, 1);

        const caps = await get(`${receiver.url}/.well-known/ischedule/?action=capabilities`);
        assert.equal(caps.status, 200);
        assert.equal(parseCapabilities(caps.body.toString()).serialNumber, 1);
        const key = await get(`${receiver.url}/.well-known/domainkey/example.org/venus`);
        assert.equal(key.status, 200);
        const services = draft01Battery ? 'calendar:ischedule' : 'ischedule';
        assert.match(key.body.toString(), new RegExp(`^v=DKIM1; k=rsa; s=${services}; p=`));
        const malformed = await get(`${receiver.url}/.well-known/domainkey/example.org/%ZZ`);
        assert.equal(malformed.status, 400);
        assert.equal(malformed.body.toString(), 'malformed URL\n');

        const other = await get(`${receiver.url}/somewhere/else`);
        if (host === 'koa') {
          assert.equal(other.status, 200);
          assert.equal(other.body.toString(), 'koa route');
        } else {
          assert.equal(other.status, 404);
          assert.equal(other.headers['ischedule-version'], undefined);
        }
      } finally {
        await receiver.close();
      }
    });
  }

  it("gives every adapter call the same frozen message, so one recipient cannot change another's", async () => {
    const seen: string[][] = [];
    const receiver = await startReceiver({
      users: ['mailto:cyrus@example.org', 'mailto:dora@example.org'],
      adapter: {
        deliverToInbox: ({ message }) => {
          seen.push([...message.attendees]);
          assert.ok(Object.isFrozen(message) && Object.isFrozen(message.attendees));
          assert.equal('calendar' in message, false);
          assert.throws(() => (message.attendees as string[]).push('mailto:intruder@example.net'), TypeError);
        },
      },
    });
    try {
      const headers = draftHeaders({ recipients: ['mailto:cyrus@example.org', 'mailto:dora@example.org'] });
      const body = invitation
        .toString()
        .replace('END:VEVENT', 'ATTENDEE:mailto:dora@example.org\r\nEND:VEVENT');
      const result = await post(receiver, { headers, body });
      assert.equal(result.status, 200, result.text);
      assert.deepEqual(
        result.responses?.map((r) => r.requestStatus),
        ['2.0;Success', '2.0;Success'],
      );
      assert.equal(seen.length, 2);
      assert.deepEqual(seen[0], seen[1]);
    } finally {
      await receiver.close();
    }
  });

  it('http2: answers a signed POST and a capabilities query over HTTP/2 (compatibility API)', async () => {
    const delivered: string[] = [];
    const server = http2.createServer(
      createIScheduleHandler<string>({
        domains: ['example.org'],
        adapter: {
          lookupUser: ({ address }) => address,
          deliverToInbox: ({ recipient }) => {
            delivered.push(recipient);
          },
          getFreeBusy: () => [],
        },
        keys: testKeyResolver(),
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const headers = draftHeaders({ recipients: ['mailto:cyrus@example.org'] });
      const signature = signRequest({ headers, body: invitation, key: keys.jupiter });
      const response = await h2Request(session, 'POST', '/.well-known/ischedule', [
        ...headers.filter(([name]) => name.toLowerCase() !== 'host'),
        ['DKIM-Signature', signature],
      ]);
      const result = describeResponse(response);
      assert.equal(result.status, 200, result.text);
      assert.equal(result.responses?.[0]?.requestStatus, '2.0;Success');
      assert.deepEqual(delivered, ['mailto:cyrus@example.org']);

      const caps = await h2Request(session, 'GET', '/.well-known/ischedule?action=capabilities', []);
      assert.equal(caps.status, 200);
      assert.equal(caps.headers['ischedule-version'], '1.0');
      const missing = await h2Request(session, 'GET', '/nothing', []);
      assert.equal(missing.status, 404);
    } finally {
      session.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    function h2Request(
      client: http2.ClientHttp2Session,
      method: string,
      path: string,
      headers: Array<[string, string]>,
    ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
      return new Promise((resolve, reject) => {
        const stream = client.request({
          ':method': method,
          ':path': path,
          ':authority': 'cal.example.org',
          ...Object.fromEntries(headers.map(([name, value]) => [name.toLowerCase(), value])),
        });
        const chunks: Buffer[] = [];
        let status = 0;
        let received: Record<string, string> = {};
        stream.on('response', (h) => {
          status = Number(h[':status']);
          received = Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)]));
        });
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => resolve({ status, headers: received, body: Buffer.concat(chunks) }));
        stream.on('error', reject);
        stream.end(method === 'POST' ? invitation : undefined);
      });
    }
  });
});
