/**
 * This checkout's receiver against a baseline's, on the same machine in the same run: each in
 * its own process, both alive, the same load tool as bench:inbound (autocannon, 16 connections)
 * saturating one and then the other, in short slices taken in turn. Reports, round by round,
 * each side's throughput and its main thread's busy time per request (what saturates), and the
 * paired ratios' median and range: on these shared machines a single throughput run varies by
 * 20% and more, adjacent slices much less.
 *
 * Both sides run their built package (dist/): this checkout is built first; build the baseline.
 *
 *   git worktree add /tmp/baseline <rev> && ln -s "$PWD/node_modules" /tmp/baseline/node_modules
 *   (cd /tmp/baseline && npm run build)
 *   BASELINE=/tmp/baseline npm run bench:ab   (ROUNDS, default 8; BENCH_SECONDS per slice, default 2)
 *
 * BASELINE=. compares this checkout with itself: the noise floor.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { signRequest } from '../spec/support/api.js';

const here = path.resolve(new URL('..', import.meta.url).pathname);
const baseline = process.env.BASELINE;
if (!baseline) {
  console.error('BASELINE must name a checkout to compare with (see the comment at the top)');
  process.exit(2);
}
const ROUNDS = Number(process.env.ROUNDS ?? 8);
const DURATION = Number(process.env.BENCH_SECONDS ?? 2);
/** Above what this machine's receiver can take per second: a slice never runs out. */
const MAX_RATE = Number(process.env.BENCH_MAX_RATE ?? 8000);
const CONNECTIONS = 16;

interface Usage {
  /** CPU time so far, all threads, microseconds. */
  readonly cpu: number;
  /** The main thread's busy time so far, microseconds. */
  readonly main: number;
}

interface Side {
  readonly name: string;
  readonly port: number;
  readonly usage: () => Promise<Usage>;
  readonly rates: number[];
  readonly mainPerRequest: number[];
}

async function start(name: string, lib: string): Promise<Side> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(here, 'bench/support/receiver-process.ts')],
    { env: { ...process.env, LIB: path.resolve(lib) }, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let answer: ((usage: Usage) => void) | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    child.stdout?.on('data', (data: Buffer) => {
      const text = data.toString();
      const listening = /PORT (\d+)/.exec(text);
      if (listening) resolve(Number(listening[1]));
      const usage = /CPU (\d+) (\d+)/.exec(text);
      if (usage) answer?.({ cpu: Number(usage[1]), main: Number(usage[2]) });
    });
  });
  const usage = () =>
    new Promise<Usage>((resolve) => {
      answer = resolve;
      child.stdin?.write('cpu\n');
    });
  return { name, port, usage, rates: [], mainPerRequest: [] };
}

const privateKey = readFileSync(
  new URL('../fixtures/keys/example.com-jupiter.rsa.pem', import.meta.url),
  'utf8',
);
const body = readFileSync(new URL('../fixtures/draft/a1-request.ics', import.meta.url));

/** Distinct signed requests (the replay check refuses repeats), made outside the timed slices. */
function signed(count: number): Array<Record<string, string>> {
  return Array.from({ length: count }, () => {
    const headers: Array<[string, string]> = [
      ['iSchedule-Version', '1.0'],
      ['iSchedule-Message-ID', randomUUID()],
      ['Originator', 'mailto:bernard@example.com'],
      ['Recipient', 'mailto:cyrus@example.org'],
      ['Cache-Control', 'no-cache, no-transform'],
      ['Content-Type', 'text/calendar; component=VEVENT; method=REQUEST'],
    ];
    const key = { domain: 'example.com', selector: 'jupiter', privateKey };
    headers.push(['DKIM-Signature', signRequest({ headers, body, key, queryMethods: ['private-exchange'] })]);
    return Object.fromEntries(headers);
  });
}

async function slice(side: Side, requests: Array<Record<string, string>>, record: boolean): Promise<void> {
  let next = 0;
  const before = await side.usage();
  const result = await autocannon({
    url: `http://127.0.0.1:${side.port}`,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        method: 'POST',
        path: '/.well-known/ischedule',
        setupRequest: (request) => {
          const headers = requests[next++];
          if (!headers) throw new Error('ran out of pre-signed requests: raise BENCH_MAX_RATE');
          return { ...request, headers, body };
        },
      },
    ],
  });
  const after = await side.usage();
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${side.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  if (!record) return;
  side.rates.push(result['2xx'] / DURATION);
  side.mainPerRequest.push((after.main - before.main) / Math.max(1, result.requests.total));
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const range = (values: readonly number[], digits: number) =>
  `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;

const sides = [await start('baseline', baseline), await start('this checkout', here)] as const;
const perSlice = MAX_RATE * DURATION;
// Warm both (V8 optimizes the path after a few thousand requests), then the rounds.
for (const side of sides) await slice(side, signed(perSlice), false);
for (let round = 0; round < ROUNDS; round++) {
  const pair = [signed(perSlice), signed(perSlice)];
  // Alternate which goes first: neither always runs on a warmer or colder machine.
  const order = round % 2 ? [1, 0] : [0, 1];
  for (const i of order) await slice(sides[i]!, pair[i]!, true);
  const [a, b] = sides;
  console.log(
    `round ${round + 1}: baseline ${a.rates.at(-1)!.toFixed(0)} req/s (${a.mainPerRequest.at(-1)!.toFixed(0)} us main thread), this checkout ${b.rates.at(-1)!.toFixed(0)} req/s (${b.mainPerRequest.at(-1)!.toFixed(0)} us)`,
  );
}
const [a, b] = sides;
const rateRatios = b.rates.map((rate, i) => rate / a.rates[i]!);
const mainRatios = b.mainPerRequest.map((main, i) => main / a.mainPerRequest[i]!);
console.log(
  `\nthis checkout / baseline, throughput: median ${median(rateRatios).toFixed(3)} (${range(rateRatios, 3)})`,
);
console.log(
  `this checkout / baseline, main thread per request: median ${median(mainRatios).toFixed(3)} (${range(mainRatios, 3)})`,
);
process.exit(0);
