/**
 * DKIM key records (RFC 6376 §3.6.1) as iSchedule uses them (draft -05 §5.8): choose the first
 * record usable for the signature's algorithm and the `ischedule` service, import its key once.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { VerificationError } from '../errors.js';
import { LruCache } from '../lru.js';
import { printable } from '../text.js';
import { decodeBase64Tag, parseTagList, splitColonList, TagListError } from './tag-list.js';

/** The `a=` algorithms a signature may use (rsa-sha1 only where allowSha1 permits it). */
export type SignatureAlgorithm = 'rsa-sha256' | 'rsa-sha1' | 'ed25519-sha256';

/** The public key selectPublicKey chose, and the record it came from. */
export interface PublicKeyChoice {
  readonly key: KeyObject;
  /** The record the key came from, as received. */
  readonly record: string;
}

const MIN_RSA_BITS = 1024;
/** Larger moduli cost far more to verify; RFC 8301 asks verifiers for 1024 to 4096 bits. */
const MAX_RSA_BITS = 8192;
/** A large public exponent makes one verification cost as much as dozens. */
const MAX_RSA_EXPONENT = 2n ** 32n;

/**
 * Picks the key to verify with. Records whose v/k/h/s tags rule them out are skipped; the first
 * remaining one decides: empty `p=` is a revoked key, an unimportable or short key is unusable.
 * Throws a VerificationError (`no-key`, `key-revoked`, `key-unusable`).
 */
export function selectPublicKey(
  records: readonly string[],
  algorithm: SignatureAlgorithm,
  where = 'the selector',
): PublicKeyChoice {
  // The same published records come back on every request from a domain (resolvers hand out
  // their cached arrays): decide once per array, and once per content for fresh arrays.
  const byArray = choicesByArray.get(records);
  const known = byArray?.get(algorithm);
  if (known) return known;
  const cacheKey = `${algorithm}\n${records.join('\n')}`;
  const choice = choices.get(cacheKey) ?? choosePublicKey(records, algorithm, where);
  choices.set(cacheKey, choice);
  if (byArray) byArray.set(algorithm, choice);
  else choicesByArray.set(records, new Map([[algorithm, choice]]));
  return choice;
}

const choices = new LruCache<string, PublicKeyChoice>(1000);
const choicesByArray = new WeakMap<readonly string[], Map<SignatureAlgorithm, PublicKeyChoice>>();

/**
 * The description names tags, never their values: a key record is fetched text, and a peer
 * that chose `d=` must not read what some server answered (that is the log's, as `detail`).
 */
function choosePublicKey(
  records: readonly string[],
  algorithm: SignatureAlgorithm,
  where: string,
): PublicKeyChoice {
  const skipped: string[] = [];
  const details: string[] = [];
  for (const record of records) {
    let tags: ReadonlyMap<string, string>;
    try {
      tags = parseTagList(record);
    } catch (error) {
      if (!(error instanceof TagListError)) throw error;
      skipped.push('a malformed record');
      details.push(`malformed record (${printable(error.message)})`);
      continue;
    }
    const unsuitable = whyUnsuitable(tags, algorithm);
    if (unsuitable) {
      skipped.push(unsuitable);
      details.push(`${unsuitable}: ${printable(record)}`);
      continue;
    }
    const p = tags.get('p') ?? '';
    if (p.replace(/[ \t\r\n]/g, '') === '')
      throw new VerificationError('key-revoked', 'the key record is revoked (empty p=)');
    return { key: importPublicKey(p, algorithm), record };
  }
  if (skipped.length === 0) throw new VerificationError('no-key', `no key record was found at ${where}`);
  throw new VerificationError(
    'key-unusable',
    `no usable key record at ${where}: ${skipped.join('; ')}`,
    details.join('; '),
  );
}

function whyUnsuitable(tags: ReadonlyMap<string, string>, algorithm: SignatureAlgorithm): string | undefined {
  const v = tags.get('v');
  if (v !== undefined && v !== 'DKIM1') return 'v= is not DKIM1';
  const keyType = algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa';
  const k = tags.get('k') ?? 'rsa';
  if (k !== keyType) return `k= is not ${keyType}, as a=${algorithm} needs`;
  const hash = algorithm === 'rsa-sha1' ? 'sha1' : 'sha256';
  const h = tags.get('h');
  if (h !== undefined && !splitColonList(h).includes(hash)) return `h= does not allow ${hash}`;
  const s = tags.get('s');
  if (s !== undefined) {
    const services = splitColonList(s);
    if (!services.includes('*') && !services.includes('ischedule')) return 's= does not allow ischedule';
  }
  if (!tags.has('p')) return 'p= is missing';
  return undefined;
}

// Parsed keys by algorithm family and p= value: importing costs far more than verifying.
const importedKeys = new LruCache<string, KeyObject>(1000);

/** Imports a `p=` value: SPKI DER, falling back to PKCS#1 for RSA; raw 32 octets for Ed25519. */
export function importPublicKey(p: string, algorithm: SignatureAlgorithm): KeyObject {
  const family = algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa';
  const cacheKey = `${family}:${p.replace(/[ \t\r\n]/g, '')}`;
  const cached = importedKeys.get(cacheKey);
  if (cached) return cached;
  let der: Buffer;
  try {
    der = decodeBase64Tag('p', p);
  } catch {
    throw new VerificationError('key-unusable', 'the key record p= is not valid base64');
  }
  const key = family === 'ed25519' ? importEd25519(der) : importRsa(der);
  importedKeys.set(cacheKey, key);
  return key;
}

function importRsa(der: Buffer): KeyObject {
  let key: KeyObject | undefined;
  for (const type of ['spki', 'pkcs1'] as const) {
    try {
      key = createPublicKey({ key: der, format: 'der', type });
      break;
    } catch {
      // try the next encoding
    }
  }
  if (key?.asymmetricKeyType !== 'rsa') {
    throw new VerificationError('key-unusable', 'the key record p= is not an RSA public key');
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new VerificationError('key-unusable', `the RSA key has ${bits} bits, fewer than ${MIN_RSA_BITS}`);
  }
  if (bits > MAX_RSA_BITS) {
    throw new VerificationError('key-unusable', `the RSA key has ${bits} bits, more than ${MAX_RSA_BITS}`);
  }
  const exponent = key.asymmetricKeyDetails?.publicExponent ?? 0n;
  if (exponent < 3n || exponent >= MAX_RSA_EXPONENT || exponent % 2n === 0n) {
    throw new VerificationError(
      'key-unusable',
      'the RSA key has an unusual public exponent (use 65537); large ones make verification costly',
    );
  }
  return key;
}

function importEd25519(raw: Buffer): KeyObject {
  if (raw.length !== 32) throw new VerificationError('key-unusable', 'an Ed25519 p= must be 32 octets');
  try {
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
      format: 'jwk',
    });
  } catch {
    throw new VerificationError('key-unusable', 'the key record p= is not an Ed25519 public key');
  }
}
