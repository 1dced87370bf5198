/**
 * Which signers may speak for which Originators: domain alignment in its three modes, the
 * receiver's own users, and the allow and deny lists. Each refusal is originator-denied (403) and
 * delivers nothing; each case has a neighbour that is accepted, so that a check that refused
 * everything would fail here too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  chainKeys,
  type KeyResolver,
  keyRecord,
  privateExchangeKeys,
  type SigningKey,
} from '../support/api.js';
import { draftHeaders, fixture, type Headers, keys, testKeyResolver } from '../support/fixtures.js';
import {
  type PostResult,
  post,
  startReceiver,
  type TestReceiver,
  type TestReceiverOptions,
} from '../support/receiver.js';

const invitation = fixture('draft/a1-request.ics').toString();
const ORGANIZER = 'bernard@example.com';

/** The test's RSA key, published for `domain` under selector s1. */
const signer = (domain: string): SigningKey => ({
  domain,
  selector: 's1',
  privateKey: keys.jupiter.privateKey,
});

const SIGNING_DOMAINS = ['example.net', 'blocked.example', 'mail.blocked.example', 'cal.example.com', 'com'];

function resolver(): KeyResolver {
  const records: Record<string, string> = {};
  for (const domain of SIGNING_DOMAINS)
    records[`s1._domainkey.${domain}`] = keyRecord(keys.jupiter.privateKey);
  const extra = privateExchangeKeys(records);
  return chainKeys(testKeyResolver(), {
    methods: ['dns/txt'],
    lookup: (query) => extra.lookup({ ...query, method: 'private-exchange' }),
  });
}

/** An invitation whose Originator and ORGANIZER are `organizer` (a mailto address or another URI). */
function invitationFrom(organizer: string): { headers: Headers; body: string } {
  const address = organizer.includes(':') ? organizer : `mailto:${organizer}`;
  const headers = draftHeaders().map(([name, value]): [string, string] =>
    name === 'Originator' ? [name, address] : [name, value],
  );
  const body = invitation.replaceAll(`mailto:${ORGANIZER}`, address);
  return { headers, body };
}

async function withReceiver(
  options: TestReceiverOptions,
  run: (
    send: (organizer: string, key: SigningKey) => Promise<PostResult>,
    receiver: TestReceiver,
  ) => Promise<void>,
): Promise<void> {
  const receiver = await startReceiver({ keys: resolver(), ...options });
  try {
    await run((organizer, key) => post(receiver, { ...invitationFrom(organizer), key }), receiver);
  } finally {
    await receiver.close();
  }
}

function assertDenied(result: PostResult, because: RegExp): void {
  assert.equal(result.status, 403, result.text);
  assert.equal(result.error?.code, 'originator-denied', result.text);
  assert.match(result.error?.description ?? '', because);
}

function assertDelivered(result: PostResult): void {
  assert.equal(result.status, 200, result.text);
  assert.equal(result.responses?.[0]?.requestStatus.split(';')[0], '2.0', result.text);
}

describe('domain alignment: which signing domain may speak for an Originator', () => {
  let relaxed: TestReceiver;
  let sendRelaxed: (organizer: string, key: SigningKey) => Promise<PostResult>;
  before(async () => {
    relaxed = await startReceiver({ keys: resolver() });
    sendRelaxed = (organizer, key) => post(relaxed, { ...invitationFrom(organizer), key });
  });
  after(() => relaxed.close());

  it('relaxed (the default): the signing domain or a parent of the Originator’s domain', async () => {
    assertDelivered(await sendRelaxed(ORGANIZER, keys.jupiter));
    assertDelivered(await sendRelaxed('bernard@cal.example.com', keys.jupiter));
    assertDenied(
      await sendRelaxed(ORGANIZER, signer('cal.example.com')),
      /d=cal\.example\.com.*domain alignment/,
    );
    assertDenied(await sendRelaxed(ORGANIZER, signer('example.net')), /d=example\.net.*domain alignment/);
  });

  it('never lets a single-label domain such as d=com sign for everyone under it', async () => {
    assertDenied(await sendRelaxed(ORGANIZER, signer('com')), /d=com.*domain alignment/);
  });

  it('refuses an Originator that is not a mailto address, whose domain cannot be compared', async () => {
    assertDenied(
      await sendRelaxed('https://example.com/users/bernard', keys.jupiter),
      /not a mailto address/,
    );
  });

  it('strict: only the Originator’s own domain may sign', async () => {
    await withReceiver({ router: { policy: { alignment: 'strict' } } }, async (send) => {
      assertDenied(await send('bernard@cal.example.com', keys.jupiter), /d=example\.com.*domain alignment/);
      assertDelivered(await send('bernard@cal.example.com', signer('cal.example.com')));
      assertDelivered(await send(ORGANIZER, keys.jupiter));
    });
  });

  it('off: any verified domain may speak for any Originator, mailto or not', async () => {
    await withReceiver({ router: { policy: { alignment: 'off' } } }, async (send) => {
      assertDelivered(await send(ORGANIZER, signer('example.net')));
      assertDelivered(await send('https://example.com/users/bernard', signer('example.net')));
    });
  });
});

describe('the receiver’s own users cannot be claimed from outside', () => {
  it('refuses an Originator in any of the receiver’s domains, unless allowLocalOriginators', async () => {
    const domains = ['example.org', 'example.edu'];
    await withReceiver({ router: { domains } }, async (send, receiver) => {
      for (const local of ['eve@example.org', 'eve@example.edu', 'eve@staff.example.edu']) {
        assertDenied(await send(local, keys.jupiter), /claims to be a user of this server/);
      }
      assert.equal(receiver.delivered.length, 0);
    });
    await withReceiver({ router: { domains, policy: { allowLocalOriginators: true } } }, async (send) => {
      assertDelivered(await send('eve@example.org', keys.venus));
    });
  });
});

describe('allowDomains and denyDomains: the receiver’s choice of peers', () => {
  it('denyDomains refuses a listed domain and its sub-domains, and nobody else', async () => {
    await withReceiver(
      { router: { policy: { denyDomains: ['blocked.example'] } } },
      async (send, receiver) => {
        assertDenied(
          await send('bernard@blocked.example', signer('blocked.example')),
          /blocked\.example are refused/,
        );
        assertDenied(
          await send('bernard@mail.blocked.example', signer('mail.blocked.example')),
          /mail\.blocked\.example are refused/,
        );
        assert.equal(receiver.delivered.length, 0);
        assertDelivered(await send(ORGANIZER, keys.jupiter));
        assertDelivered(await send('bernard@example.net', signer('example.net')));
      },
    );
  });

  it('allowDomains accepts any listed domain and its sub-domains, and refuses every other', async () => {
    await withReceiver(
      { router: { policy: { allowDomains: ['partner.example', 'example.com'] } } },
      async (send, receiver) => {
        assertDenied(await send('bernard@example.net', signer('example.net')), /example\.net is not among/);
        assert.equal(receiver.delivered.length, 0);
        assertDelivered(await send(ORGANIZER, keys.jupiter));
        assertDelivered(await send('bernard@cal.example.com', signer('cal.example.com')));
      },
    );
  });

  it('a domain both allowed and denied is denied', async () => {
    const policy = { allowDomains: ['example.com'], denyDomains: ['cal.example.com'] };
    await withReceiver({ router: { policy } }, async (send) => {
      assertDenied(await send('bernard@cal.example.com', signer('cal.example.com')), /are refused here/);
      assertDelivered(await send(ORGANIZER, keys.jupiter));
    });
  });
});
