/**
 * Key tooling for a domain administrator: make a signing key pair and the records that publish
 * its public half (DNS TXT, `/.well-known/domainkey` body, private-exchange line).
 */
import { createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { splitTxtStrings } from '../dns/names.js';
import { OptionsError } from '../errors.js';
import { checkOptions, domainName, selector as selectorName } from '../validation.js';

/** A new signing key pair, PEM encoded, with the key record that publishes it. */
export interface GeneratedKeyPair {
  /** PKCS#8 PEM. */
  readonly privateKey: string;
  /** SPKI PEM. */
  readonly publicKey: string;
  /** The key record to publish, e.g. `v=DKIM1; k=rsa; s=ischedule; p=MIIB...`. */
  readonly record: string;
}

/** The kind of key generateSigningKey makes. */
export interface GenerateKeyOptions {
  /** `rsa` (default; every iSchedule peer supports it) or `ed25519` (RFC 8463). */
  readonly type?: 'rsa' | 'ed25519';
  /** RSA modulus size (default 2048, as RFC 8301 recommends). */
  readonly bits?: number;
  /** A record draft -01 peers accept too (see KeyRecordOptions). */
  readonly draft01?: boolean;
}

/** Makes a signing key pair (RSA 2048 by default, or Ed25519) and its key record. */
export function generateSigningKey(options: GenerateKeyOptions = {}): GeneratedKeyPair {
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const { privateKey, publicKey } =
    options.type === 'ed25519'
      ? generateKeyPairSync('ed25519', { publicKeyEncoding, privateKeyEncoding })
      : generateKeyPairSync('rsa', {
          modulusLength: options.bits ?? 2048,
          publicKeyEncoding,
          privateKeyEncoding,
        });
  return { privateKey, publicKey, record: keyRecord(publicKey, { draft01: options.draft01 ?? false }) };
}

/** How keyRecord writes a record. */
export interface KeyRecordOptions {
  /**
   * Also for draft -01 peers (DAViCal, EGroupware): `s=calendar:ischedule`, since they refuse a
   * record whose `s=` lacks `calendar` (default false: `s=ischedule`).
   */
  readonly draft01?: boolean;
}

/**
 * The DKIM key record for a key (PEM text of a public or private key, or either as a KeyObject),
 * restricted to the `ischedule` service (and `calendar`, for draft -01 peers).
 */
export function keyRecord(key: string | Buffer | KeyObject, options: KeyRecordOptions = {}): string {
  const services = options.draft01 ? 'calendar:ischedule' : 'ischedule';
  const publicKey = publicKeyObject(key);
  if (publicKey.asymmetricKeyType === 'ed25519') {
    const jwk = publicKey.export({ format: 'jwk' });
    return `v=DKIM1; k=ed25519; s=${services}; p=${Buffer.from(jwk.x ?? '', 'base64url').toString('base64')}`;
  }
  if (publicKey.asymmetricKeyType !== 'rsa')
    throw new OptionsError(
      `keyRecord: a ${publicKey.asymmetricKeyType} key cannot sign for iSchedule (use rsa or ed25519)`,
      'key',
    );
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return `v=DKIM1; k=rsa; s=${services}; p=${spki.toString('base64')}`;
}

function publicKeyObject(key: string | Buffer | KeyObject): KeyObject {
  if (key instanceof KeyObject) {
    if (key.type === 'secret') throw new OptionsError('keyRecord: a secret key has no public half', 'key');
    return key.type === 'public' ? key : createPublicKey(key);
  }
  try {
    return createPublicKey(key);
  } catch {
    throw new OptionsError(
      'keyRecord: not a key in PEM (a public "BEGIN PUBLIC KEY" or a private key)',
      'key',
    );
  }
}

/** A key record ready for a DNS zone. */
export interface DnsTxtRecord {
  /** Fully qualified owner name, with the trailing dot. */
  readonly name: string;
  /** The record split into character-strings of at most 255 octets. */
  readonly strings: readonly string[];
  /** A zone-file line: `name IN TXT ( "..." "..." )`. */
  readonly zoneLine: string;
}

/** The DNS TXT record publishing `record` for a domain and selector. */
export function dnsTxtRecord(domain: string, selector: string, record: string, ttl?: number): DnsTxtRecord {
  checkOptions(domainName, domain, 'dnsTxtRecord domain');
  checkOptions(selectorName, selector, 'dnsTxtRecord selector');
  const name = `${selector}._domainkey.${domain.replace(/\.$/, '')}.`;
  const strings = splitTxtStrings(record);
  const quoted = strings.map((s) => `"${s}"`).join(' ');
  const zoneLine = `${name}${ttl === undefined ? '' : ` ${ttl}`} IN TXT ( ${quoted} )`;
  return { name, strings, zoneLine };
}

/** The `text/plain` body served at `/.well-known/domainkey/<domain>/<selector>`: one record per line. */
export function wellKnownBody(records: readonly string[]): string {
  return records.map((record) => `${record}\r\n`).join('');
}
