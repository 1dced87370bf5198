/**
 * The receiver's draft -01 profile (`draft01Peers`): a listed peer's `c=simple-http` request with
 * a bare Recipient is verified and delivered, answered under the name it used; `?query=
 * capabilities` serves the old document; every other request is answered exactly as before.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { signDraft01Request } from '../../lib/dkim/draft01.js';
import { httpRequest } from '../../lib/http/request.js';
import { parseCapabilities, selectPublicKey } from '../support/api.js';
import { draftHeaders, fixture, type Headers, itipMessage, keys } from '../support/fixtures.js';
import { describeResponse, post, startReceiver, type TestReceiver } from '../support/receiver.js';

const invitation = fixture('draft/a1-request.ics');
const jupiter = createPrivateKey(keys.jupiter.privateKey);

/** A request signed as DAViCal signs: bare Recipient, c=simple-http, no Message-ID. */
function postDraft01(
  receiver: TestReceiver,
  recipients: readonly string[],
  options: { domain?: string; body?: Buffer } = {},
) {
  return draft01Request(receiver, recipients, options)();
}

/** Signs once; each call of the result sends the same request again. */
function draft01Request(
  receiver: TestReceiver,
  recipients: readonly string[],
  options: { domain?: string; body?: Buffer } = {},
) {
  const url = new URL('/.well-known/ischedule', receiver.url);
  const attendees = recipients.map((r) => (r.includes(':') ? r : `mailto:${r}`));
  const body = options.body ?? Buffer.from(itipMessage(randomUUID(), { attendees }));
  const headers: Headers = [
    ['Host', url.host],
    ['iSchedule-Version', '1.0'],
    ['Originator', 'mailto:bernard@example.com'],
    ['Recipient', recipients.join(', ')],
    ['Content-Type', 'text/calendar; component=VEVENT; method=REQUEST'],
  ];
  const signature = signDraft01Request({
    headers,
    body,
    domain: options.domain ?? 'example.com',
    selector: 'jupiter',
    privateKey: jupiter,
    algorithm: 'rsa-sha256',
    timestamp: Math.floor(Date.now() / 1000),
    expiresIn: 300,
  });
  headers.push(['DKIM-Signature', signature]);
  return async () =>
    describeResponse(
      await httpRequest({ url, method: 'POST', headers, body, timeout: 5000, maxBytes: 1 << 20 }),
    );
}

const get = (url: string) => httpRequest({ url: new URL(url), timeout: 5000, maxBytes: 1 << 20 });

const users = ['mailto:cyrus@example.org', 'mailto:mike@example.org'];

describe('a draft -01 peer listed in draft01Peers', () => {
  it('is verified and delivered; a bare Recipient is mailto: for the host and answered as it was named', async () => {
    const receiver = await startReceiver({ users, router: { draft01Peers: ['example.com'] } });
    try {
      const result = await postDraft01(receiver, ['cyrus@example.org', 'mailto:mike@example.org']);
      assert.equal(result.status, 200, result.text);
      assert.deepEqual(
        result.responses?.map((r) => [r.recipient, r.requestStatus.split(';')[0]]),
        [
          ['cyrus@example.org', '2.0'],
          ['mailto:mike@example.org', '2.0'],
        ],
      );
      assert.deepEqual(
        receiver.delivered.map((d) => d.recipient),
        ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
      );
    } finally {
      await receiver.close();
    }
  });

  it('is held to the same checks: a replay is refused, an unknown user is 3.7', async () => {
    const receiver = await startReceiver({ users, router: { draft01Peers: ['example.com'] } });
    try {
      const send = draft01Request(receiver, ['cyrus@example.org']);
      assert.equal((await send()).status, 200);
      const again = await send();
      assert.equal(again.status, 403);
      assert.match(again.error?.description ?? '', /replay refused/);
      assert.equal(receiver.delivered.length, 1);
      const unknown = await postDraft01(receiver, ['nobody@example.org']);
      assert.equal(unknown.status, 200);
      assert.equal(unknown.responses?.[0]?.requestStatus.split(';')[0], '3.7');
      assert.equal(unknown.responses?.[0]?.recipient, 'nobody@example.org');
    } finally {
      await receiver.close();
    }
  });

  it('cannot relay: a bare Recipient outside our domains is refused per recipient', async () => {
    const receiver = await startReceiver({ users, router: { draft01Peers: ['example.com'] } });
    try {
      const result = await postDraft01(receiver, ['cyrus@elsewhere.example']);
      assert.equal(result.status, 200);
      assert.notEqual(result.responses?.[0]?.requestStatus.split(';')[0], '2.0');
      assert.equal(receiver.delivered.length, 0);
    } finally {
      await receiver.close();
    }
  });
});

