/**
 * DKIM sign and verify throughput beside bare node:crypto on the same key and data, same run.
 * Targets (issue #2): verify >= 0.8 of bare crypto.verify with a cached key, sign >= 0.9 of bare
 * crypto.sign. Run: npm run bench
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { keyRecord, privateExchangeKeys, signRequest, verifyRequest } from '../spec/support/api.js';

// BENCH_KEY_FILE: another PEM key (e.g. RSA-4096) to see how the ratio moves with key size.
const privateKey = readFileSync(
  process.env.BENCH_KEY_FILE ?? new URL('../fixtures/keys/example.com-jupiter.rsa.pem', import.meta.url),
  'utf8',
);
const body = readFileSync(new URL('../fixtures/draft/a1-request.ics', import.meta.url));
const key = { domain: 'example.com', selector: 'jupiter', privateKey };
const headers: Array<[string, string]> = [
  ['Host', 'cal.example.org'],
  ['iSchedule-Version', '1.0'],
  ['iSchedule-Message-ID', '798F00BB-5B45-4634-B083-0D0CD3A2BB39'],
  ['Originator', 'mailto:bernard@example.com'],
  ['Recipient', 'mailto:cyrus@example.org'],
  ['Cache-Control', 'no-cache, no-transform'],
  ['Content-Type', 'text/calendar; component=VEVENT; method=REQUEST'],
  ['User-Agent', 'express-ischedule-bench'],
];
const keys = privateExchangeKeys({ 'jupiter._domainkey.example.com': keyRecord(privateKey) });
const signature = signRequest({ headers, body, key, queryMethods: ['private-exchange'] });
const signed: Array<[string, string]> = [['DKIM-Signature', signature], ...headers];

// The bare baseline signs the same number of octets the project signs.
console.log(`key: ${createPrivateKey(privateKey).asymmetricKeyDetails?.modulusLength}-bit RSA`);
const keyObject = createPrivateKey(privateKey);
const publicKey = createPublicKey(keyObject);
const data = Buffer.alloc(600, 'a');
const bareSignature = sign('sha256', data, keyObject);

async function rate(name: string, op: () => unknown, ms = 2000): Promise<number> {
  for (let i = 0; i < 50; i++) await op();
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 20; i++) await op();
    n += 20;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const perSecond = n / seconds;
  console.log(`${name.padEnd(34)} ${perSecond.toFixed(0).padStart(8)} ops/s`);
  return perSecond;
}

const bareSign = await rate('crypto.sign (bare)', () => sign('sha256', data, keyObject));
const ourSign = await rate('signRequest (PEM key, cached)', () => signRequest({ headers, body, key }));
const bareVerify = await rate('crypto.verify (bare)', () => verify('sha256', data, publicKey, bareSignature));
const ourVerify = await rate('verifyRequest (cached key)', () =>
  verifyRequest({ headers: signed, body, keys }),
);
console.log(`sign ratio   ${(ourSign / bareSign).toFixed(2)} (target >= 0.90)`);
console.log(`verify ratio ${(ourVerify / bareVerify).toFixed(2)} (target >= 0.80)`);
