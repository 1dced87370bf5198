/**
 * Draft -01's DKIM (`c=simple-http`), as DAViCal signs and verifies it: accepted only from the
 * peers listed in draft01Peers, held to the whole body, and signed so that DAViCal accepts it.
 */
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { draft01KeyRecordProblem, draft01SignedData, signDraft01Request } from '../../lib/dkim/draft01.js';
import {
  keyRecord,
  privateExchangeKeys,
  signRequest,
  VerificationError,
  verifyRequest,
} from '../support/api.js';
import { fixture, type Headers, keys } from '../support/fixtures.js';

const body = Buffer.from(fixture('draft/a1-request.ics'));
const privateKey = createPrivateKey(keys.jupiter.privateKey);
const keyTable = privateExchangeKeys({
  'jupiter._domainkey.example.com': keyRecord(privateKey),
  'jupiter._domainkey.cal.example.com': keyRecord(privateKey),
});
// DAViCal asks for q=dns/txt only: a table answering that method stands for the DNS.
const dnsKeys = {
  methods: ['dns/txt'] as const,
  lookup: (query: Parameters<typeof keyTable.lookup>[0]) =>
    keyTable.lookup({ ...query, method: 'private-exchange' }),
};

const requestHeaders = (): Headers => [
  ['Host', 'cal.example.org'],
  ['iSchedule-Version', '1.0'],
  ['Originator', 'mailto:bernard@example.com'],
  ['Recipient', 'cyrus@example.org'],
  ['Content-Type', 'text/calendar; component=VEVENT; method=REQUEST'],
];

function signed(
  headers = requestHeaders(),
  signedBody: Buffer = body,
  timestamp = Math.floor(Date.now() / 1000),
  domain = 'example.com',
) {
  const signature = signDraft01Request({
    headers,
    body: signedBody,
    domain,
    selector: 'jupiter',
    privateKey,
    algorithm: 'rsa-sha256',
    timestamp,
    expiresIn: 300,
  });
  return [...headers, ['DKIM-Signature', signature]] as Headers;
}

const verifyAs = (headers: Headers, peers?: string[], received: Buffer = body) =>
  verifyRequest({ headers, body: received, keys: dnsKeys, ...(peers && { draft01Peers: peers }) });

async function refusal(promise: Promise<unknown>): Promise<VerificationError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof VerificationError, String(error));
    return error;
  }
  assert.fail('verified');
}

