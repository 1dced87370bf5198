/**
 * Signing an iSchedule request (draft -05 §5.5): the DKIM-Signature value for a header list and
 * the exact body bytes.
 */
import { createHash, createPrivateKey, KeyObject, sign } from 'node:crypto';
import { OptionsError } from '../errors.js';
import { type HeaderList, headerValues } from '../http/headers.js';
import { LruCache } from '../lru.js';
import { bodyHash, signedData } from './canonicalize.js';
import type { SignatureAlgorithm } from './read-key-record.js';
import { MUST_SIGN, QUERY_METHODS, type QueryMethod } from './signature.js';

/** A domain's private key, with the selector under which its public half is published. */
export interface SigningKey {
  /** The signing domain (`d=`). */
  readonly domain: string;
  /** The selector (`s=`) under which the public key is published. */
  readonly selector: string;
  /** PEM text (PKCS#8 or PKCS#1) or a KeyObject. */
  readonly privateKey: string | Buffer | KeyObject;
}

/** What signRequest signs, and how. */
export interface SignOptions {
  /** The request's headers as sent, in order (without a DKIM-Signature). */
  readonly headers: HeaderList;
  /** The exact body octets. */
  readonly body: Uint8Array | string;
  readonly key: SigningKey;
  /** Default `rsa-sha256`; `ed25519-sha256` needs an Ed25519 key; `rsa-sha1` only for legacy tests. */
  readonly algorithm?: SignatureAlgorithm;
  /** `t=`, Unix seconds (default now). */
  readonly timestamp?: number;
  /** Seconds until `x=` (default 300). */
  readonly expiresIn?: number;
  /** `q=` methods, in the order the verifier should try them (default dns/txt, http/well-known). */
  readonly queryMethods?: readonly QueryMethod[];
  /**
   * Headers to sign, in order. Default: Originator, Recipient, Authorization, Content-Type,
   * User-Agent, iSchedule-Version, iSchedule-Message-ID; only those present are listed.
   */
  readonly signedHeaders?: readonly string[];
}

/** The headers signed unless told otherwise (those a request lacks are skipped). */
export const DEFAULT_SIGNED_HEADERS = [
  'Originator',
  'Recipient',
  'Authorization',
  'Content-Type',
  'User-Agent',
  'iSchedule-Version',
  'iSchedule-Message-ID',
] as const;

const DEFAULT_QUERY_METHODS: readonly QueryMethod[] = ['dns/txt', 'http/well-known'];

/** Returns the DKIM-Signature header value for the request. */
export function signRequest(options: SignOptions): string {
  const algorithm = options.algorithm ?? 'rsa-sha256';
  const privateKey = loadPrivateKey(options.key, algorithm);
  const headers = options.headers;
  const present = (name: string) => headerValues(headers, name).length > 0;
  for (const required of MUST_SIGN) {
    if (!present(required))
      throw new OptionsError(`cannot sign: the request has no ${required} header`, 'headers');
  }
  // Never list an absent header: peers disagree on how to canonicalize one (CalendarServer fails).
  const names = (options.signedHeaders ?? DEFAULT_SIGNED_HEADERS).filter(present);
  if (new Set(names.map((n) => n.toLowerCase())).size !== names.length) {
    throw new OptionsError('cannot sign: signedHeaders names a header twice', 'signedHeaders');
  }
  for (const required of MUST_SIGN) {
    if (!names.some((n) => n.toLowerCase() === required))
      throw new OptionsError(`cannot sign: ${required} must be signed`, 'signedHeaders');
  }
  const methods = options.queryMethods ?? DEFAULT_QUERY_METHODS;
  if (methods.length === 0 || methods.some((m) => !QUERY_METHODS.includes(m))) {
    throw new OptionsError(
      `cannot sign: queryMethods must name some of ${QUERY_METHODS.join(', ')}`,
      'queryMethods',
    );
  }
  const t = options.timestamp ?? Math.floor(Date.now() / 1000);
  const x = t + (options.expiresIn ?? 300);
  const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
  const hash = algorithm === 'rsa-sha1' ? 'sha1' : 'sha256';

  const unsigned =
    `v=1; d=${options.key.domain}; s=${options.key.selector}; t=${t}; x=${x}; a=${algorithm}; ` +
    `q=${methods.join(':')}; c=ischedule-relaxed/simple; h=${names.join(':')}; ` +
    `bh=${bodyHash(body, hash)}; b=`;
  const data = Buffer.from(signedData(headers, names, unsigned), 'latin1');
  const signature =
    algorithm === 'ed25519-sha256'
      ? sign(null, createHash('sha256').update(data).digest(), privateKey)
      : sign(hash, data, privateKey);
  return unsigned + signature.toString('base64');
}

