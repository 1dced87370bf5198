/**
 * The DKIM-Signature header as iSchedule profiles it (draft -05 §5.2): parse and check every tag
 * before any key is fetched, so a malformed signature costs no network I/O.
 */
import { isDomainName } from '../dns/names.js';
import { VerificationError } from '../errors.js';
import { TextMemo } from '../lru.js';
import { isAddressLike } from '../net/address-policy.js';
import { printable } from '../text.js';
import { DRAFT01_CANONICALIZATION, DRAFT01_MUST_SIGN } from './draft01.js';
import type { SignatureAlgorithm } from './read-key-record.js';
import {
  base64TagText,
  decodeBase64Tag,
  scanTagList,
  splitColonList,
  type TagEntries,
  TagListError,
  tagValue,
} from './tag-list.js';

/** A `q=` key query method. */
export type QueryMethod = 'dns/txt' | 'http/well-known' | 'private-exchange';
/** The `q=` methods iSchedule defines, in the order they are tried. */
export const QUERY_METHODS: readonly QueryMethod[] = ['dns/txt', 'http/well-known', 'private-exchange'];

/** Headers a receiver MUST find in `h=` (draft -05 §5.3). */
export const MUST_SIGN = ['originator', 'recipient', 'content-type', 'ischedule-version'] as const;

/**
 * How the signed data is made: draft -05's `ischedule-relaxed/simple`, or draft -01's
 * `simple-http` (accepted only from the domains a receiver lists in `draft01Peers`).
 */
export type Canonicalization = 'ischedule-relaxed/simple' | 'simple-http';

/** A DKIM-Signature's tags, parsed and checked for syntax. */
export interface ParsedSignature {
  readonly canonicalization: Canonicalization;
  readonly algorithm: SignatureAlgorithm;
  readonly domain: string;
  readonly selector: string;
  /** `h=` as written by the signer. */
  readonly signedHeaders: readonly string[];
  readonly queryMethods: readonly QueryMethod[];
  readonly signature: Buffer;
  /** `bh=`, decoded. */
  readonly bodyHash: Buffer;
  /** `bh=` as base64 text, whitespace removed (checked as `bodyHash` is): compared as text. */
  readonly bodyHashText: string;
  /** `t=`, Unix seconds. */
  readonly signedAt?: number;
  /** `x=`, Unix seconds. */
  readonly expiresAt?: number;
  /** `l=`, octets of canonical body covered. */
  readonly bodyLength?: number;
}

export interface SignaturePolicy {
  /** Accept `a=rsa-sha1` (forbidden by RFC 8301 unless the caller opts in). */
  readonly allowSha1?: boolean;
  /** Domains (lower-case; sub-domains included) whose draft -01 `c=simple-http` signatures are accepted. */
  readonly draft01Peers?: readonly string[];
}

const SELECTOR =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/;