describe('draft -01 signatures (c=simple-http)', () => {
  it('are verified for a domain listed in draft01Peers, and say so', async () => {
    const verified = await verifyAs(signed(), ['example.com']);
    assert.equal(verified.domain, 'example.com');
    assert.equal(verified.canonicalization, 'simple-http');
    assert.deepEqual(verified.signedHeaders, [
      'Host',
      'iSchedule-Version',
      'Originator',
      'Recipient',
      'Content-Type',
    ]);
    assert.equal(verified.keyMethod, 'dns/txt');
  });

  it('are verified for a sub-domain of a listed peer, never for its parent or a look-alike', async () => {
    const sub = signed(requestHeaders(), body, undefined, 'cal.example.com');
    assert.equal((await verifyAs(sub, ['example.com'])).domain, 'cal.example.com');
    for (const peers of [['cal.example.com.evil'], ['al.example.com'], ['sub.cal.example.com']]) {
      const error = await refusal(verifyAs(sub, peers));
      assert.equal(error.reason, 'unsupported-canonicalization', peers[0]);
    }
  });

  it('are refused by a receiver that lists no draft -01 peer, naming the option', async () => {
    const error = await refusal(verifyAs(signed()));
    assert.equal(error.reason, 'unsupported-canonicalization');
    assert.equal(
      error.message,
      "canonicalization c=simple-http is not supported: iSchedule requires ischedule-relaxed/simple (draft -01's simple-http is accepted only from domains listed in draft01Peers)",
    );
    const listedNone = await refusal(verifyAs(signed(), []));
    assert.equal(listedNone.message, error.message, 'an empty list is no list');
  });

  it('leave draft -05 signatures as they were: verified, and said to be ischedule-relaxed/simple', async () => {
    const headers: Headers = [
      ['Originator', 'mailto:bernard@example.com'],
      ['Recipient', 'mailto:cyrus@example.org'],
      ['Content-Type', 'text/calendar; component=VEVENT; method=REQUEST'],
      ['iSchedule-Version', '1.0'],
    ];
    const signature = signRequest({ headers, body, key: keys.jupiter, queryMethods: ['dns/txt'] });
    for (const peers of [undefined, ['example.com']]) {
      const verified = await verifyAs([...headers, ['DKIM-Signature', signature]], peers);
      assert.equal(verified.canonicalization, 'ischedule-relaxed/simple');
    }
  });

  it('cover header octets beyond ASCII as received (one character per octet), signed and verified', async () => {
    // Node hands header values over as latin1 strings; a UTF-8 name arrives as its octets.
    const recipient = Buffer.from('mailto:zoë@example.org', 'utf8').toString('latin1');
    const headers = requestHeaders().map(([name, value]): [string, string] =>
      name === 'Recipient' ? [name, recipient] : [name, value],
    );
    const verified = await verifyAs(signed(headers), ['example.com']);
    assert.equal(verified.canonicalization, 'simple-http');
  });

  it('are refused from a domain that is not listed', async () => {
    const error = await refusal(verifyAs(signed(), ['example.org', 'davical.test']));
    assert.equal(error.reason, 'unsupported-canonicalization');
    assert.equal(
      error.message,
      "canonicalization c=simple-http is not supported for d=example.com: draft -01's simple-http is accepted only from draft01Peers (example.org, davical.test)",
    );
  });

  it('cover the body as sent: one changed octet, or an l= short or long of it, is refused', async () => {
    const changed = Buffer.from(body.toString().replace('SUMMARY:', 'SUMMARY:X'));
    assert.equal((await refusal(verifyAs(signed(), ['example.com'], changed))).reason, 'body-length-limit');
    const sameLength = Buffer.from(body.toString().replace('SUMMARY:D', 'SUMMARY:X'));
    assert.equal(sameLength.length, body.length);
    assert.equal(
      (await refusal(verifyAs(signed(), ['example.com'], sameLength))).reason,
      'body-hash-mismatch',
    );
    // A body ending in extra empty lines is not the body signed: -01 does not canonicalize it.
    const padded = Buffer.concat([body, Buffer.from('\r\n')]);
    const long = await refusal(verifyAs(signed(), ['example.com'], padded));
    assert.equal(long.reason, 'body-length-limit');
    assert.match(long.message, /l=\d+ does not cover the \d+-octet body/);
    const short = await refusal(verifyAs(signed(), ['example.com'], body.subarray(0, body.length - 2)));
    assert.equal(short.reason, 'body-length-limit');
  });

  it('without l= hash the whole body as sent', async () => {
    const headers = signed().map(([n, v]): [string, string] => [n, v]);
    const signature = headers.at(-1)![1];
    assert.match(signature, /; l=\d+; /);
    // Re-signed without l= by hand, the way a -01 signer that omits it would.
    const unsigned = signature.replace(/; l=\d+/, '').replace(/b=[^;]*$/, 'b=');
    const data = draft01SignedData(headers.slice(0, -1), signedNames(unsigned), unsigned);
    const b = signWith(data);
    const verified = await verifyAs(
      [...headers.slice(0, -1), ['DKIM-Signature', unsigned + b]],
      ['example.com'],
    );
    assert.equal(verified.canonicalization, 'simple-http');
    const sameLength = Buffer.from(body.toString().replace('SUMMARY:D', 'SUMMARY:X'));
    const tampered = verifyAs(
      [...headers.slice(0, -1), ['DKIM-Signature', unsigned + b]],
      ['example.com'],
      sameLength,
    );
    assert.equal((await refusal(tampered)).reason, 'body-hash-mismatch');
  });

  it('cover the signed headers as received: a changed Recipient or Host is refused', async () => {
    for (const name of ['Recipient', 'Host']) {
      const tampered = signed().map(([n, v]): [string, string] => [n, n === name ? `${v}x` : v]);
      const error = await refusal(verifyAs(tampered, ['example.com']));
      assert.equal(error.reason, 'signature-mismatch', name);
    }
  });

  it('must sign Originator, Recipient and Content-Type (Host and iSchedule-Version may be left out)', async () => {
    const withoutHost = signed(requestHeaders().filter(([n]) => n !== 'Host' && n !== 'iSchedule-Version'));
    assert.equal((await verifyAs(withoutHost, ['example.com'])).canonicalization, 'simple-http');
    for (const name of ['Originator', 'Recipient', 'Content-Type']) {
      const headers = requestHeaders();
      const signature = signed(headers).at(-1)![1];
      const h = /h=([^;]+)/.exec(signature)![1]!;
      const without = h
        .split(':')
        .filter((n) => n !== name)
        .join(':');
      const unsigned = signature.replace(`h=${h}`, `h=${without}`).replace(/b=[^;]*$/, 'b=');
      const forged: Headers = [
        ...headers,
        ['DKIM-Signature', unsigned + signWith(draft01SignedData(headers, without.split(':'), unsigned))],
      ];
      const error = await refusal(verifyAs(forged, ['example.com']));
      assert.equal(error.reason, 'required-header-unsigned', name);
      assert.equal(error.message, `h= does not sign ${name.toLowerCase()}`);
    }
  });

  it('are checked for t= and x= like any other signature', async () => {
    const old = signed(requestHeaders(), body, Math.floor(Date.now() / 1000) - 3600);
    assert.equal((await refusal(verifyAs(old, ['example.com']))).reason, 'expired');
  });
});

