/**
 * Verifying an iSchedule request's DKIM signature (draft -05 §5.5, §5.9). Checks run cheapest
 * first: tags, times and the body hash before any key is looked up.
 */
import { createHash, type KeyObject, verify } from 'node:crypto';
import { IScheduleError, VerificationError } from '../errors.js';
import { type HeaderList, headerValues } from '../http/headers.js';
import type { Mutable } from '../text.js';
import { bodyHashMatches, canonicalBodyLength, signedData } from './canonicalize.js';
import { draft01BodyHash, draft01SignedData } from './draft01.js';
import { type PublicKeyChoice, type SignatureAlgorithm, selectPublicKey } from './read-key-record.js';
import { KeyLookupBusyError, KeyLookupError, type KeyResolver, keyRecordName } from './resolvers.js';
import {
  type Canonicalization,
  type ParsedSignature,
  parseSignature,
  type QueryMethod,
} from './signature.js';
import { VerifyWorker } from './verify-worker.js';

/** What verifyRequest verifies, and its policy. */
export interface VerifyOptions {
  /** The request's headers as received, in order (e.g. from `req.rawHeaders`). */
  readonly headers: HeaderList;
  /** The exact body octets, after transfer decoding. */
  readonly body: Uint8Array | string;
  /** Where senders' public keys come from. */
  readonly keys: KeyResolver;
  /** The current time, Unix seconds (default now). */
  readonly now?: number;
  /** Seconds a `t=` may lie in the future (default 300). */
  readonly clockSkew?: number;
  /** Accept `a=rsa-sha1` signatures (refused by default, RFC 8301). */
  readonly allowSha1?: boolean;
  /** Refuse a signature without `t=` (default false here; the receiver requires it). */
  readonly requireTimestamp?: boolean;
  /**
   * The longest a signature may be valid, seconds: `x=` further than this after `t=` (or after
   * now, without `t=`) is refused. Default: no bound here; the receiver sets one.
   */
  readonly maxLifetime?: number;
  /**
   * Milliseconds for the whole key lookup, every method and server included (default 5000).
   * `Infinity` when `signal` carries the deadline (aborted with a KeyLookupDeadline).
   */
  readonly keyLookupTimeout?: number;
  /** Abandons the key lookup (e.g. the client went away). */
  readonly signal?: AbortSignal;
  /**
   * Domains (lower-case; sub-domains included) whose draft -01 signatures (`c=simple-http`) are
   * accepted (default none).
   */
  readonly draft01Peers?: readonly string[];
}

/** What a verified signature established. */
export interface VerifiedRequest {
  /** The signing domain (`d=`), lower-cased. */
  readonly domain: string;
  readonly selector: string;
  readonly algorithm: SignatureAlgorithm;
  /** `h=`, as the signer wrote it. */
  readonly signedHeaders: readonly string[];
  /** `t=`, Unix seconds, when present. */
  readonly signedAt?: number;
  /** `x=`, Unix seconds, when present: how long a replay cache must remember this signature. */
  readonly expiresAt?: number;
  /** The `q=` method the key was found by. */
  readonly keyMethod: QueryMethod;
  /** The `b=` value, base64: a replay cache key. */
  readonly signature: string;
  /** `ischedule-relaxed/simple`, or `simple-http` for a draft -01 peer. */
  readonly canonicalization: Canonicalization;
}

/** Resolves to what was verified, or rejects with a VerificationError whose `reason` says why. */
export function verifyRequest(options: VerifyOptions): Promise<VerifiedRequest> {
  return verifyWith(options, options.signal);
}

/**
 * A caller's abort signal, or a function making it: a caller whose signal costs something to
 * make (the receiver's, one per request) passes a function, called only if a key must be waited for.
 */
export type LazySignal = AbortSignal | (() => AbortSignal | undefined) | undefined;

/** verifyRequest, with the abort signal made only if the key must be waited for. */
export async function verifyWith(
  options: Omit<VerifyOptions, 'signal'>,
  signal: LazySignal,
  /**
   * Run the public-key operation on a worker thread, batched with the others asked for in the
   * same round of I/O (the receiver's choice: under load it uses another core and frees the
   * event loop); else on the calling thread, which is quicker for one verification at a time.
   */
  offload = false,
): Promise<VerifiedRequest> {
  const { header, parsed } = checkSignatureHeader(options);
  checkBody(parsed, typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body);
  // A key the resolvers hold already (a peer that sends often) is used without an await.
  const found =
    knownKey(parsed, options.keys) ??
    (await waitForKey(parsed, options.keys, options.keyLookupTimeout, signal));
  if (offload)
    await checkSignatureValueOffThread(parsed, signedBytes(options.headers, parsed, header), found.key);
  else checkSignatureValue(parsed, signedBytesForNow(options.headers, parsed, header), found.key);
  const verified: Mutable<VerifiedRequest> = {
    domain: parsed.domain,
    selector: parsed.selector,
    algorithm: parsed.algorithm,
    signedHeaders: parsed.signedHeaders,
    keyMethod: found.method,
    signature: parsed.signature.toString('base64'),
    canonicalization: parsed.canonicalization,
  };
  if (parsed.signedAt !== undefined) verified.signedAt = parsed.signedAt;
  if (parsed.expiresAt !== undefined) verified.expiresAt = parsed.expiresAt;
  return verified;
}

