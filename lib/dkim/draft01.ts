/**
 * Draft -01's DKIM for HTTP (`c=simple-http`), as DAViCal and EGroupware speak it (spec digest
 * §8.3): used only with peers an operator lists in `draft01Peers`. Headers are not normalized:
 * each `h=` name as written there, `": "`, the value as received (fields of one name joined with
 * `", "`), CRLF; then `DKIM-Signature: ` and the signature with its `b=` value cut, no CRLF. The
 * body is hashed as sent, octet for octet.
 */
import { createHash, type KeyObject, sign } from 'node:crypto';
import { type HeaderList, headerValues } from '../http/headers.js';
import { cutSignatureValue } from './canonicalize.js';
import type { SignatureAlgorithm } from './read-key-record.js';
import { parseTagList, type TagList } from './tag-list.js';

/** The canonicalization a draft -01 signature names. */
export const DRAFT01_CANONICALIZATION = 'simple-http';

/** Headers a draft -01 signature must cover (Host is also signed by us, but DAViCal never signs it). */
export const DRAFT01_MUST_SIGN = ['originator', 'recipient', 'content-type'] as const;

/** Headers we sign for a draft -01 peer, in DAViCal's order; Host first, as sent on each hop. */
export const DRAFT01_SIGNED_HEADERS = [
  'Host',
  'iSchedule-Version',
  'Originator',
  'Recipient',
  'Content-Type',
] as const;

/** The octets a draft -01 signature covers. */
export function draft01SignedData(
  headers: HeaderList,
  signedNames: readonly string[],
  dkimSignature: string,
): string {
  let data = '';
  // DAViCal writes a line even for a listed header the request lacks (an empty value).
  for (const name of signedNames) data += `${name}: ${headerValues(headers, name).join(', ')}\r\n`;
  return `${data}DKIM-Signature: ${cutSignatureValue(dkimSignature)}`;
}

/** The body hash of a draft -01 signature: the body as sent, nothing canonicalized. */
export function draft01BodyHash(body: Uint8Array, algorithm: 'sha1' | 'sha256'): Buffer {
  return createHash(algorithm).update(body).digest();
}

/** What signDraft01Request signs. */
export interface Draft01SignOptions {
  /** The headers as sent on this hop, Host included. */
  readonly headers: HeaderList;
  readonly body: Uint8Array;
  readonly domain: string;
  readonly selector: string;
  readonly privateKey: KeyObject;
  readonly algorithm: SignatureAlgorithm;
  /** `t=`, Unix seconds. */
  readonly timestamp: number;
  /** Seconds until `x=`. */
  readonly expiresIn: number;
}

/**
 * The DKIM-Signature value a draft -01 receiver verifies: `c=simple-http`, `q=dns/txt` (the only
 * method DAViCal knows), `l=` the whole body, tags separated by `"; "` and `b=` last (DAViCal
 * splits on a semicolon followed by a space, and finds ` b=` by its leading space).
 */
export function signDraft01Request(options: Draft01SignOptions): string {
  const present = (name: string) => headerValues(options.headers, name).length > 0;
  const names = DRAFT01_SIGNED_HEADERS.filter(present);
  const hash = options.algorithm === 'rsa-sha1' ? 'sha1' : 'sha256';
  const tags = [
    'v=1',
    `a=${options.algorithm}`,
    `s=${options.selector}`,
    `d=${options.domain}`,
    `c=${DRAFT01_CANONICALIZATION}`,
    'q=dns/txt',
    `l=${options.body.length}`,
    `t=${options.timestamp}`,
    `x=${options.timestamp + options.expiresIn}`,
    `h=${names.join(':')}`,
    `bh=${draft01BodyHash(options.body, hash).toString('base64')}`,
  ];
  const unsigned = `${tags.join('; ')}; b=`;
  const data = Buffer.from(draft01SignedData(options.headers, names, unsigned), 'latin1');
  const signature =
    options.algorithm === 'ed25519-sha256'
      ? sign(null, createHash('sha256').update(data).digest(), options.privateKey)
      : sign(hash, data, options.privateKey);
  return unsigned + signature.toString('base64');
}

/**
 * Why a draft -01 peer (DAViCal) would refuse a published key record, or undefined when it
 * would accept it: `s=` absent, `*` or naming `calendar`; `k=rsa`; `p=` in standard base64.
 */
export function draft01KeyRecordProblem(record: string): string | undefined {
  let tags: TagList;
  try {
    tags = parseTagList(record);
  } catch (error) {
    return `the record is not a tag list (${(error as Error).message})`;
  }
  const services = tags.get('s')?.replace(/\s+/g, '');
  if (services !== undefined && !/(?:^|:)(?:\*|calendar)(?::|$)/.test(services))
    return `s=${services} does not include calendar: publish s=calendar:ischedule`;
  const k = tags.get('k');
  if (k !== undefined && k !== 'rsa') return `k=${k}: draft -01 peers verify only RSA keys`;
  const p = (tags.get('p') ?? '').replace(/\s+/g, '');
  if (/[-_]/.test(p)) return 'p= is in URL-safe base64: publish it in standard base64 (+ and /)';
  return undefined;
}