// Parsed private keys by PEM text: parsing a PEM costs several signatures' time.
const parsedKeys = new LruCache<string, KeyObject>(64);

function loadPrivateKey(
  { privateKey: key, selector, domain }: SigningKey,
  algorithm: SignatureAlgorithm,
): KeyObject {
  try {
    return parseAndCheck(key, algorithm);
  } catch (error) {
    throw new OptionsError(
      `the signing key ${selector}._domainkey.${domain} ${(error as Error).message}`,
      'key',
    );
  }
}

function parseAndCheck(key: SigningKey['privateKey'], algorithm: SignatureAlgorithm): KeyObject {
  let keyObject: KeyObject;
  if (typeof key === 'string' || Buffer.isBuffer(key)) {
    const pem = key.toString();
    const cached = parsedKeys.get(pem);
    keyObject = cached ?? privateKeyObject(pem);
    if (!cached) parsedKeys.set(pem, keyObject);
  } else {
    keyObject = key;
  }
  checkSigningKey(keyObject, algorithm);
  return keyObject;
}

/** A private key from PEM text (PKCS#8 or PKCS#1) or a KeyObject; refusals in our words, not OpenSSL's. */
export function privateKeyObject(key: SigningKey['privateKey']): KeyObject {
  if (key instanceof KeyObject) {
    if (key.type !== 'private')
      throw new OptionsError(`is a ${key.type} key; signing needs the private key`, 'key');
    return key;
  }
  const pem = key.toString();
  try {
    return createPrivateKey(pem);
  } catch {
    if (/-----BEGIN (RSA )?PUBLIC KEY-----/.test(pem))
      throw new OptionsError('is a public key; signing needs the private key', 'key');
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem))
      throw new OptionsError('is encrypted; give the key without a passphrase (or as a KeyObject)', 'key');
    throw new TypeError(
      'is not a private key in PEM (PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY")',
    );
  }
}

/**
 * A host's signing key made ready: the key parsed and checked (RSA of 1024 bits or more, or
 * Ed25519), the domain lower-cased. Errors name the key (`cal2026._domainkey.example.com`).
 */
export function prepareSigningKey(
  key: SigningKey,
  where: string,
): SigningKey & { readonly privateKey: KeyObject } {
  const name = `${key.selector}._domainkey.${key.domain}`;
  try {
    const privateKey = privateKeyObject(key.privateKey);
    checkSigningKey(privateKey, privateKey.asymmetricKeyType === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256');
    return { domain: key.domain.toLowerCase().replace(/\.$/, ''), selector: key.selector, privateKey };
  } catch (error) {
    throw new OptionsError(`${where} (${name}) ${(error as Error).message}`, where);
  }
}

/** Throws a TypeError unless the key can make a signature peers accept with this algorithm. */
export function checkSigningKey(key: KeyObject, algorithm: SignatureAlgorithm): void {
  if (key.type !== 'private')
    throw new OptionsError(`is a ${key.type} key; signing needs the private key`, 'key');
  const expected = algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa';
  if (key.asymmetricKeyType !== expected) {
    throw new OptionsError(
      `is an ${key.asymmetricKeyType} key; a=${algorithm} needs an ${expected} key`,
      'key',
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (expected === 'rsa' && (bits ?? 0) < 1024)
    throw new OptionsError(`has ${bits} bits; use an RSA key of 2048`, 'key');
}