/** The options of checkSignatureHeader: the checks that need no key. */
export type SignatureCheckOptions = Pick<
  VerifyOptions,
  'headers' | 'now' | 'clockSkew' | 'allowSha1' | 'requireTimestamp' | 'maxLifetime' | 'draft01Peers'
>;

/**
 * The checks that need neither body nor key: exactly one DKIM-Signature, well-formed, supported
 * tags, the MUST-sign headers in `h=`, and `t=`/`x=` against the clock.
 */
export function checkSignatureHeader(options: SignatureCheckOptions): {
  header: string;
  parsed: ParsedSignature;
} {
  const header = theSignatureHeader(options.headers);
  // The options carry the signature policy's fields under the same names: no object per request.
  const parsed = parseSignature(header, options);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  checkTimes(parsed, now, options.clockSkew ?? 300);
  checkLifetime(parsed, now, options);
  return { header, parsed };
}

/** The one DKIM-Signature value of a request; none or several is a VerificationError. */
export function theSignatureHeader(headers: HeaderList): string {
  const values = headerValues(headers, 'DKIM-Signature');
  if (values.length === 0)
    throw new VerificationError('no-signature', 'the request has no DKIM-Signature header');
  if (values.length > 1) {
    throw new VerificationError(
      'multiple-signatures',
      `the request has ${values.length} DKIM-Signature headers; send one`,
    );
  }
  return values[0]!;
}

/** The octets the signature covers, as this request presents them. */
export function signedBytes(headers: HeaderList, parsed: ParsedSignature, header: string): Buffer {
  return Buffer.from(signedText(headers, parsed, header), 'latin1');
}

/** The signed data as text, one octet a character. */
function signedText(headers: HeaderList, parsed: ParsedSignature, header: string): string {
  return parsed.canonicalization === 'simple-http'
    ? draft01SignedData(headers, parsed.signedHeaders, header)
    : signedData(headers, parsed.signedHeaders, header);
}

/** Holds the signed data of one verification on this thread, from its writing to its verifying. */
const scratch = Buffer.allocUnsafeSlow(4096);

/**
 * signedBytes for a verification done before the caller regains control: written into one
 * buffer reused by every such verification, saving a Buffer per request (the worker's data
 * waits for its batch, and gets its own).
 */
function signedBytesForNow(headers: HeaderList, parsed: ParsedSignature, header: string): Uint8Array {
  const data = signedText(headers, parsed, header);
  if (data.length > scratch.length) return Buffer.from(data, 'latin1');
  return scratch.subarray(0, scratch.write(data, 0, 'latin1'));
}

/** Throws `signature-mismatch` unless `b=` is a valid signature of `data` by `key`. */
export function checkSignatureValue(parsed: ParsedSignature, data: Uint8Array, key: KeyObject): void {
  let valid: boolean;
  try {
    valid = verify(digestName(parsed), signedInput(parsed, data), key, parsed.signature);
  } catch {
    valid = false;
  }
  if (!valid) throw mismatch(parsed);
}

/** The worker thread the receiver's verifications share (started on first use). */
const offThread = new VerifyWorker();

/** checkSignatureValue with the public-key operation on a worker thread, in batches. */
export async function checkSignatureValueOffThread(
  parsed: ParsedSignature,
  data: Uint8Array,
  key: KeyObject,
): Promise<void> {
  const valid = await offThread.verify(digestName(parsed), signedInput(parsed, data), key, parsed.signature);
  if (!valid) throw mismatch(parsed);
}

/** The digest the public-key operation applies to its input: none for Ed25519. */
function digestName(parsed: ParsedSignature): string | null {
  if (parsed.algorithm === 'ed25519-sha256') return null;
  return parsed.algorithm === 'rsa-sha1' ? 'sha1' : 'sha256';
}

/** What the public-key operation verifies: Ed25519 signs the SHA-256 digest of the data (RFC 8463). */
function signedInput(parsed: ParsedSignature, data: Uint8Array): Uint8Array {
  return parsed.algorithm === 'ed25519-sha256' ? createHash('sha256').update(data).digest() : data;
}