/** Parses and checks a DKIM-Signature value; throws a VerificationError naming the first problem. */
export function parseSignature(value: string, policy: SignaturePolicy = {}): ParsedSignature {
  let tags: TagEntries;
  try {
    tags = scanTagList(value, BASE64_TAGS);
  } catch (error) {
    if (error instanceof TagListError) {
      throw new VerificationError('malformed-signature', `malformed DKIM-Signature: ${error.message}`);
    }
    throw error;
  }
  // Every required tag is checked for presence before any value is judged (no closure or
  // array per call: this runs on every request).
  const v = requiredTag(tags, 'v');
  const a = requiredTag(tags, 'a');
  const b = requiredTag(tags, 'b');
  const bh = requiredTag(tags, 'bh');
  const d = requiredTag(tags, 'd');
  const s = requiredTag(tags, 's');
  const h = requiredTag(tags, 'h');
  const q = requiredTag(tags, 'q');

  if (v !== '1') throw new VerificationError('unsupported-version', `DKIM-Signature v=${v} is not 1`);
  const algorithm = parseAlgorithm(a, policy);
  const c = tagValue(tags, 'c');
  const draft01 = c === DRAFT01_CANONICALIZATION;
  if (c !== 'ischedule-relaxed/simple' && c !== 'ischedule-relaxed' && !draft01) {
    // A missing c= means DKIM's simple/simple, which is not iSchedule's either.
    throw new VerificationError(
      'unsupported-canonicalization',
      `canonicalization c=${c ?? '(absent: simple/simple)'} is not supported: iSchedule requires ischedule-relaxed/simple`,
    );
  }

  // A sender's d=, s=, h= and q= are the same on every request: each text is judged once.
  const domain = domains.get(d, checkDomain);
  if (draft01) checkDraft01Peer(domain, policy.draft01Peers ?? []);
  const selector = selectors.get(s, checkSelector);
  const signedHeaders = draft01
    ? draft01HeaderLists.get(h, parseDraft01SignedHeaders)
    : signedHeaderLists.get(h, parseSignedHeaders);
  const queryMethods = queryMethodLists.get(q, parseQueryMethods);
  const identity = tagValue(tags, 'i');
  if (identity !== undefined) checkIdentity(identity, domain);

  const signedAt = parseNumber(tags, 't');
  const expiresAt = parseNumber(tags, 'x');
  if (signedAt !== undefined && expiresAt !== undefined && expiresAt < signedAt) {
    throw new VerificationError('malformed-signature', `x=${expiresAt} is before t=${signedAt}`);
  }
  const bodyLength = parseNumber(tags, 'l');

  let signature: Buffer;
  let bodyHashText: string;
  try {
    signature = decodeBase64Tag('b', b);
    bodyHashText = base64TagText('bh', bh);
  } catch (error) {
    throw new VerificationError('malformed-signature', (error as Error).message);
  }
  if (signature.length === 0) throw new VerificationError('malformed-signature', 'b= is empty');

  const parsed = new Signature(
    draft01 ? 'simple-http' : 'ischedule-relaxed/simple',
    algorithm,
    domain,
    selector,
    signedHeaders,
    queryMethods,
    signature,
    bodyHashText,
  );
  if (signedAt !== undefined) parsed.signedAt = signedAt;
  if (expiresAt !== undefined) parsed.expiresAt = expiresAt;
  if (bodyLength !== undefined) parsed.bodyLength = bodyLength;
  return parsed;
}

/**
 * What parseSignature returns. `bh=` is decoded only when `bodyHash` is read: verification
 * compares the digest as base64 text, and decoding a short value costs more than checking it.
 */
class Signature implements ParsedSignature {
  declare signedAt?: number;
  declare expiresAt?: number;
  declare bodyLength?: number;

  constructor(
    readonly canonicalization: Canonicalization,
    readonly algorithm: SignatureAlgorithm,
    readonly domain: string,
    readonly selector: string,
    readonly signedHeaders: readonly string[],
    readonly queryMethods: readonly QueryMethod[],
    readonly signature: Buffer,
    readonly bodyHashText: string,
  ) {}

  get bodyHash(): Buffer {
    return Buffer.from(this.bodyHashText, 'base64');
  }
}

/**
 * Checked below by decodeBase64Tag (`b=`) and base64TagText (`bh=`), which refuse what the tag
 * syntax refuses.
 */
const BASE64_TAGS = ['b', 'bh'];

function requiredTag(tags: TagEntries, name: string): string {
  const found = tagValue(tags, name);
  if (found === undefined) throw new VerificationError('missing-tag', `DKIM-Signature has no ${name}= tag`);
  return found;
}

const domains = new TextMemo<string>();
const selectors = new TextMemo<string>();
const signedHeaderLists = new TextMemo<readonly string[]>();
const draft01HeaderLists = new TextMemo<readonly string[]>();
const queryMethodLists = new TextMemo<readonly QueryMethod[]>();

function checkDomain(d: string): string {
  const domain = d.toLowerCase().replace(/\.$/, '');
  if (!isDomainName(domain) || isAddressLike(domain))
    throw new VerificationError('malformed-signature', `d=${printable(d)} is not a domain name`);
  return domain;
}

