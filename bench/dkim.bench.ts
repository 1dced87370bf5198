/**
 * DKIM sign and verify throughput beside bare node:crypto on the same key and data, in short
 * alternating slices (a bare slice, then ours, then the other way round), each pair's ratio
 * reported with the median and range: sequential phases swing with the machine's other tenants.
 * Targets: verify >= 0.8 of bare crypto.verify with a cached key, sign >= 0.9 of bare crypto.sign.
 *
 * Measures the built package (dist/), as hosts run it.
 *
 *   npm run bench     (BENCH_SLICE_MS per slice, default 500; BENCH_PAIRS, default 7)
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { builtPackage } from './support/built.js';

const { keyRecord, privateExchangeKeys, signRequest, verifyRequest } = await builtPackage();

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

const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 500);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 7);

/** Operations per second over one slice. */
async function rate(op: () => unknown, ms: number): Promise<number> {
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 20; i++) await op();
    n += 20;
  }
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const range = (values: number[], digits: number) =>
  `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;

/** Bare and ours in alternating slices; prints both rates and the pair ratios. */
async function compare(
  names: [string, string],
  bare: () => unknown,
  ours: () => unknown,
  target: number,
): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await bare();
    await ours();
  }
  const rates = { bare: [] as number[], ours: [] as number[] };
  const ratios: number[] = [];
  for (let pair = 0; pair < PAIRS; pair++) {
    const first = pair % 2 ? ours : bare;
    const a = await rate(first, SLICE_MS);
    const b = await rate(first === bare ? ours : bare, SLICE_MS);
    const [bareRate, ourRate] = first === bare ? [a, b] : [b, a];
    rates.bare.push(bareRate);
    rates.ours.push(ourRate);
    ratios.push(ourRate / bareRate);
  }
  console.log(
    `${names[0].padEnd(30)} ${median(rates.bare).toFixed(0).padStart(7)} ops/s (${range(rates.bare, 0)})`,
  );
  console.log(
    `${names[1].padEnd(30)} ${median(rates.ours).toFixed(0).padStart(7)} ops/s (${range(rates.ours, 0)})`,
  );
  console.log(
    `  ratio, pair by pair: median ${median(ratios).toFixed(2)} (${range(ratios, 2)}) (target >= ${target.toFixed(2)})`,
  );
}

await compare(
  ['crypto.sign (bare)', 'signRequest (PEM key, cached)'],
  () => sign('sha256', data, keyObject),
  () => signRequest({ headers, body, key }),
  0.9,
);
await compare(
  ['crypto.verify (bare)', 'verifyRequest (cached key)'],
  () => verify('sha256', data, publicKey, bareSignature),
  () => verifyRequest({ headers: signed, body, keys }),
  0.8,
);