describe('draft -01 signing, as DAViCal verifies it', () => {
  it('lists in h= only the headers the request has, and signs x= after t=', () => {
    const headers = requestHeaders().filter(([n]) => n !== 'Host');
    const signature = signed(headers, body, 1_800_000_000).at(-1)![1];
    assert.match(signature, /; h=iSchedule-Version:Originator:Recipient:Content-Type; /);
    assert.match(signature, /; t=1800000000; x=1800000300; /);
  });

  it('signs with rsa-sha1 (for a peer that asks it) and Ed25519 keys, each verifiable', async () => {
    const sha1 = signDraft01Request({
      headers: requestHeaders(),
      body,
      domain: 'example.com',
      selector: 'jupiter',
      privateKey,
      algorithm: 'rsa-sha1',
      timestamp: Math.floor(Date.now() / 1000),
      expiresIn: 300,
    });
    assert.match(
      sha1,
      new RegExp(`bh=${createHash('sha1').update(body).digest('base64').replace(/[+/]/g, '\\$&')};`),
    );
    const verified = await verifyRequest({
      headers: [...requestHeaders(), ['DKIM-Signature', sha1]],
      body,
      keys: dnsKeys,
      allowSha1: true,
      draft01Peers: ['example.com'],
    });
    assert.equal(verified.algorithm, 'rsa-sha1');
    const mars = createPrivateKey(keys.mars.privateKey);
    const ed = signDraft01Request({
      headers: requestHeaders(),
      body,
      domain: 'example.com',
      selector: 'mars',
      privateKey: mars,
      algorithm: 'ed25519-sha256',
      timestamp: Math.floor(Date.now() / 1000),
      expiresIn: 300,
    });
    const edTable = privateExchangeKeys({ 'mars._domainkey.example.com': keyRecord(mars) });
    const edVerified = await verifyRequest({
      headers: [...requestHeaders(), ['DKIM-Signature', ed]],
      body,
      draft01Peers: ['example.com'],
      keys: { methods: ['dns/txt'], lookup: (q) => edTable.lookup({ ...q, method: 'private-exchange' }) },
    });
    assert.equal(edVerified.algorithm, 'ed25519-sha256');
  });

  it('signs "Name: value" lines as written, then "DKIM-Signature: " with b= emptied, no final CRLF', () => {
    const headers = signed();
    const signature = headers.at(-1)![1];
    const unsigned = signature.replace(/b=[^;]*$/, 'b=');
    // DAViCal's form, written out by hand from spec digest §8.3.
    const expected =
      'Host: cal.example.org\r\n' +
      'iSchedule-Version: 1.0\r\n' +
      'Originator: mailto:bernard@example.com\r\n' +
      'Recipient: cyrus@example.org\r\n' +
      'Content-Type: text/calendar; component=VEVENT; method=REQUEST\r\n' +
      `DKIM-Signature: ${unsigned}`;
    const b = Buffer.from(/b=([^;]*)$/.exec(signature)![1]!, 'base64');
    assert.ok(verify('sha256', Buffer.from(expected), createPublicKey(privateKey), b));
  });

  it('writes the tags DAViCal reads: "; " between them, c=simple-http, q=dns/txt, l= the whole body, b= last', () => {
    const signature = signed().at(-1)![1];
    const tags = signature.split('; ');
    assert.deepEqual(
      tags.map((t) => t.split('=')[0]),
      ['v', 'a', 's', 'd', 'c', 'q', 'l', 't', 'x', 'h', 'bh', 'b'],
    );
    assert.ok(tags.includes('c=simple-http'));
    assert.ok(tags.includes('q=dns/txt'));
    assert.ok(tags.includes(`l=${body.length}`));
  });

  it('repeated fields of one name are joined with ", "; a listed header the request lacks is an empty line', () => {
    const headers: Headers = [
      ['Recipient', 'mailto:a@example.org'],
      ['Recipient', 'mailto:b@example.org'],
    ];
    assert.equal(
      draft01SignedData(headers, ['Recipient', 'X-Absent'], 'v=1; b=abc'),
      'Recipient: mailto:a@example.org, mailto:b@example.org\r\nX-Absent: \r\nDKIM-Signature: v=1; b=',
    );
  });
});