function mismatch(parsed: ParsedSignature): VerificationError {
  return new VerificationError(
    'signature-mismatch',
    `the signature does not match the signed headers (${parsed.signedHeaders.join(', ')}) for d=${parsed.domain} s=${parsed.selector}`,
  );
}

/** `t=` no further ahead than the clock skew allows, `x=` not past. */
export function checkTimes(parsed: ParsedSignature, now: number, clockSkew: number): void {
  if (parsed.signedAt !== undefined && parsed.signedAt > now + clockSkew) {
    throw new VerificationError(
      'signed-in-future',
      `t=${parsed.signedAt} is ${parsed.signedAt - now} s in the future, beyond the ${clockSkew} s allowed: check the sender's clock`,
    );
  }
  if (parsed.expiresAt !== undefined && parsed.expiresAt < now) {
    throw new VerificationError(
      'expired',
      `the signature expired ${now - parsed.expiresAt} s ago (x=${parsed.expiresAt})`,
    );
  }
}

/**
 * How long a replay cache must remember a signature is bounded: `t=` present when required, and
 * `x=` no further than `maxLifetime` after `t=` (or after now, without `t=`).
 */
export function checkLifetime(
  parsed: ParsedSignature,
  now: number,
  policy: Pick<VerifyOptions, 'requireTimestamp' | 'maxLifetime'>,
): void {
  if (policy.requireTimestamp && parsed.signedAt === undefined) {
    throw new VerificationError(
      'missing-timestamp',
      'the DKIM-Signature has no t= tag; this receiver requires the signing time',
    );
  }
  const { maxLifetime } = policy;
  if (maxLifetime === undefined || parsed.expiresAt === undefined) return;
  const from = parsed.signedAt ?? now;
  if (parsed.expiresAt - from > maxLifetime) {
    throw new VerificationError(
      'lifetime-too-long',
      `x=${parsed.expiresAt} is ${parsed.expiresAt - from} s after ${parsed.signedAt === undefined ? 'now' : `t=${parsed.signedAt}`}; this receiver accepts signatures valid for at most ${maxLifetime} s`,
    );
  }
}

export function checkBody(parsed: ParsedSignature, body: Uint8Array): void {
  if (parsed.canonicalization === 'simple-http') {
    checkDraft01Body(parsed, body);
    return;
  }
  if (parsed.bodyLength !== undefined) {
    const canonicalLength = canonicalBodyLength(body);
    if (parsed.bodyLength < canonicalLength) {
      throw new VerificationError(
        'body-length-limit',
        `l=${parsed.bodyLength} signs only part of the ${canonicalLength}-octet body; the whole body must be signed`,
      );
    }
  }
  if (!bodyHashMatches(body, parsed.algorithm === 'rsa-sha1' ? 'sha1' : 'sha256', parsed.bodyHashText)) {
    throw new VerificationError('body-hash-mismatch', 'the body hash (bh=) does not match the body received');
  }
}

/** Draft -01 hashes the body as sent; an `l=` must cover all of it (DAViCal sends one). */
function checkDraft01Body(parsed: ParsedSignature, body: Uint8Array): void {
  if (parsed.bodyLength !== undefined && parsed.bodyLength !== body.length) {
    throw new VerificationError(
      'body-length-limit',
      `l=${parsed.bodyLength} does not cover the ${body.length}-octet body; the whole body must be signed`,
    );
  }
  const hash = draft01BodyHash(body, parsed.algorithm === 'rsa-sha1' ? 'sha1' : 'sha256');
  if (!hash.equals(parsed.bodyHash)) {
    throw new VerificationError('body-hash-mismatch', 'the body hash (bh=) does not match the body received');
  }
}

/**
 * The key to verify with, tried by the `q=` methods in order, all within one deadline. Failures
 * are described in our words (KeyLookupError messages); their detail goes to the error's
 * `detail`, for the log. Our own overload is a 503 with Retry-After, not the peer's fault.
 */
export async function findKey(
  parsed: ParsedSignature,
  keys: KeyResolver,
  timeout = 5000,
  signal?: LazySignal,
): Promise<FoundKey> {
  return knownKey(parsed, keys) ?? waitForKey(parsed, keys, timeout, signal);
}

