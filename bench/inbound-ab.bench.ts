/**
 * This checkout's receiver against a baseline's, on the same machine in the same run: each in
 * its own process, both alive, one client alternating batches of signed scheduling requests
 * between them. Reports each server's CPU time per request (from /proc) and the ratio of
 * adjacent batches, median and quartiles; on these shared machines a single throughput run
 * varies by 20% and more, the paired ratio by a few percent.
 *
 *   git worktree add /tmp/baseline <rev> && ln -s "$PWD/node_modules" /tmp/baseline/node_modules
 *   BASELINE=/tmp/baseline npm run bench:ab    (ROUNDS, PER: batches and requests per batch)
 *
 * BASELINE=. compares this checkout with itself: the noise floor.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { signRequest } from '../spec/support/api.js';

const here = path.resolve(new URL('..', import.meta.url).pathname);
const baseline = process.env.BASELINE;
if (!baseline) {
  console.error('BASELINE must name a checkout to compare with (see the comment at the top)');
  process.exit(2);
}
const ROUNDS = Number(process.env.ROUNDS ?? 40);
const PER = Number(process.env.PER ?? 500);
const CONNECTIONS = 8;

interface Side {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly agent: http.Agent;
  readonly cpu: number[];
}

async function start(name: string, lib: string): Promise<Side> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(here, 'bench/support/receiver-process.ts')],
    {
      env: { ...process.env, LIB: path.resolve(lib) },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    child.stdout?.on('data', (data: Buffer) => {
      const match = /PORT (\d+)/.exec(data.toString());
      if (match) resolve(Number(match[1]));
    });
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  return { name, pid: child.pid ?? 0, port, agent, cpu: [] };
}

/** User plus system CPU time of a process so far, in clock ticks (1/100 s). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

const privateKey = readFileSync(
  new URL('../fixtures/keys/example.com-jupiter.rsa.pem', import.meta.url),
  'utf8',
);
const body = readFileSync(new URL('../fixtures/draft/a1-request.ics', import.meta.url));

function signedRequests(): Array<Record<string, string>> {
  return Array.from({ length: PER }, () => {
    const headers: Array<[string, string]> = [
      ['iSchedule-Version', '1.0'],
      ['iSchedule-Message-ID', randomUUID()],
      ['Originator', 'mailto:bernard@example.com'],
      ['Recipient', 'mailto:cyrus@example.org'],
      ['Content-Type', 'text/calendar; component=VEVENT; method=REQUEST'],
    ];
    const key = { domain: 'example.com', selector: 'jupiter', privateKey };
    headers.push(['DKIM-Signature', signRequest({ headers, body, key, queryMethods: ['private-exchange'] })]);
    return Object.fromEntries(headers);
  });
}

async function batch(side: Side): Promise<void> {
  const requests = signedRequests();
  const before = cpuTicks(side.pid);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < requests.length) {
        const headers = requests[next++]!;
        await new Promise<void>((resolve, reject) => {
          const request = http.request(
            {
              host: '127.0.0.1',
              port: side.port,
              path: '/.well-known/ischedule',
              method: 'POST',
              headers,
              agent: side.agent,
            },
            (response) => {
              response.resume();
              response.on('end', () =>
                response.statusCode === 200
                  ? resolve()
                  : reject(new Error(`${side.name}: HTTP ${response.statusCode}`)),
              );
            },
          );
          request.on('error', reject);
          request.end(body);
        });
      }
    }),
  );
  side.cpu.push(((cpuTicks(side.pid) - before) * 10_000) / PER);
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.round(q * (sorted.length - 1))] ?? Number.NaN;
const summary = (values: readonly number[], digits: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(digits);
  return `median ${f(quantile(sorted, 0.5))} (quartiles ${f(quantile(sorted, 0.25))}-${f(quantile(sorted, 0.75))}, range ${f(sorted[0]!)}-${f(sorted.at(-1)!)})`;
};

const sides = [await start('baseline', baseline), await start('this checkout', here)] as const;
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which goes first: neither always runs on a warmer or colder machine.
  for (const side of round % 2 ? [...sides].reverse() : sides) await batch(side);
}
for (const side of sides)
  console.log(`${side.name.padEnd(14)} server CPU per request, µs: ${summary(side.cpu, 0)}`);
const ratios = sides[1].cpu.map((cpu, i) => cpu / sides[0].cpu[i]!);
console.log(`this checkout / baseline, paired by round: ${summary(ratios, 3)}`);
process.exit(0);
