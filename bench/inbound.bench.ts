/**
 * Inbound throughput: signed REQUEST POSTs against the iSchedule router (DKIM verified with a
 * cached key, iTIP checked, delivered to a no-op adapter) beside a bare Express route reading the
 * same body, and beside the same router with its per-peer rate limits counting (limits far
 * above the load: what counting costs); each in an Express app and on a port of its own, as a
 * host mounts it, in one server process; same load tool (autocannon), same run, in short slices taken in turn (sequential phases swing with the machine's other
 * tenants): each round's ratios, then their median and range. Every router request is signed beforehand with its own message id
 * (the replay check would refuse repeats), enough for each slice, outside the timed slices.
 * Target: the router at least 0.6 of the bare route's throughput.
 *
 * Each slice prints the server's main-thread time per request and how busy that thread was (a
 * side whose main thread idles is waiting, not working).
 *
 *   npm run bench:inbound     (BENCH_SECONDS per slice, default 3; BENCH_PAIRS rounds, default 5;
 *                              BENCH_CONNECTIONS, default 16)
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
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
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
const ports: { port: number; bounded: number; bare: number } = await new Promise((resolve) =>
  server.once('message', resolve),
);

/** The server's CPU seconds so far (all threads), and its main thread's busy milliseconds. */
function serverTimes(): Promise<{ cpu: number; mainThread: number }> {
  return new Promise((resolve) => {
    server.once('message', (m: { cpu: NodeJS.CpuUsage; active: number }) =>
      resolve({ cpu: (m.cpu.user + m.cpu.system) / 1e6, mainThread: m.active }),
    );
    server.send('cpu');
  });
}

async function load(
  name: string,
  port: number,
  path: string,
  next: () => { headers: Record<string, string>; body: Buffer },
) {
  const before = await serverTimes();
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [{ method: 'POST', path, setupRequest: (request) => ({ ...request, ...next() }) }],
  });
  const after = await serverTimes();
  const busy = (after.cpu - before.cpu) / DURATION;
  const ok = result['2xx'];
  const rps = ok / DURATION;
  // The main thread is what saturates: its busy time per request is the cost that counts.
  const perRequest = ((after.mainThread - before.mainThread) * 1000) / Math.max(1, result.requests.total);
  const line = `${name.padEnd(28)} ${rps.toFixed(0).padStart(7)} req/s  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms`;
  console.log(
    `${line}  server CPU ${(busy * 100).toFixed(0)}%, main thread ${perRequest.toFixed(0)} us/request, busy ${((after.mainThread - before.mainThread) / (DURATION * 10)).toFixed(0)}%  (non-2xx ${result.non2xx}, errors ${result.errors})`,
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
await load('warm-up (router)', ports.port, '/.well-known/ischedule', () => warmUp[warm++ % warmUp.length]!);
await load(
  'warm-up (rate limits)',
  ports.bounded,
  '/.well-known/ischedule',
  () => warmUp[warm++ % warmUp.length]!,
);
await load('warm-up (bare)', ports.bare, '/bare', () => bareRequest);

type Side = 'bare' | 'router' | 'bounded';
const sides: Record<
  Side,
  { name: string; port: number; path: string; next: () => { headers: Record<string, string>; body: Buffer } }
> = {
  bare: { name: 'bare Express route', port: ports.bare, path: '/bare', next: () => bareRequest },
  router: { name: 'iSchedule router', port: ports.port, path: '/.well-known/ischedule', next: nextSigned },
  bounded: {
    name: 'router, rate limits on',
    port: ports.bounded,
    path: '/.well-known/ischedule',
    next: nextSigned,
  },
};
const order: Side[] = ['bare', 'router', 'bounded'];
const rates: Record<Side, number[]> = { bare: [], router: [], bounded: [] };
const ratios = { router: [] as number[], bounded: [] as number[] };
for (let pair = 1; pair <= PAIRS; pair++) {
  // Enough for this round's two router slices at a rate they never reach, signed beforehand.
  signMore(Math.max(0, index + 2 * MAX_RATE * DURATION - signed.length));
  // The order rotates, so no side always runs first or after the same one.
  const round: Partial<Record<Side, number>> = {};
  for (let k = 0; k < order.length; k++) {
    const side = order[(pair + k) % order.length]!;
    const { name, port, path, next } = sides[side];
    round[side] = await load(`round ${pair}: ${name}`, port, path, next);
    rates[side].push(round[side]);
  }
  ratios.router.push(round.router! / round.bare!);
  ratios.bounded.push(round.bounded! / round.router!);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const range = (values: number[], digits: number) =>
  `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;
console.log(
  `\nbare ${median(rates.bare).toFixed(0)} (${range(rates.bare, 0)}) req/s, router ${median(rates.router).toFixed(0)} (${range(rates.router, 0)}) req/s, with rate limits ${median(rates.bounded).toFixed(0)} (${range(rates.bounded, 0)}) req/s`,
);
console.log(
  `router / bare, round by round: median ${median(ratios.router).toFixed(2)} (${range(ratios.router, 2)}) (target >= 0.60)`,
);
console.log(
  `router with rate limits / router: median ${median(ratios.bounded).toFixed(2)} (${range(ratios.bounded, 2)}) (what counting costs)`,
);
server.disconnect();
