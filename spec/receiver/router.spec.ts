import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import express from 'express';
import { httpRequest } from '../../lib/http/request.js';
import {
  createIScheduleRouter,
  IScheduleMetrics,
  keyRecord,
  OptionsError,
  parseCapabilities,
  parseScheduleMessage,
  privateExchangeKeys,
  selectPublicKey,
  signRequest,
} from '../support/api.js';
import {
  draftHeaders,
  fixture,
  keys,
  publishedKey,
  recordKey,
  testKeyResolver,
} from '../support/fixtures.js';
import { describeResponse, draft01Battery, post, startReceiver } from '../support/receiver.js';
import { needsVectors, vectorFile } from '../support/vectors.js';

const invitation = fixture('draft/a1-request.ics');
const get = (url: string, headers: Array<[string, string]> = [], method = 'GET') =>
  httpRequest({ url: new URL(url), method, headers, timeout: 5000, maxBytes: 1 << 20 });

describe('createIScheduleRouter routes', () => {
  it('serves the -05 capabilities document, with ETag, max-age, 304 and HEAD', async () => {
    const receiver = await startReceiver({
      router: {
        capabilities: {
          serialNumber: 7,
          maxRecipients: 20,
          administrator: 'mailto:admin@example.org',
          maxAge: 600,
        },
      },
    });
    try {
      const response = await get(`${receiver.url}/.well-known/ischedule?action=capabilities`);
      assert.equal(response.status, 200);
      assert.equal(response.headers['content-type'], 'application/xml; charset=utf-8');
      assert.equal(response.headers['ischedule-capabilities'], '7');
      assert.equal(response.headers['cache-control'], 'max-age=600');
      const caps = parseCapabilities(response.body.toString());
      assert.equal(caps.serialNumber, 7);
      assert.deepEqual(caps.versions, ['1.0']);
      assert.equal(caps.maxRecipients, 20);
      assert.equal(caps.maxContentLength, 1048576);
      assert.equal(caps.administrator, 'mailto:admin@example.org');
      assert.deepEqual(caps.schedulingMessages.VFREEBUSY, ['REQUEST']);
      assert.ok(caps.schedulingMessages.VEVENT?.includes('REPLY'));
      assert.deepEqual(caps.attachments, { inline: false, external: true });

      const etag = response.headers.etag!;
      const again = await get(`${receiver.url}/.well-known/ischedule?action=capabilities`, [
        ['If-None-Match', etag],
      ]);
      assert.equal(again.status, 304);
      assert.equal(again.headers['ischedule-capabilities'], '7');
      const head = await get(`${receiver.url}/.well-known/ischedule?action=capabilities`, [], 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
    } finally {
      await receiver.close();
    }
  });

  it('answers a GET without or with an unknown action with 400 and an IS:error', async () => {
    const receiver = await startReceiver();
    try {
      // The draft -01 profile answers ?query=capabilities (spec/receiver/draft01.spec.ts).
      for (const query of ['', '?action=nope', ...(draft01Battery ? [] : ['?query=capabilities'])]) {
        const result = describeResponse(await get(`${receiver.url}/.well-known/ischedule${query}`));
        assert.equal(result.status, 400);
        assert.ok(result.error, result.text);
        assert.equal(result.headers['ischedule-version'], '1.0');
      }
    } finally {
      await receiver.close();
    }
  });

  it('answers OPTIONS with Allow and the iSchedule headers, other methods with 405', async () => {
    const receiver = await startReceiver();
    try {
      const options = await get(`${receiver.url}/.well-known/ischedule`, [], 'OPTIONS');
      assert.equal(options.status, 204);
      assert.equal(options.headers.allow, 'GET, HEAD, POST, OPTIONS');
      assert.equal(options.headers['ischedule-version'], '1.0');
      assert.equal(options.headers['ischedule-capabilities'], '1');
      const put = await get(`${receiver.url}/.well-known/ischedule`, [], 'PUT');
      assert.equal(put.status, 405);
      assert.equal(put.headers['ischedule-capabilities'], '1');
    } finally {
      await receiver.close();
    }
  });

  it('publishes its signing keys at /.well-known/domainkey as text/plain, and 404s the rest', async () => {
    const receiver = await startReceiver({
      router: { signing: [keys.venus, { ...keys.jupiter, domain: 'example.org', selector: 'venus' }] },
    });
    try {
      const response = await get(`${receiver.url}/.well-known/domainkey/example.org/venus`);
      assert.equal(response.status, 200);
      assert.match(response.headers['content-type'] ?? '', /^text\/plain/);
      const records = response.body.toString().split('\r\n').filter(Boolean);
      const draft01 = draft01Battery;
      assert.deepEqual(records, [
        keyRecord(keys.venus.privateKey, { draft01 }),
        keyRecord(keys.jupiter.privateKey, { draft01 }),
      ]);
      assert.equal(publishedKey(selectPublicKey(records, 'rsa-sha256').key), recordKey(records[0] ?? ''));
      const missing = await get(`${receiver.url}/.well-known/domainkey/example.org/nope`);
      assert.equal(missing.status, 404);
      assert.equal(missing.headers['ischedule-version'], '1.0');
    } finally {
      await receiver.close();
    }
  });

  it('answers on an extra path (a TXT path=) as on the well-known one', async () => {
    const receiver = await startReceiver({ router: { extraPaths: ['/ischedule'] } });
    try {
      const result = await post(receiver, { path: '/ischedule', headers: draftHeaders(), body: invitation });
      assert.equal(result.responses?.[0]?.requestStatus, '2.0;Success');
    } finally {
      await receiver.close();
    }
  });

  it('lives in a host app with other routes and its own JSON parser mounted after it', async () => {
    const receiver = await startReceiver({
      after: (app) => {
        app.use(express.json());
        app.post('/api/echo', (req, res) => res.json({ got: req.body }));
      },
    });
    try {
      const result = await post(receiver, { headers: draftHeaders(), body: invitation });
      assert.equal(result.status, 200);
      const echo = await httpRequest({
        url: new URL('/api/echo', receiver.url),
        method: 'POST',
        headers: [['Content-Type', 'application/json']],
        body: Buffer.from('{"a":1}'),
        timeout: 5000,
        maxBytes: 1000,
      });
      assert.deepEqual(JSON.parse(echo.body.toString()), { got: { a: 1 } });
    } finally {
      await receiver.close();
    }
  });

  it('accepts the exact octets from a host express.raw(), and fails loudly after a text parser', async () => {
    const raw = await startReceiver({ before: (app) => app.use(express.raw({ type: () => true })) });
    try {
      assert.equal((await post(raw, { headers: draftHeaders(), body: invitation })).status, 200);
    } finally {
      await raw.close();
    }
    const errors: string[] = [];
    const parsed = await startReceiver({
      before: (app) => app.use(express.text({ type: () => true })),
      router: { logger: { error: (message) => errors.push(message) } },
    });
    try {
      const result = await post(parsed, { headers: draftHeaders(), body: invitation });
      assert.equal(result.status, 500);
      assert.equal(result.error?.code, 'service-unavailable');
      assert.match(errors[0] ?? '', /mount the iSchedule handler before any body parser/);
      assert.equal(parsed.delivered.length, 0);
    } finally {
      await parsed.close();
    }
  });
});

describe('refusals an administrator sees', () => {
  it('logs signature refusals, replays included, with their reason', async () => {
    const warnings: Array<Record<string, unknown> | undefined> = [];
    const receiver = await startReceiver({
      router: { logger: { warn: (_m, details) => warnings.push(details) } },
    });
    try {
      const headers = draftHeaders();
      headers.push(['DKIM-Signature', signRequest({ headers, body: invitation, key: keys.jupiter })]);
      assert.equal((await post(receiver, { headers, body: invitation, key: false })).status, 200);
      const again = await post(receiver, { headers, body: invitation, key: false });
      assert.equal(again.status, 403);
      assert.equal(again.error?.code, 'verification-failed');
      assert.deepEqual(
        warnings.map((w) => w?.reason),
        ['replayed'],
      );
      assert.equal(receiver.delivered.length, 1);
    } finally {
      await receiver.close();
    }
  });
});

describe('per-recipient delivery', () => {
  const two = () => draftHeaders({ recipients: ['mailto:cyrus@example.org', 'mailto:mike@example.org'] });
  const body = invitation
    .toString()
    .replace(
      'END:VEVENT',
      'ATTENDEE;RSVP=TRUE:mailto:mike@example.org\r\nATTENDEE:mailto:ken@example.net\r\nEND:VEVENT',
    );

  it('isolates an adapter that throws or hangs to its own recipient (5.1)', async () => {
    const errors: string[] = [];
    const receiver = await startReceiver({
      users: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
      router: { adapterTimeout: 200, logger: { error: (m, d) => errors.push(`${m} ${JSON.stringify(d)}`) } },
      adapter: {
        deliverToInbox: ({ recipient, signal }) => {
          if (recipient.includes('mike'))
            return new Promise((resolve) => signal.addEventListener('abort', () => resolve(undefined)));
          throw new Error('disk full');
        },
      },
    });
    try {
      const result = await post(receiver, { headers: two(), body });
      assert.equal(result.status, 200);
      assert.deepEqual(
        result.responses?.map((r) => [r.recipient, r.requestStatus]),
        [
          ['mailto:cyrus@example.org', '5.1;Service unavailable'],
          ['mailto:mike@example.org', '5.1;Service unavailable'],
        ],
      );
      assert.ok(errors.some((e) => e.includes('disk full')));
      assert.ok(errors.some((e) => e.includes('did not answer within 200 ms')));
    } finally {
      await receiver.close();
    }
  });

  it('gives adapter calls a signal that is live during the call and aborted once its deadline passed, however late it is read', async () => {
    const seen: unknown[] = [];
    const receiver = await startReceiver({
      users: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
      router: { adapterTimeout: 100 },
      adapter: {
        deliverToInbox: (args) => {
          if (args.recipient.includes('cyrus')) {
            seen.push(['at once', args.signal.aborted]);
            return undefined;
          }
          // Read only after the deadline: the signal made then is already aborted, with the reason.
          return new Promise((resolve) =>
            setTimeout(() => {
              seen.push(['late', args.signal.aborted, (args.signal.reason as Error).message]);
              resolve(undefined);
            }, 250),
          );
        },
      },
    });
    try {
      const result = await post(receiver, { headers: two(), body });
      assert.deepEqual(
        result.responses?.map((r) => r.requestStatus),
        ['2.0;Success', '5.1;Service unavailable'],
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(seen, [
        ['at once', false],
        ['late', true, 'deliverToInbox did not answer within 100 ms'],
      ]);
    } finally {
      await receiver.close();
    }
  });

  it('times every adapter call for the metrics: one that answers at once, one that throws, one that answers later', async () => {
    const metrics = new IScheduleMetrics();
    const receiver = await startReceiver({
      users: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
      router: { metrics },
      adapter: {
        deliverToInbox: ({ recipient }) => {
          if (recipient.includes('cyrus')) throw new Error('disk full');
          return new Promise((resolve) => setTimeout(() => resolve(undefined), 20));
        },
      },
    });
    try {
      const result = await post(receiver, { headers: two(), body });
      assert.deepEqual(
        result.responses?.map((r) => r.requestStatus),
        ['5.1;Service unavailable', '2.0;Success'],
      );
      const text = await metrics.registry.metrics();
      for (const line of [
        'ischedule_adapter_seconds_count{call="lookupUser"} 2',
        'ischedule_adapter_seconds_count{call="deliverToInbox"} 2',
      ])
        assert.ok(text.includes(line), `${line}\n---\n${text}`);
    } finally {
      await receiver.close();
    }
  });

  it('hands each adapter call its arguments with signal as an own enumerable property, which a spread keeps', async () => {
    const seen: Array<[string[], boolean]> = [];
    const look = (args: object & { signal: AbortSignal }) =>
      seen.push([Object.keys(args), { ...args }.signal instanceof AbortSignal]);
    const receiver = await startReceiver({
      users: ['mailto:cyrus@example.org'],
      adapter: {
        lookupUser: (args) => {
          look(args);
          return args.address;
        },
        deliverToInbox: (args) => {
          look(args);
        },
      },
    });
    try {
      const result = await post(receiver, { headers: draftHeaders(), body: invitation });
      assert.equal(result.responses?.[0]?.requestStatus, '2.0;Success');
      assert.deepEqual(seen, [
        [['address', 'request', 'signal'], true],
        [['recipient', 'user', 'originator', 'message', 'request', 'signal'], true],
      ]);
    } finally {
      await receiver.close();
    }
  });

  it('gives the arguments of every call one hidden class, so that an adapter reading them stays monomorphic', async () => {
    // V8's own verdict, in a process that may ask for it: a getter made per call gave every
    // argument object a hidden class of its own.
    const lib = (path: string) => JSON.stringify(new URL(`../../lib/${path}`, import.meta.url).href);
    const script = `
      const { deliverToRecipients } = await import(${lib('receiver/deliver.ts')});
      const { resolveOptions } = await import(${lib('receiver/resolve-options.ts')});
      const { parseMessage } = await import(${lib('receiver/check-message.ts')});
      const { keyRecord, privateExchangeKeys } = await import(${lib('dkim/index.ts')});
      const sameShape = new Function('a', 'b', 'return %HaveSameMap(a, b)');
      const seen = { lookupUser: [], deliverToInbox: [] };
      const options = resolveOptions({
        domains: ['example.org'],
        keys: privateExchangeKeys({ 'jupiter._domainkey.example.com': keyRecord(${JSON.stringify(keys.jupiter.privateKey)}) }),
        adapter: {
          lookupUser: (args) => (seen.lookupUser.push(args), args.address),
          deliverToInbox: (args) => void seen.deliverToInbox.push(args),
          getFreeBusy: () => [],
        },
      });
      const message = parseMessage(Buffer.from(${JSON.stringify(invitation.toString())}), { component: 'VEVENT', method: 'REQUEST' }, options.limits);
      for (const recipient of ['mailto:cyrus@example.org', 'mailto:mike@example.org'])
        await deliverToRecipients({ originator: 'mailto:bernard@example.com', recipients: [recipient], message, request: {} }, options);
      console.log(JSON.stringify(Object.entries(seen).map(([name, [a, b]]) => [name, sameShape(a, b)])));
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 20_000 },
    );
    assert.deepEqual(JSON.parse(stdout), [
      ['lookupUser', true],
      ['deliverToInbox', true],
    ]);
  });

  it('answers 3.7 for unknown users and other domains, passes adapter statuses through, keeps the order received', async () => {
    const receiver = await startReceiver({
      users: ['mailto:cyrus@example.org'],
      adapter: {
        deliverToInbox: () => ({
          requestStatus: '2.3;Success, repeated property ignored',
          description: 'merged',
        }),
      },
    });
    try {
      const headers = draftHeaders({
        recipients: ['mailto:MIKE@example.org', 'mailto:ken@example.net, mailto:Cyrus@Example.org'],
      });
      const result = await post(receiver, { headers, body });
      assert.deepEqual(
        result.responses?.map((r) => [r.recipient, r.requestStatus, r.description]),
        [
          ['mailto:MIKE@example.org', '3.7;Invalid calendar user', 'unknown calendar user'],
          [
            'mailto:ken@example.net',
            '3.7;Invalid calendar user',
            'not a user of this server (iSchedule does not relay)',
          ],
          ['mailto:Cyrus@Example.org', '2.3;Success, repeated property ignored', 'merged'],
        ],
      );
    } finally {
      await receiver.close();
    }
  });

  it('holds an adapter answering with a foreign thenable to the same deadline as a promise', async () => {
    // Not a native Promise (a library's own), settled late or never: the deadline still applies.
    const thenable = (settle: boolean) => ({
      // biome-ignore lint/suspicious/noThenProperty: a thenable that is no Promise is the point here
      then(resolve: (value: undefined) => void) {
        if (settle) setTimeout(() => resolve(undefined), 10);
      },
    });
    const receiver = await startReceiver({
      users: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
      router: { adapterTimeout: 200 },
      adapter: {
        deliverToInbox: ({ recipient }) => thenable(recipient.includes('cyrus')) as never,
      },
    });
    try {
      const result = await post(receiver, { headers: two(), body });
      assert.deepEqual(
        result.responses?.map((r) => [r.recipient, r.requestStatus]),
        [
          ['mailto:cyrus@example.org', '2.0;Success'],
          ['mailto:mike@example.org', '5.1;Service unavailable'],
        ],
      );
    } finally {
      await receiver.close();
    }
  });

  it('treats a malformed status from the adapter as a failure, not as success', async () => {
    const receiver = await startReceiver({ adapter: { deliverToInbox: () => 'ok!' } });
    try {
      const result = await post(receiver, { headers: draftHeaders(), body: invitation });
      assert.equal(result.responses?.[0]?.requestStatus, '5.1;Service unavailable');
    } finally {
      await receiver.close();
    }
  });
});

describe('the draft examples end to end (Appendix A)', () => {
  it('A.1: an invitation is delivered (2.0)', async () => {
    const receiver = await startReceiver();
    try {
      const result = await post(receiver, { headers: draftHeaders(), body: invitation });
      assert.equal(result.status, 200);
      assert.equal(result.headers['content-type'], 'application/xml; charset=utf-8');
      assert.deepEqual(result.responses, [
        {
          recipient: 'mailto:cyrus@example.org',
          requestStatus: '2.0;Success',
          description: 'Delivered to recipient',
        },
      ]);
      assert.equal(receiver.delivered.length, 1);
      assert.equal(receiver.delivered[0]?.message.uid, '34222-232@example.com');
      assert.equal(receiver.delivered[0]?.message.text, invitation.toString());
    } finally {
      await receiver.close();
    }
  });

  it('A.2: a busy-time search returns VFREEBUSY data for cyrus and a failure for mike', async () => {
    const receiver = await startReceiver({
      busy: {
        'mailto:cyrus@example.org': [
          { start: '2004-09-01T20:00:00Z', end: '2004-09-02T09:00:00Z', type: 'BUSY-UNAVAILABLE' },
          { start: '2004-09-02T17:00:00Z', end: '2004-09-03T09:00:00Z', type: 'BUSY-UNAVAILABLE' },
          { start: new Date('2004-09-02T12:00:00Z'), end: new Date('2004-09-02T13:00:00Z') },
        ],
      },
    });
    try {
      const headers = draftHeaders({
        component: 'VFREEBUSY',
        recipients: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
      });
      const result = await post(receiver, { headers, body: fixture('draft/a2-freebusy.ics') });
      const [cyrus, mike] = result.responses ?? [];
      assert.equal(cyrus?.requestStatus, '2.0;Success');
      const reply = parseScheduleMessage(cyrus?.calendarData ?? '');
      assert.equal(reply.method, 'REPLY');
      assert.equal(reply.uid, '34222-232@example.com');
      // CRLF line ends survive the XML transport; unfold before reading lines.
      const lines = (cyrus?.calendarData ?? '').replace(/\r\n[ \t]/g, '').split('\r\n');
      assert.ok(
        lines.includes(
          'FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20040902T000000Z/20040902T090000Z,20040902T170000Z/20040903T000000Z',
        ),
      );
      assert.ok(lines.includes('FREEBUSY;FBTYPE=BUSY:20040902T120000Z/20040902T130000Z'));
      assert.equal(mike?.requestStatus, '3.7;Invalid calendar user');
      assert.equal(receiver.delivered.length, 0, 'free-busy delivers nothing');
    } finally {
      await receiver.close();
    }
  });

  it('A.3: a VTODO request that cannot be verified is refused with 403 verification-failed', async () => {
    const receiver = await startReceiver();
    try {
      const headers = draftHeaders({ component: 'VTODO' }).filter(([n]) => n !== 'iSchedule-Message-ID');
      // Signed by a key that is not the one published for d=example.com s=jupiter.
      const result = await post(receiver, {
        headers,
        body: fixture('draft/a3-vtodo.ics'),
        key: { ...keys.venus, domain: 'example.com', selector: 'jupiter' },
      });
      assert.equal(result.status, 403);
      assert.equal(result.error?.code, 'verification-failed');
      // Signed properly, the same VTODO is delivered.
      const good = await post(receiver, { headers, body: fixture('draft/a3-vtodo.ics') });
      assert.equal(good.responses?.[0]?.requestStatus, '2.0;Success');
    } finally {
      await receiver.close();
    }
  });

  it(
    "verifies requests signed with the CalendarServer vectors' keys (private-exchange file)",
    needsVectors,
    async () => {
      const record = vectorFile('private-exchange/serverB-example.org/example.com#ischedule').toString();
      const receiver = await startReceiver({
        keys: privateExchangeKeys({ 'ischedule._domainkey.example.com': record }),
      });
      try {
        const confA = {
          domain: 'example.com',
          selector: 'ischedule',
          privateKey: vectorFile('keys/confA-example.com-ischedule.private.pem').toString(),
        };
        const result = await post(receiver, {
          headers: draftHeaders(),
          body: invitation,
          key: confA,
          sign: { queryMethods: ['private-exchange'] },
        });
        assert.equal(result.responses?.[0]?.requestStatus, '2.0;Success', result.text);
      } finally {
        await receiver.close();
      }
    },
  );
});

describe('options are checked when the factory runs', () => {
  const adapter = { lookupUser: () => null, deliverToInbox: () => undefined, getFreeBusy: () => [] };
  const base = { domains: ['example.org'], adapter, keys: testKeyResolver() };
  const cases: Array<[string, object, RegExp]> = [
    ['no domains', { domains: [] }, /domains/],
    [
      'a bad domain',
      { domains: ['not a domain'] },
      /options\.domains\[0\] must be a domain name, not "not a domain"/,
    ],
    [
      'a missing adapter method',
      { adapter: { lookupUser: () => null, deliverToInbox: () => undefined } },
      /adapter\.getFreeBusy/,
    ],
    [
      'an unusable signing key',
      { signing: { ...keys.jupiter, privateKey: fixture('keys/weak-512.rsa.pem').toString() } },
      /512 bits/,
    ],
    [
      'a signing key that is not a key',
      { signing: { ...keys.jupiter, privateKey: 'nope' } },
      /options\.signing \(jupiter\._domainkey\.example\.com\) is not a private key in PEM/,
    ],
    ['a bad limit', { capabilities: { maxRecipients: 0 } }, /maxRecipients/],
    ['a bad date limit', { capabilities: { minDateTime: '1900-01-01' } }, /minDateTime/],
    ['a bad alignment', { policy: { alignment: 'loose' } }, /alignment/],
    ['a relative path', { path: 'ischedule' }, /options\.path must be a path starting with "\/"/],
    [
      'a bad network, own keys or not',
      { allowNetworks: ['10.0.0.0/99'] },
      /options\.allowNetworks\[0\] must be a network/,
    ],
    ['a requireTimestamp that is no boolean', { policy: { requireTimestamp: 'no' } }, /requireTimestamp/],
    [
      'an unknown limit',
      { limits: { maxLine: 5 } },
      /options\.limits\.maxLine is not an option: did you mean "maxLines"\?/,
    ],
    ['a limit that is no positive integer', { limits: { maxLines: 0 } }, /limits\.maxLines must be/],
    ['a zero maxSignatureAge', { policy: { maxSignatureAge: 0 } }, /maxSignatureAge/],
  ];
  for (const [name, override, pattern] of cases) {
    it(`throws an OptionsError for ${name}`, () => {
      assert.throws(
        () => createIScheduleRouter({ ...base, ...override } as never),
        (e: unknown) => e instanceof OptionsError && pattern.test(e.message),
      );
    });
  }

  it('capabilities parse back to the options they came from', async () => {
    const capabilities = {
      serialNumber: 42,
      schedulingMessages: { VEVENT: ['REQUEST', 'CANCEL'], VFREEBUSY: ['REQUEST'] },
      maxContentLength: 65536,
      minDateTime: '20000101T000000Z',
      maxDateTime: '20991231T000000Z',
      maxInstances: 50,
      maxRecipients: 7,
      attachments: { inline: true, external: false },
      administrator: 'mailto:ops@example.org',
    };
    const receiver = await startReceiver({ router: { capabilities } });
    try {
      const response = await get(`${receiver.url}/.well-known/ischedule?action=capabilities`);
      const parsed = parseCapabilities(response.body.toString());
      assert.deepEqual(
        { ...parsed, versions: undefined, calendarDataTypes: undefined },
        { ...capabilities, versions: undefined, calendarDataTypes: undefined },
      );
    } finally {
      await receiver.close();
    }
  });
});
