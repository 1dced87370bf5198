/**
 * Every verification check of a request, in order, with its outcome: what an administrator reads
 * when a peer says `verification-failed`. The same functions as verifyRequest, run one by one.
 */
import { IScheduleError, VerificationError } from '../errors.js';
import type { HeaderList } from '../http/headers.js';
import { bodyHash, canonicalBodyLength, signedData } from './canonicalize.js';
import type { KeyResolver } from './resolvers.js';
import { type ParsedSignature, parseSignature } from './signature.js';
import {
  checkBody,
  checkLifetime,
  checkSignatureValue,
  checkTimes,
  findKey,
  signedBytes,
  theSignatureHeader,
} from './verify.js';

/** One step of explainVerification, passed, failed or not run. */
export interface Check {
  readonly name: string;
  /** `undefined`: not run, because an earlier check failed. */
  readonly ok: boolean | undefined;
  readonly detail: string;
}

/** What explainVerification checks: the same inputs as verifyRequest. */
export interface ExplainOptions {
  readonly headers: HeaderList;
  readonly body: Uint8Array;
  readonly keys: KeyResolver;
  readonly now?: number;
  readonly clockSkew?: number;
  readonly allowSha1?: boolean;
  /** As in verifyRequest: refuse a signature without `t=`, or valid longer than this. */
  readonly requireTimestamp?: boolean;
  readonly maxLifetime?: number;
}

/** explainVerification's answer: every check in order, and the overall result. */
export interface Explanation {
  readonly checks: readonly Check[];
  readonly verified: boolean;
  /** The canonical header data the signature covers (when the signature could be read). */
  readonly signedData?: string;
}

/**
 * Runs the checks of verifyRequest one by one and says which passed, for diagnosis (`ischedule verify`).
 * Never throws for a bad signature: the failing check says why.
 */
export async function explainVerification(options: ExplainOptions): Promise<Explanation> {
  const checks: Check[] = [];
  const names = ['DKIM-Signature', 'tags', 'time', 'body hash', 'key', 'signature'];
  const fail = (name: string, error: unknown): Explanation => {
    // The administrator reads the whole story, the internal detail included.
    const reason = error instanceof VerificationError ? `${error.reason}: ` : '';
    const more = error instanceof IScheduleError && error.detail ? ` [${error.detail}]` : '';
    const detail = error instanceof Error ? `${reason}${error.message}${more}` : String(error);
    checks.push({ name, ok: false, detail });
    for (const rest of names.slice(names.indexOf(name) + 1))
      checks.push({ name: rest, ok: undefined, detail: 'not checked' });
    return {
      checks,
      verified: false,
      ...(parsed && header && { signedData: signedData(options.headers, parsed.signedHeaders, header) }),
    };
  };

  let parsed: ParsedSignature | undefined;
  let header: string | undefined;
  try {
    header = theSignatureHeader(options.headers);
  } catch (error) {
    return fail('DKIM-Signature', error);
  }
  checks.push({ name: 'DKIM-Signature', ok: true, detail: 'exactly one' });
  try {
    parsed = parseSignature(header, { allowSha1: options.allowSha1 ?? false });
  } catch (error) {
    return fail('tags', error);
  }
  checks.push({
    name: 'tags',
    ok: true,
    detail: `d=${parsed.domain} s=${parsed.selector} a=${parsed.algorithm} q=${parsed.queryMethods.join(':')} h=${parsed.signedHeaders.join(':')}`,
  });
  const now = options.now ?? Math.floor(Date.now() / 1000);
  try {
    checkTimes(parsed, now, options.clockSkew ?? 300);
    checkLifetime(parsed, now, options);
  } catch (error) {
    return fail('time', error);
  }
  checks.push({
    name: 'time',
    ok: true,
    detail: `t=${parsed.signedAt ?? '-'} x=${parsed.expiresAt ?? '-'} now=${now}`,
  });
  try {
    checkBody(parsed, options.body);
  } catch (error) {
    const computed = bodyHash(options.body, parsed.algorithm === 'rsa-sha1' ? 'sha1' : 'sha256');
    const detail = `${(error as Error).message} (bh=${parsed.bodyHashText}, computed ${computed} over ${canonicalBodyLength(options.body)} octets)`;
    return fail(
      'body hash',
      error instanceof VerificationError ? new VerificationError(error.reason, detail) : error,
    );
  }
  checks.push({ name: 'body hash', ok: true, detail: 'bh= matches the body' });
  let key: Awaited<ReturnType<typeof findKey>>;
  try {
    key = await findKey(parsed, options.keys);
  } catch (error) {
    return fail('key', error);
  }
  checks.push({
    name: 'key',
    ok: true,
    detail: `${key.method}: ${key.record.slice(0, 60)}${key.record.length > 60 ? '…' : ''}`,
  });
  try {
    checkSignatureValue(parsed, signedBytes(options.headers, parsed, header), key.key);
  } catch (error) {
    return fail('signature', error);
  }
  checks.push({ name: 'signature', ok: true, detail: `verified for ${parsed.domain}` });
  return { checks, verified: true, signedData: signedData(options.headers, parsed.signedHeaders, header) };
}