/** findKey for a key the resolvers do not hold yet: looked up within the deadline. */
async function waitForKey(
  parsed: ParsedSignature,
  keys: KeyResolver,
  timeout = 5000,
  signal: LazySignal,
): Promise<FoundKey> {
  const where = keyName(parsed);
  const callerSignal = typeof signal === 'function' ? signal() : signal;
  // A caller that keeps the deadline itself (timeout Infinity; its signal aborts with a
  // KeyLookupDeadline) adds nothing here. Otherwise one controller and a plain timer, linked to
  // the caller's signal: AbortSignal.timeout and AbortSignal.any, and each listener on a signal,
  // cost several microseconds.
  if (!Number.isFinite(timeout)) return lookupKey(parsed, keys, where, callerSignal);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new KeyLookupDeadline(timeout)), timeout);
  const callerGone = () => controller.abort(callerSignal?.reason);
  callerSignal?.addEventListener('abort', callerGone, { once: true });
  try {
    return await lookupKey(parsed, keys, where, controller.signal);
  } finally {
    clearTimeout(timer);
    callerSignal?.removeEventListener('abort', callerGone);
  }
}

/**
 * The key when the resolvers know it without waiting (a table, a live cache): the common case
 * for a peer that sends often, with no timer, no signal and no await.
 */
function knownKey(parsed: ParsedSignature, keys: KeyResolver): FoundKey | undefined {
  if (!keys.cached) return undefined;
  for (const method of parsed.queryMethods) {
    if (!keys.methods.includes(method)) continue;
    const records = keys.cached({ domain: parsed.domain, selector: parsed.selector, method });
    if (records === undefined) return undefined;
    if (records.length > 0)
      return foundKey(selectPublicKey(records, parsed.algorithm, keyName(parsed)), method);
  }
  return undefined;
}

/** A key and the method that found it. */
export type FoundKey = PublicKeyChoice & { readonly method: QueryMethod };

/** One object per chosen key and method, made once: a cached key costs no allocation. */
const foundKeys = new WeakMap<PublicKeyChoice, Map<QueryMethod, FoundKey>>();

function foundKey(choice: PublicKeyChoice, method: QueryMethod): FoundKey {
  let byMethod = foundKeys.get(choice);
  if (!byMethod) {
    byMethod = new Map();
    foundKeys.set(choice, byMethod);
  }
  let found = byMethod.get(method);
  if (!found) {
    found = { ...choice, method };
    byMethod.set(method, found);
  }
  return found;
}

/** d= and s= are lower-cased by parseSignature: the record's own name. */
function keyName(parsed: ParsedSignature): string {
  return keyRecordName(parsed.domain, parsed.selector);
}

/** The reason a key lookup's signal aborts when the lookup's deadline passes. */
export class KeyLookupDeadline extends Error {
  override name = 'KeyLookupDeadline';
  readonly timeout: number;
  constructor(timeout: number) {
    super(`the key lookup did not finish within ${timeout} ms`);
    this.timeout = timeout;
  }
}

async function lookupKey(
  parsed: ParsedSignature,
  keys: KeyResolver,
  where: string,
  signal: AbortSignal | undefined,
): Promise<FoundKey> {
  const tried: string[] = [];
  const failures: string[] = [];
  const details: string[] = [];
  for (const method of parsed.queryMethods) {
    if (!keys.methods.includes(method)) continue;
    tried.push(method);
    let records: readonly string[];
    try {
      records = await keys.lookup({
        domain: parsed.domain,
        selector: parsed.selector,
        method,
        ...(signal && { signal }),
      });
    } catch (error) {
      if (error instanceof KeyLookupBusyError) {
        throw new IScheduleError('service-unavailable', error.message, 503, {
          retryAfter: 5,
          ...(error.detail && { detail: error.detail }),
        });
      }
      const reason: unknown = signal?.reason;
      if (reason instanceof KeyLookupDeadline) {
        throw new VerificationError(
          'key-lookup-failed',
          `the key for ${where} could not be found within ${reason.timeout} ms`,
          [...details, `${method}: ${describe(error)}`].join('; '),
        );
      }
      if (signal?.aborted) throw error;
      failures.push(
        error instanceof KeyLookupError ? `${method}: ${error.message}` : `${method}: the lookup failed`,
      );
      details.push(`${method}: ${describe(error)}`);
      continue;
    }
    if (records.length === 0) continue;
    return foundKey(selectPublicKey(records, parsed.algorithm, where), method);
  }
  if (failures.length > 0) {
    throw new VerificationError(
      'key-lookup-failed',
      `the key for ${where} could not be fetched: ${failures.join('; ')}`,
      details.join('; '),
    );
  }
  if (tried.length === 0) {
    throw new VerificationError(
      'no-key',
      `none of the key query methods q=${parsed.queryMethods.join(':')} is enabled here (enabled: ${keys.methods.join(', ') || 'none'})`,
    );
  }
  throw new VerificationError('no-key', `no key record at ${where} (tried ${tried.join(', ')})`);
}

function describe(error: unknown): string {
  if (error instanceof KeyLookupError) return error.detail ?? error.message;
  return error instanceof Error ? error.message : String(error);
}
