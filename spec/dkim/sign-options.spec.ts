/**
 * What signRequest and the signing-key checks refuse, and how they say it: the option at fault
 * (`path`) and words a host's administrator can act on. A host configures these once; a wrong
 * key or header list must fail at start-up, not as a signature every peer refuses.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { prepareSigningKey, privateKeyObject } from '../../lib/dkim/sign.js';
import {
  checkSigningKey,
  OptionsError,
  parseTagList,
  type SignOptions,
  signRequest,
  verifyRequest,
} from '../support/api.js';
import { draftHeaders, fixture, keys, testKeyResolver } from '../support/fixtures.js';

const body = fixture('draft/a1-request.ics');

/** The OptionsError `run` throws, as path and message. */
function refusal(run: () => unknown): { path: string; message: string } {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof OptionsError, String(error));
    return { path: error.path, message: error.message };
  }
  return assert.fail('expected an OptionsError');
}

const sign = (options: Partial<SignOptions>) =>
  signRequest({ headers: draftHeaders(), body, key: keys.jupiter, ...options });

describe('signRequest refuses what no peer would accept', () => {
  it('a request without a header that must be signed: the headers are at fault', () => {
    for (const missing of ['Originator', 'Recipient', 'Content-Type', 'iSchedule-Version']) {
      const headers = draftHeaders().filter(([name]) => name !== missing);
      assert.deepEqual(
        refusal(() => sign({ headers })),
        { path: 'headers', message: `cannot sign: the request has no ${missing.toLowerCase()} header` },
        missing,
      );
    }
  });

  it('a header list that leaves one out, or names one twice in any letter case', () => {
    assert.deepEqual(
      refusal(() => sign({ signedHeaders: ['Originator', 'Recipient', 'Content-Type'] })),
      { path: 'signedHeaders', message: 'cannot sign: ischedule-version must be signed' },
    );
    assert.deepEqual(
      refusal(() =>
        sign({
          signedHeaders: ['Originator', 'Recipient', 'Content-Type', 'iSchedule-Version', 'originator'],
        }),
      ),
      { path: 'signedHeaders', message: 'cannot sign: signedHeaders names a header twice' },
    );
  });

  it('no key query method, or one that does not exist', () => {
    for (const queryMethods of [[], ['dns/txt', 'dns/xyz']] as const) {
      const { path, message } = refusal(() => sign({ queryMethods: queryMethods as never }));
      assert.equal(path, 'queryMethods', String(queryMethods));
      assert.match(message, /queryMethods must name some of dns\/txt, http\/well-known, private-exchange/);
    }
  });

  it('a key it cannot sign with: the key is at fault, named by its selector', () => {
    const publicPem = createPublicKey(keys.jupiter.privateKey).export({ type: 'spki', format: 'pem' });
    const encrypted = generateKeyPairSync('rsa', {
      modulusLength: 1024,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    const cases = [
      [publicPem, 'is a public key; signing needs the private key'],
      [encrypted, 'is encrypted; give the key without a passphrase (or as a KeyObject)'],
      [createPublicKey(keys.jupiter.privateKey), 'is a public key; signing needs the private key'],
      ['not a key', 'is not a private key in PEM'],
    ] as const;
    for (const [privateKey, why] of cases) {
      const { path, message } = refusal(() => sign({ key: { ...keys.jupiter, privateKey } }));
      assert.equal(path, 'key');
      assert.ok(message.startsWith(`the signing key jupiter._domainkey.example.com ${why}`), message);
    }
  });
});

describe('signing keys', () => {
  it('may be KeyObjects as well as PEM text, and sign the same', async () => {
    const key = { ...keys.jupiter, privateKey: createPrivateKey(keys.jupiter.privateKey) };
    const headers = draftHeaders();
    const signature = signRequest({ headers, body, key });
    const verified = await verifyRequest({
      headers: [...headers, ['DKIM-Signature', signature]],
      body,
      keys: testKeyResolver(),
    });
    assert.equal(verified.selector, 'jupiter');
  });

  it('signs a text body as its UTF-8 octets', () => {
    const text = body.toString('utf8').replace('SUMMARY:', 'SUMMARY:Café ');
    const bh = (value: string | Buffer) => parseTagList(sign({ body: value, timestamp: 1 })).get('bh');
    assert.equal(bh(text), bh(Buffer.from(text, 'utf8')));
    assert.notEqual(bh(text), bh(Buffer.from(text, 'latin1')));
  });

  it('are made ready once: either kind of key, the domain in lower case without its final dot', () => {
    const rsa = prepareSigningKey({ ...keys.jupiter, domain: 'Example.COM.' }, 'signingKey');
    assert.equal(rsa.domain, 'example.com');
    assert.equal(rsa.privateKey.asymmetricKeyType, 'rsa');
    const ed = prepareSigningKey({ ...keys.mars, domain: 'cal.example.com' }, 'signingKey');
    assert.equal(ed.domain, 'cal.example.com');
    assert.equal(ed.privateKey.asymmetricKeyType, 'ed25519');
    const keyObject = createPrivateKey(keys.jupiter.privateKey);
    assert.equal(
      prepareSigningKey({ ...keys.jupiter, privateKey: keyObject }, 'signingKey').privateKey,
      keyObject,
    );
  });

  it('are refused by what is wrong with them, named by the option that gave them', () => {
    const publicKey = createPublicKey(keys.jupiter.privateKey);
    assert.deepEqual(
      refusal(() => prepareSigningKey({ ...keys.jupiter, privateKey: publicKey }, 'signingKey')),
      {
        path: 'signingKey',
        message: 'signingKey (jupiter._domainkey.example.com) is a public key; signing needs the private key',
      },
    );
    assert.deepEqual(
      refusal(() => privateKeyObject(publicKey)),
      { path: 'key', message: 'is a public key; signing needs the private key' },
    );
    const publicPem = publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    assert.deepEqual(
      refusal(() => privateKeyObject(publicPem)),
      { path: 'key', message: 'is a public key; signing needs the private key' },
    );
    const encrypted = createPrivateKey(keys.jupiter.privateKey)
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'secret' })
      .toString();
    assert.deepEqual(
      refusal(() => privateKeyObject(encrypted)),
      { path: 'key', message: 'is encrypted; give the key without a passphrase (or as a KeyObject)' },
    );
    assert.deepEqual(
      refusal(() => checkSigningKey(publicKey, 'rsa-sha256')),
      { path: 'key', message: 'is a public key; signing needs the private key' },
    );
    assert.deepEqual(
      refusal(() => checkSigningKey(createPrivateKey(keys.mars.privateKey), 'rsa-sha256')),
      { path: 'key', message: 'is an ed25519 key; a=rsa-sha256 needs an rsa key' },
    );
    const weak = createPrivateKey(fixture('keys/weak-512.rsa.pem').toString());
    assert.deepEqual(
      refusal(() => checkSigningKey(weak, 'rsa-sha256')),
      { path: 'key', message: 'has 512 bits; use an RSA key of 2048' },
    );
  });
});