describe('draft -01 requests the profile does not cover', () => {
  it('are refused 403 naming the canonicalization and the option, when no peer is listed', async () => {
    const receiver = await startReceiver({ users });
    try {
      // A bare Recipient is refused first, as before: send a mailto one to reach the signature.
      const result = await postDraft01(receiver, ['mailto:cyrus@example.org']);
      assert.equal(result.status, 403);
      assert.equal(result.error?.code, 'verification-failed');
      assert.match(result.error?.description ?? '', /c=simple-http is not supported.*draft01Peers/);
      assert.equal(receiver.delivered.length, 0);
    } finally {
      await receiver.close();
    }
  });

  it('are refused from a domain not listed: its bare Recipient is not a calendar address', async () => {
    const receiver = await startReceiver({ users, router: { draft01Peers: ['davical.test'] } });
    try {
      const bare = await postDraft01(receiver, ['cyrus@example.org']);
      assert.equal(bare.status, 400);
      assert.equal(bare.error?.code, 'recipient-invalid');
      const signed = await postDraft01(receiver, ['mailto:cyrus@example.org']);
      assert.equal(signed.status, 403);
      assert.match(signed.error?.description ?? '', /accepted only from draft01Peers \(davical\.test\)/);
      assert.equal(receiver.delivered.length, 0);
    } finally {
      await receiver.close();
    }
  });
});

describe('draft -05 requests with the profile on', () => {
  it('are answered exactly as without it: accepted, tampered, bare Recipient, unsigned', async () => {
    const cases: Array<(r: TestReceiver) => ReturnType<typeof post>> = [
      (r) => post(r, { headers: draftHeaders({ messageId: 'same-1' }), body: invitation }),
      (r) =>
        post(r, {
          headers: draftHeaders({ messageId: 'same-2' }),
          body: invitation,
          sendBody: invitation.toString().replace('Design', 'Secret'),
        }),
      (r) => post(r, { headers: draftHeaders({ recipients: ['cyrus@example.org'] }), body: invitation }),
      (r) => post(r, { headers: draftHeaders(), body: invitation, key: false }),
    ];
    const answers = async (router: { draft01Peers?: string[] }) => {
      const receiver = await startReceiver({ users, router });
      try {
        const seen: Array<[number, string | undefined, string | undefined]> = [];
        for (const send of cases) {
          const result = await send(receiver);
          seen.push([
            result.status,
            result.error?.code,
            result.error?.description ?? result.responses?.[0]?.requestStatus,
          ]);
        }
        return seen;
      } finally {
        await receiver.close();
      }
    };
    const without = await answers({});
    assert.deepEqual(await answers({ draft01Peers: ['example.com'] }), without);
    assert.deepEqual(
      without.map(([status, code]) => [status, code]),
      [
        [200, undefined],
        [403, 'verification-failed'],
        [400, 'recipient-invalid'],
        [403, 'verification-failed'],
      ],
    );
  });
});

describe('what a draft -01 peer reads from us', () => {
  it('?query=capabilities is the -01 capability-set, with the same components and limits', async () => {
    const receiver = await startReceiver({
      router: {
        draft01Peers: ['davical.test'],
        capabilities: { maxRecipients: 20, administrator: 'mailto:a@example.org' },
      },
    });
    try {
      const old = await get(`${receiver.url}/.well-known/ischedule?query=capabilities`);
      assert.equal(old.status, 200);
      const text = old.body.toString();
      assert.match(text, /<query-result xmlns="urn:ietf:params:xml:ns:ischedule">\s*<capability-set>/);
      assert.match(text, /<comp name="VEVENT"><method name="REQUEST"\/>/);
      assert.match(text, /<supported-recipient-uri-scheme-set><scheme>mailto<\/scheme>/);
      const draft01 = parseCapabilities(text);
      const current = parseCapabilities(
        (await get(`${receiver.url}/.well-known/ischedule?action=capabilities`)).body.toString(),
      );
      assert.equal(draft01.revision, 'draft-01');
      assert.equal(current.revision, undefined);
      assert.deepEqual(draft01.schedulingMessages, current.schedulingMessages);
      for (const field of [
        'versions',
        'calendarDataTypes',
        'attachments',
        'maxContentLength',
        'minDateTime',
        'maxDateTime',
        'maxInstances',
        'maxRecipients',
        'administrator',
      ] as const) {
        assert.deepEqual(draft01[field], current[field], field);
      }
    } finally {
      await receiver.close();
    }
  });

  it('without the profile, ?query=capabilities is a 400 that points to ?action=capabilities', async () => {
    const receiver = await startReceiver();
    try {
      const old = await get(`${receiver.url}/.well-known/ischedule?query=capabilities`);
      assert.equal(old.status, 400);
      assert.match(old.body.toString(), /GET needs \?action=capabilities/);
    } finally {
      await receiver.close();
    }
  });

  it('our published key record names the calendar service too, which -01 peers require', async () => {
    const withProfile = await startReceiver({ router: { draft01Peers: ['davical.test'] } });
    const without = await startReceiver();
    try {
      const record = async (r: TestReceiver) =>
        (await get(`${r.url}/.well-known/domainkey/example.org/venus`)).body.toString().trim();
      assert.match(await record(withProfile), /^v=DKIM1; k=rsa; s=calendar:ischedule; p=/);
      assert.match(await record(without), /^v=DKIM1; k=rsa; s=ischedule; p=/);
      assert.equal(selectPublicKey([await record(withProfile)], 'rsa-sha256').key.asymmetricKeyType, 'rsa');
    } finally {
      await withProfile.close();
      await without.close();
    }
  });
});
