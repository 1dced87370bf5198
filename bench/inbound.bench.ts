/**
 * Inbound throughput: signed REQUEST POSTs against the iSchedule router (DKIM verified with a
 * cached key, iTIP checked, delivered to a no-op adapter) beside a bare Express route reading the
 * same body; same server process, same load tool (autocannon), same run, in short alternating
 * slices (sequential phases swing with the machine's other tenants): each pair's ratio, then
 * their median and range. Every router request is signed beforehand with its own message id
 * (the replay check would refuse repeats), enough for each slice, outside the timed slices.
 * Target: the router at least 0.6 of the bare route's throughput.
 *
 *   npm run bench:inbound     (BENCH_SECONDS per slice, default 3; BENCH_PAIRS, default 5)
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { signRequest } from '../spec/support/api.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 3);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 5);
/** Above what this machine's router can take per second: a slice never runs out. */
const MAX_RATE = Number(process.env.BENCH_MAX_RATE ?? 8000);
const CONNECTIONS = 16;
const privateKey = readFileSync(
  new URL('../fixtures/keys/example.com-jupiter.rsa.pem', import.meta.url),
  'utf8',
);
const body = readFileSync(new URL('../fixtures/draft/a1-request.ics', import.meta.url));

function requestHeaders(): Array<[string, string]> {
  return [
    ['iSchedule-Version', '1.0'],
    ['iSchedule-Message-ID', randomUUID()],
    ['Originator', 'mailto:bernard@example.com'],
    ['Recipient', 'mailto:cyrus@example.org'],
    ['Cache-Control', 'no-cache, no-transform'],
    ['Content-Type', 'text/calendar; component=VEVENT; method=REQUEST'],
  ];
}

const server = fork(new URL('./support/inbound-server.ts', import.meta.url), {
  execArgv: [
    '--import',
    'tsx',
    ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []),
  ],
  env: { ...process.env, BENCH_KEY: privateKey },
});
const port: number = await new Promise((resolve) =>
  server.once('message', (m: { port: number }) => resolve(m.port)),
);

function serverCpu(): Promise<number> {
  return new Promise((resolve) => {
    server.once('message', (m: { cpu: NodeJS.CpuUsage }) => resolve((m.cpu.user + m.cpu.system) / 1e6));
    server.send('cpu');
  });
}

async function load(
  name: string,
  path: string,
  next: () => { headers: Record<string, string>; body: Buffer },
) {
  const cpuBefore = await serverCpu();
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [{ method: 'POST', path, setupRequest: (request) => ({ ...request, ...next() }) }],
  });
  const busy = ((await serverCpu()) - cpuBefore) / DURATION;
  const ok = result['2xx'];
  const rps = ok / DURATION;
  const line = `${name.padEnd(28)} ${rps.toFixed(0).padStart(7)} req/s  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms`;
  console.log(
    `${line}  server CPU ${(busy * 100).toFixed(0)}%  (non-2xx ${result.non2xx}, errors ${result.errors})`,
  );
  return rps;
}

// Distinct signed requests, made outside the timed slices.
const signed: Array<{ headers: Record<string, string>; body: Buffer }> = [];
function signMore(count: number): void {
  if (count <= 0) return;
  for (let i = 0; i < count; i++) {
    const headers = requestHeaders();
    headers.push([
      'DKIM-Signature',
      signRequest({
        headers,
        body,
        key: { domain: 'example.com', selector: 'jupiter', privateKey },
        queryMethods: ['private-exchange'],
      }),
    ]);
    signed.push({ headers: Object.fromEntries(headers), body });
  }
}
const bareRequest = { headers: Object.fromEntries(requestHeaders()), body };

let index = 0;
const nextSigned = () => {
  const request = signed[index++];
  if (!request) throw new Error('ran out of pre-signed requests: raise BENCH_MAX_RATE');
  return request;
};
signMore(2000);
// Warm-up only: past the first 2,000 the repeats are refused as replays, which is fine here.
const warmUp = signed.splice(0);
let warm = 0;
await load('warm-up (router)', '/.well-known/ischedule', () => warmUp[warm++ % warmUp.length]!);
await load('warm-up (bare)', '/bare', () => bareRequest);

const ratios: number[] = [];
const rates = { bare: [] as number[], router: [] as number[] };
for (let pair = 1; pair <= PAIRS; pair++) {
  // Enough for this slice at a rate the router never reaches, signed before the clock starts.
  signMore(Math.max(0, index + MAX_RATE * DURATION - signed.length));
  const routerFirst = pair % 2 === 0;
  let bare = 0;
  let router = 0;
  for (const side of routerFirst ? ['router', 'bare'] : ['bare', 'router']) {
    if (side === 'bare') bare = await load(`pair ${pair}: bare Express route`, '/bare', () => bareRequest);
    else router = await load(`pair ${pair}: iSchedule router`, '/.well-known/ischedule', nextSigned);
  }
  rates.bare.push(bare);
  rates.router.push(router);
  ratios.push(router / bare);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const range = (values: number[], digits: number) =>
  `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;
console.log(
  `\nbare ${median(rates.bare).toFixed(0)} (${range(rates.bare, 0)}) req/s, router ${median(rates.router).toFixed(0)} (${range(rates.router, 0)}) req/s`,
);
console.log(
  `router / bare, pair by pair: median ${median(ratios).toFixed(2)} (${range(ratios, 2)}) (target >= 0.60)`,
);
server.disconnect();