describe('key records for draft -01 peers', () => {
  it('keyRecord({ draft01: true }) names the calendar service too, which our verifier still accepts', async () => {
    const record = keyRecord(privateKey, { draft01: true });
    assert.match(record, /^v=DKIM1; k=rsa; s=calendar:ischedule; p=[A-Za-z0-9+/=]+$/);
    assert.equal(draft01KeyRecordProblem(record), undefined);
    const table = privateExchangeKeys({ 'jupiter._domainkey.example.com': record });
    const headers = signed();
    const verified = await verifyRequest({
      headers,
      body,
      draft01Peers: ['example.com'],
      keys: { methods: ['dns/txt'], lookup: (q) => table.lookup({ ...q, method: 'private-exchange' }) },
    });
    assert.equal(verified.domain, 'example.com');
  });

  it('says why a draft -01 peer would refuse a record', () => {
    assert.match(
      draft01KeyRecordProblem(keyRecord(privateKey)) ?? '',
      /s=ischedule does not include calendar/,
    );
    assert.equal(draft01KeyRecordProblem('v=DKIM1; k=rsa; s=*; p=AB+/'), undefined);
    assert.equal(draft01KeyRecordProblem('v=DKIM1; p=AB+/'), undefined, 'no s= at all is fine');
    assert.match(draft01KeyRecordProblem('v=DKIM1; k=ed25519; p=AB') ?? '', /only RSA/);
    assert.match(draft01KeyRecordProblem('v=DKIM1; k=rsa; p=AB-_') ?? '', /URL-safe base64/);
    // Tags read as DAViCal reads them: spaces around names and values, s= as a list.
    assert.equal(
      draft01KeyRecordProblem(' v = DKIM1 ; k = rsa ; s = ischedule:calendar ; p = AB CD '),
      undefined,
    );
    assert.equal(draft01KeyRecordProblem('v=DKIM1; s=calendar; p=AB'), undefined);
    assert.equal(draft01KeyRecordProblem('v=DKIM1; s=ischedule : calendar; p=AB'), undefined, 'spaces in s=');
    assert.equal(draft01KeyRecordProblem('v=DKIM1; s=*:ischedule; p=AB'), undefined);
    for (const services of ['xcalendar', 'calendarx', 'ischedule', 'email']) {
      assert.equal(
        draft01KeyRecordProblem(`v=DKIM1; s=${services}; p=AB`),
        `s=${services} does not include calendar: publish s=calendar:ischedule`,
      );
    }
    assert.equal(
      draft01KeyRecordProblem('v=DKIM1; k=ed25519; p=AB'),
      'k=ed25519: draft -01 peers verify only RSA keys',
    );
    // doctor asks only about records our verifier read; a malformed one is said to be one.
    assert.match(draft01KeyRecordProblem('v=DKIM1; =x; junk; p=AB') ?? '', /^the record is not a tag list/);
  });
});

function signedNames(signature: string): string[] {
  return /h=([^;]+)/.exec(signature)![1]!.split(':');
}

function signWith(data: string): string {
  return sign('sha256', Buffer.from(data, 'latin1'), privateKey).toString('base64');
}
