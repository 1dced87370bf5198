/** Every whole-request error element, produced by a request crafted to trigger it. */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { chainKeys, keyRecord, privateExchangeKeys, signRequest } from '../support/api.js';
import { draftHeaders, fixture, type Headers, keys, testKeyResolver } from '../support/fixtures.js';
import {
  describeResponse,
  type PostOptions,
  post,
  startReceiver,
  type TestReceiver,
} from '../support/receiver.js';

const invitation = fixture('draft/a1-request.ics').toString();
const freebusy = fixture('draft/a2-freebusy.ics').toString();
const replace = (headers: Headers, name: string, value: string | undefined): Headers => {
  const out = headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
  if (value !== undefined) out.push([name, value]);
  return out;
};

describe('the POST pipeline refuses, with the precise IS:error', () => {
  let receiver: TestReceiver;
  before(async () => {
    // example.net signs with its own key; it may not speak for example.com users.
    const other = privateExchangeKeys({ 'other._domainkey.example.net': keyRecord(keys.jupiter.privateKey) });
    receiver = await startReceiver({
      keys: chainKeys(testKeyResolver(), {
        methods: ['dns/txt'],
        lookup: (q) => other.lookup({ ...q, method: 'private-exchange' }),
      }),
      router: {
        capabilities: { maxRecipients: 3, maxContentLength: 4096, maxInstances: 10 },
        policy: { denyDomains: ['blocked.example'] },
      },
    });
  });
  after(() => receiver.close());

  let messageCounter = 0;
  const send = (options: Partial<PostOptions> & { body?: string }) =>
    post(receiver, {
      headers: options.headers ?? draftHeaders({ messageId: `m-${++messageCounter}` }),
      body: options.body ?? invitation,
      ...options,
    });

  const expectError = async (
    options: Partial<PostOptions> & { body?: string },
    code: string,
    status: number,
    pattern?: RegExp,
  ) => {
    const before = receiver.delivered.length;
    const result = await send(options);
    assert.equal(result.error?.code, code, result.text);
    assert.equal(result.status, status);
    assert.equal(result.headers['ischedule-version'], '1.0');
    assert.equal(result.headers['ischedule-capabilities'], '1');
    assert.equal(result.headers['cache-control'], 'no-cache, no-transform');
    assert.ok(result.error?.description, 'an administrator gets a description');
    if (pattern) assert.match(result.error?.description ?? '', pattern);
    assert.equal(receiver.delivered.length, before, 'nothing was delivered');
  };

  it('version-not-supported: missing or unknown iSchedule-Version', async () => {
    await expectError(
      { headers: replace(draftHeaders(), 'iSchedule-Version', undefined), key: false },
      'version-not-supported',
      400,
    );
    await expectError(
      { headers: replace(draftHeaders(), 'iSchedule-Version', '2.0') },
      'version-not-supported',
      400,
      /2\.0/,
    );
  });

  it('invalid-calendar-data-type: not text/calendar, not UTF-8, or content-encoded', async () => {
    await expectError(
      { headers: replace(draftHeaders(), 'Content-Type', 'text/plain') },
      'invalid-calendar-data-type',
      400,
    );
    await expectError(
      {
        headers: replace(
          draftHeaders(),
          'Content-Type',
          'text/calendar; charset=iso-8859-1; component=VEVENT; method=REQUEST',
        ),
      },
      'invalid-calendar-data-type',
      400,
      /UTF-8/,
    );
    await expectError(
      { headers: [...draftHeaders(), ['Content-Encoding', 'gzip']] },
      'invalid-calendar-data-type',
      415,
    );
  });

  it('originator-missing, too-many-originators, originator-invalid', async () => {
    await expectError(
      { headers: replace(draftHeaders(), 'Originator', undefined), key: false },
      'originator-missing',
      400,
    );
    await expectError(
      { headers: [...draftHeaders(), ['Originator', 'mailto:mallory@example.com']], key: false },
      'too-many-originators',
      400,
    );
    await expectError(
      {
        headers: replace(draftHeaders(), 'Originator', 'mailto:a@example.com, mailto:b@example.com'),
        key: false,
      },
      'too-many-originators',
      400,
    );
    await expectError(
      { headers: replace(draftHeaders(), 'Originator', 'bernard'), key: false },
      'originator-invalid',
      400,
    );
  });

  it('recipient-missing, recipient-invalid, max-recipients', async () => {
    await expectError(
      { headers: replace(draftHeaders(), 'Recipient', undefined), key: false },
      'recipient-missing',
      400,
    );
    await expectError(
      { headers: replace(draftHeaders(), 'Recipient', 'not a uri'), key: false },
      'recipient-invalid',
      400,
    );
    const four = draftHeaders({
      recipients: [
        'mailto:a@example.org',
        'mailto:b@example.org, mailto:c@example.org',
        'mailto:d@example.org',
      ],
    });
    await expectError(
      { headers: four, key: false },
      'max-recipients',
      400,
      /4 Recipients exceed max-recipients 3/,
    );
  });

  it('verification-failed: unsigned, tampered, or signed for another body', async () => {
    await expectError({ key: false }, 'verification-failed', 403, /no DKIM-Signature/);
    await expectError(
      {
        tamper: (h) =>
          h.map(([n, v]): [string, string] => [n, n === 'Recipient' ? 'mailto:mike@example.org' : v]),
      },
      'verification-failed',
      403,
      /signature does not match/,
    );
    await expectError(
      { sendBody: invitation.replace('Design meeting', 'Design meeting!') },
      'verification-failed',
      403,
      /body hash/,
    );
  });

  it('refuses the exact same request twice (same signature)', async () => {
    const headers = draftHeaders({ messageId: 'same-signature' });
    const signature = signRequest({
      headers,
      body: invitation,
      key: keys.jupiter,
    });
    const signed: Headers = [...headers, ['DKIM-Signature', signature]];
    assert.equal((await send({ headers: signed, key: false })).status, 200);
    await expectError({ headers: signed, key: false }, 'verification-failed', 403, /already/);
  });

  it('originator-denied: a local Originator, a misaligned signer, a denied domain', async () => {
    const local = replace(draftHeaders(), 'Originator', 'mailto:eve@example.org');
    await expectError(
      { headers: local, key: keys.venus },
      'originator-denied',
      403,
      /claims to be a user of this server/,
    );
    const misaligned = { ...keys.jupiter, domain: 'example.net', selector: 'other' };
    await expectError({ key: misaligned }, 'originator-denied', 403, /d=example\.net.*may not speak for/);
  });

  it('invalid-calendar-data: broken structure, impossible dates, bad UTF-8, unknown TZID', async () => {
    await expectError(
      { body: invitation.replace('END:VEVENT', 'END:VTODO') },
      'invalid-calendar-data',
      400,
      /END:VTODO closes BEGIN:VEVENT/,
    );
    await expectError(
      { body: invitation.replace('20040902T130000Z', '20040231T130000Z') },
      'invalid-calendar-data',
      400,
      /impossible/,
    );
    await expectError(
      {
        body: Buffer.concat([
          Buffer.from(invitation.replace('END:VCALENDAR\r\n', '')),
          Buffer.from([0xff, 0xfe]),
          Buffer.from('\r\nEND:VCALENDAR\r\n'),
        ]) as unknown as string,
      },
      'invalid-calendar-data',
      400,
      /UTF-8/,
    );
    await expectError(
      { body: invitation.replace('DTSTART:20040902T130000Z', 'DTSTART;TZID=Mars/Olympus:20040902T130000') },
      'invalid-calendar-data',
      400,
      /TZID/,
    );
    await expectError({ body: 'hello' }, 'invalid-calendar-data', 400);
  });

  it('invalid-scheduling-message: Content-Type and body disagree, iTIP rules broken, not advertised', async () => {
    await expectError(
      { headers: replace(draftHeaders(), 'Content-Type', 'text/calendar') },
      'invalid-scheduling-message',
      400,
      /component and method/,
    );
    await expectError(
      { headers: replace(draftHeaders(), 'Content-Type', 'text/calendar; component=VEVENT; method=CANCEL') },
      'invalid-scheduling-message',
      400,
      /says VEVENT\/CANCEL/,
    );
    await expectError(
      {
        body: invitation.replace('ORGANIZER:mailto:bernard@example.com', 'ORGANIZER:mailto:boss@example.com'),
      },
      'invalid-scheduling-message',
      400,
      /not the ORGANIZER/,
    );
    await expectError(
      { headers: draftHeaders({ recipients: ['mailto:cyrus@example.org', 'mailto:outsider@example.org'] }) },
      'invalid-scheduling-message',
      400,
      /outsider.*not an ATTENDEE/,
    );
    const journal = invitation.replaceAll('VEVENT', 'VJOURNAL');
    await expectError(
      {
        body: journal,
        headers: replace(draftHeaders(), 'Content-Type', 'text/calendar; component=VJOURNAL; method=REQUEST'),
      },
      'invalid-scheduling-message',
      400,
      /not accepted here/,
    );
  });

  it('recipient-mismatch: a free-busy request whose Recipients are not its ATTENDEEs', async () => {
    const headers = draftHeaders({ component: 'VFREEBUSY', recipients: ['mailto:cyrus@example.org'] });
    await expectError({ headers, body: freebusy }, 'recipient-mismatch', 400);
  });

  it('attachment-type-not-supported, min-date-time, max-date-time, max-instances', async () => {
    const inline = invitation.replace('SUMMARY:', 'ATTACH;ENCODING=BASE64;VALUE=BINARY:SGVsbG8=\r\nSUMMARY:');
    await expectError({ body: inline }, 'attachment-type-not-supported', 400, /inline/);
    await expectError(
      { body: invitation.replace('DTSTART:20040902T130000Z', 'DTSTART:18000902T130000Z') },
      'min-date-time',
      400,
    );
    await expectError(
      { body: invitation.replace('DTEND:20040902T140000Z', 'DTEND:22000902T140000Z') },
      'max-date-time',
      400,
    );
    await expectError(
      { body: invitation.replace('SUMMARY:', 'RRULE:FREQ=DAILY\r\nSUMMARY:') },
      'max-instances',
      400,
      /more than 10/,
    );
    // A bounded recurrence within the limit is fine.
    const bounded = await send({
      body: invitation.replace('SUMMARY:', 'RRULE:FREQ=DAILY;COUNT=10\r\nSUMMARY:'),
    });
    assert.equal(bounded.status, 200);
  });

  it('max-content-length: declared or streamed, without buffering the excess', async () => {
    const big = invitation.replace('SUMMARY:Design meeting', `SUMMARY:${'x'.repeat(5000)}`);
    await expectError({ body: big, key: false }, 'max-content-length', 413);
    // Chunked, no Content-Length: the receiver stops reading past the limit.
    const url = new URL('/.well-known/ischedule', receiver.url);
    const response = await new Promise<{ status: number; headers: Record<string, string>; body: Buffer }>(
      (resolve, reject) => {
        const req = http.request(
          url,
          { method: 'POST', headers: Object.fromEntries(draftHeaders()) },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers as Record<string, string>,
                body: Buffer.concat(chunks),
              }),
            );
          },
        );
        req.on('error', reject);
        for (let i = 0; i < 10; i++) req.write('x'.repeat(1000));
        req.end();
      },
    );
    const result = describeResponse(response);
    assert.equal(result.status, 413);
    assert.equal(result.error?.code, 'max-content-length');
  });
});