function checkSelector(s: string): string {
  const selector = s.toLowerCase();
  if (!SELECTOR.test(selector))
    throw new VerificationError('malformed-signature', `s=${s} is not a selector`);
  return selector;
}

function parseAlgorithm(a: string, policy: SignaturePolicy): SignatureAlgorithm {
  if (a === 'rsa-sha256' || a === 'ed25519-sha256') return a;
  if (a === 'rsa-sha1') {
    if (policy.allowSha1) return a;
    throw new VerificationError(
      'unsupported-algorithm',
      'a=rsa-sha1 is refused (RFC 8301); sign with rsa-sha256',
    );
  }
  throw new VerificationError('unsupported-algorithm', `algorithm a=${a} is not supported`);
}

const HEADER_NAMES = /^[!-9;-~]+(?:[ \t\r\n]*:[ \t\r\n]*[!-9;-~]+)*$/;

function parseSignedHeaders(h: string): readonly string[] {
  return signedHeaderList(h, MUST_SIGN);
}

function parseDraft01SignedHeaders(h: string): readonly string[] {
  return signedHeaderList(h, DRAFT01_MUST_SIGN);
}

function signedHeaderList(h: string, mustSign: readonly string[]): readonly string[] {
  if (!HEADER_NAMES.test(h))
    throw new VerificationError('malformed-signature', `h=${h} is not a list of header names`);
  const names = splitColonList(h);
  const seen = new Set<string>();
  for (const name of names) {
    const lower = name.toLowerCase();
    // Both canonicalizations merge same-name fields, so a second mention could only repeat the first.
    if (seen.has(lower))
      throw new VerificationError('duplicate-signed-header', `h= lists ${name} more than once`);
    seen.add(lower);
  }
  for (const required of mustSign) {
    if (!seen.has(required))
      throw new VerificationError('required-header-unsigned', `h= does not sign ${required}`);
  }
  return Object.freeze(names);
}

/** Draft -01's weaker canonicalization is accepted only from the peers an operator listed. */
function checkDraft01Peer(domain: string, peers: readonly string[]): void {
  if (peers.some((peer) => domain === peer || domain.endsWith(`.${peer}`))) return;
  throw new VerificationError(
    'unsupported-canonicalization',
    peers.length === 0
      ? `canonicalization c=simple-http is not supported: iSchedule requires ischedule-relaxed/simple (draft -01's simple-http is accepted only from domains listed in draft01Peers)`
      : `canonicalization c=simple-http is not supported for d=${domain}: draft -01's simple-http is accepted only from draft01Peers (${peers.join(', ')})`,
  );
}

function parseQueryMethods(q: string): readonly QueryMethod[] {
  const methods: QueryMethod[] = [];
  for (const item of splitColonList(q)) {
    const method = QUERY_METHODS.find((known) => known === item);
    if (!method)
      throw new VerificationError(
        'unsupported-query-method',
        `q= names an unknown key query method "${item}"`,
      );
    methods.push(method);
  }
  return Object.freeze(methods);
}

function checkIdentity(identity: string, domain: string): void {
  const at = identity.lastIndexOf('@');
  const idDomain = identity
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, '');
  if (at < 0 || (idDomain !== domain && !idDomain.endsWith(`.${domain}`))) {
    throw new VerificationError('malformed-signature', `i=${identity} is not within d=${domain}`);
  }
}

function parseNumber(tags: TagEntries, name: 't' | 'x' | 'l'): number | undefined {
  const value = tagValue(tags, name);
  if (value === undefined) return undefined;
  // 1 to 12 digits, read by hand: a regex and Number() cost more than the digits themselves.
  let number = 0;
  for (let i = 0; i < value.length; i++) {
    const digit = value.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9 || i === 12) {
      number = Number.NaN;
      break;
    }
    number = number * 10 + digit;
  }
  if (value.length === 0 || Number.isNaN(number))
    throw new VerificationError('malformed-signature', `${name}=${value} is not a number`);
  return number;
}
