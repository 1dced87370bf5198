/**
 * Choosing and importing a published key (RFC 6376 §3.6.1, draft -05 §5.8): which record
 * decides, and which keys are refused as unusable, each at its boundary. RSA keys of any size
 * and exponent are built here as PKCS#1 DER (importing a public key checks no primes).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { importPublicKey } from '../../lib/dkim/read-key-record.js';
import { keyRecord, selectPublicKey } from '../support/api.js';
import { keys, publishedKey, recordKey } from '../support/fixtures.js';
import { failureReason } from '../support/outcome.js';

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes = Buffer.from(length.toString(16).padStart(length > 0xff ? 4 : 2, '0'), 'hex');
  return Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
}
const der = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return der(0x02, Buffer.from(hex, 'hex'));
}

/** p= of an RSA public key with a modulus of exactly `bits` bits and exponent `e`. */
function rsaP(bits: number, e = 65537n): string {
  const modulus = (1n << BigInt(bits - 1)) | 1n;
  return der(0x30, Buffer.concat([derInteger(modulus), derInteger(e)])).toString('base64');
}

const reasonOf = (run: () => unknown) => {
  const reason = failureReason(run);
  return reason === 'accepted' ? 'usable' : reason;
};

const rsa = (p: string) => reasonOf(() => importPublicKey(p, 'rsa-sha256'));

describe('importPublicKey', () => {
  it('takes RSA keys of 1024 to 8192 bits, and no others', () => {
    assert.equal(rsa(rsaP(1023)), 'key-unusable');
    assert.equal(rsa(rsaP(1024)), 'usable');
    assert.equal(rsa(rsaP(8192)), 'usable');
    assert.equal(rsa(rsaP(8193)), 'key-unusable');
  });

  it('takes an odd public exponent from 3 to below 2^32, and no others', () => {
    for (const e of [3n, 65537n, 2n ** 32n - 1n]) assert.equal(rsa(rsaP(2048, e)), 'usable', String(e));
    for (const e of [1n, 2n, 65538n, 2n ** 32n, 2n ** 32n + 1n])
      assert.equal(rsa(rsaP(2048, e)), 'key-unusable', String(e));
  });

  it('reads SPKI and PKCS#1 alike, whitespace in p= ignored', () => {
    const spki = recordKey(keyRecord(keys.jupiter.privateKey));
    const folded = `${spki.slice(0, 40)} \r\n\t${spki.slice(40)}`;
    assert.equal(publishedKey(importPublicKey(folded, 'rsa-sha256')), spki);
    assert.equal(importPublicKey(rsaP(2048), 'rsa-sha1').asymmetricKeyDetails?.modulusLength, 2048);
  });

  it('refuses a p= that is not base64 or not an RSA key', () => {
    assert.equal(rsa('not*base64'), 'key-unusable');
    assert.throws(
      () => importPublicKey('not*base64', 'rsa-sha256'),
      /^VerificationError: the key record p= is not valid base64$/,
    );
    assert.equal(rsa(Buffer.from('not a key').toString('base64')), 'key-unusable');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    assert.equal(rsa(publishedKey(ec)), 'key-unusable');
  });

  it('takes an Ed25519 key as its 32 raw octets only', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
    const key = importPublicKey(raw.toString('base64'), 'ed25519-sha256');
    assert.equal(key.asymmetricKeyType, 'ed25519');
    for (const length of [31, 33, 0]) {
      const p = Buffer.alloc(length, 1).toString('base64');
      assert.equal(
        reasonOf(() => importPublicKey(p, 'ed25519-sha256')),
        'key-unusable',
        String(length),
      );
      assert.throws(() => importPublicKey(p, 'ed25519-sha256'), /an Ed25519 p= must be 32 octets/);
    }
  });
});

describe('selectPublicKey', () => {
  const p = rsaP(2048);
  const select = (
    records: string[],
    algorithm: 'rsa-sha256' | 'rsa-sha1' | 'ed25519-sha256' = 'rsa-sha256',
  ) => reasonOf(() => selectPublicKey(records, algorithm));

  it('skips records whose v=, k=, h= or s= rule them out; the first remaining one decides', () => {
    const usable = `v=DKIM1; k=rsa; h=sha256; s=ischedule; p=${p}`;
    for (const skipped of [
      `v=DKIM2; p=${p}`,
      `v=dkim1; p=${p}`,
      `k=ed25519; p=${p}`,
      `h=sha1; p=${p}`,
      `s=email; p=${p}`,
      'v=DKIM1; k=rsa',
      'v=DKIM1; p',
    ]) {
      assert.equal(select([skipped]), 'key-unusable', skipped);
      const choice = selectPublicKey([skipped, usable], 'rsa-sha256');
      assert.equal(choice.record, usable, skipped);
    }
    assert.equal(select([`s=*; p=${p}`]), 'usable');
    assert.equal(select([`s=email:ischedule; p=${p}`]), 'usable');
    assert.equal(select([`h=sha1:sha256; p=${p}`]), 'usable');
    assert.equal(select([`h=sha256; p=${p}`], 'rsa-sha1'), 'key-unusable', 'rsa-sha1 needs sha1 in h=');
    assert.equal(select([`h=sha1; p=${p}`], 'rsa-sha1'), 'usable');
  });

  it('treats an empty p= as revoked, even when a later record has a key', () => {
    assert.equal(select([`v=DKIM1; p=; s=ischedule`, `p=${p}`]), 'key-revoked');
    assert.equal(select(['p= \t']), 'key-revoked');
  });

  it('tells the peer which tags ruled its records out, and the log what they said', () => {
    const records = ['v=DKIM1; p', `s=email; p=${p}`];
    assert.throws(() => selectPublicKey(records, 'rsa-sha256', 'sel._domainkey.example.com'), {
      name: 'VerificationError',
      reason: 'key-unusable',
      message:
        'no usable key record at sel._domainkey.example.com: a malformed record; s= does not allow ischedule',
      detail: /^malformed record \(.+\); s= does not allow ischedule: s=email; p=/,
    });
  });

  it('decides for each list of records by its records, not by their text run together', () => {
    const first = `v=DKIM1; k=rsa; p=${p}`;
    const second = `v=DKIM1; k=rsa; p=${rsaP(3072)}`;
    assert.equal(selectPublicKey([first, second], 'rsa-sha256').record, first);
    // One record holding both texts is malformed (its tags repeat), whatever was chosen before.
    assert.equal(select([first + second]), 'key-unusable');
  });

  it('says no-key when there is no record at all, key-unusable when none fits', () => {
    assert.equal(select([]), 'no-key');
    assert.equal(select([`k=ed25519; p=${p}`], 'rsa-sha256'), 'key-unusable');
    assert.equal(select([`p=${p}`], 'ed25519-sha256'), 'key-unusable', 'k= defaults to rsa');
  });

  it('gives the same choice for the same records, and a new one when they change', () => {
    const records = [`p=${p}`];
    const first = selectPublicKey(records, 'rsa-sha256');
    assert.equal(selectPublicKey(records, 'rsa-sha256'), first);
    assert.equal(selectPublicKey([...records], 'rsa-sha256'), first);
    assert.equal(select([...records], 'ed25519-sha256'), 'key-unusable', 'chosen per algorithm');
    const other = selectPublicKey([`p=${rsaP(3072)}`], 'rsa-sha256');
    assert.equal(other.key.asymmetricKeyDetails?.modulusLength, 3072);
  });
});
