/**
 * Inbound throughput: signed REQUEST POSTs against the iSchedule router (DKIM verified with a
 * cached key, iTIP checked, delivered to a no-op adapter) beside a bare Express route reading the
 * same body; same server process, same load tool (autocannon), same run. Every router request is
 * signed beforehand with its own message id: the replay check would refuse repeats.
 * Target (issue #3): the router at least 0.6 of the bare route's throughput. Run: npm run bench:inbound
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { signRequest } from '../spec/support/api.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
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

// Enough distinct signed requests for the router run, made before any load starts.
const signed: Array<{ headers: Record<string, string>; body: Buffer }> = [];
const wanted = Number(process.env.BENCH_REQUESTS ?? 8000 * DURATION);
for (let i = 0; i < wanted; i++) {
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
const bareRequest = { headers: Object.fromEntries(requestHeaders()), body };

let index = 0;
await load('warm-up (router)', '/.well-known/ischedule', () => signed[index++ % 2000]!).catch(() => 0);
index = 2000;
const bare = await load('bare Express route', '/bare', () => bareRequest);
const router = await load('iSchedule router (signed)', '/.well-known/ischedule', () => {
  const request = signed[index++];
  if (!request) throw new Error('ran out of pre-signed requests: raise BENCH_REQUESTS');
  return request;
});
console.log(`ratio ${(router / bare).toFixed(2)} (target >= 0.60)`);
server.disconnect();
