/**
 * Sustained signed load over HTTPS against `ischedule serve` with its filesystem inbox: one worker
 * with the in-process replay store, one worker with Redis, two workers with Redis. Rounds are
 * interleaved; each prints req/s, p50/p99 latency and the servers' RSS at its start and end, and
 * checks that every 2.0 answer is one stored message and that nothing else was stored.
 *
 *   npm run bench:scale        (BENCH_SECONDS per run, default 10; BENCH_ROUNDS, default 2;
 *                               BENCH_VARIANTS=1,2 to run only the first two)
 *
 * Needs Debian's redis-server. Requests are signed before the clock starts, so the load
 * generator (on the same machine) only sends.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { signRequest } from '../spec/support/api.js';
import { benchReceiverConfig, serve } from '../spec/support/cli.js';
import { draftHeaders, keys } from '../spec/support/fixtures.js';
import { redisUnavailable, startRedis } from '../spec/support/redis.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONCURRENCY = 16;
const body = readFileSync(new URL('../fixtures/draft/a1-request.ics', import.meta.url));

const missing = redisUnavailable();
if (missing) {
  console.error(missing);
  process.exit(1);
}
const redis = await startRedis();

interface Variant {
  readonly name: string;
  readonly args: (configFile: string) => string[];
}
const allVariants: Variant[] = [
  { name: '1 worker, memory', args: (c) => ['--config', c] },
  { name: '1 worker, Redis', args: (c) => ['--config', c, '--redis', redis.url] },
  { name: '2 workers, Redis', args: (c) => ['--config', c, '--redis', redis.url, '--workers', '2'] },
];
const chosen = process.env.BENCH_VARIANTS?.split(',').map(Number);
const variants = chosen ? allVariants.filter((_, i) => chosen.includes(i + 1)) : allVariants;

/** Distinct signed requests (their own Message-ID and signature), made before timing. */
function signedRequests(count: number): Array<Array<[string, string]>> {
  return Array.from({ length: count }, () => {
    const headers = draftHeaders();
    const signature = signRequest({ headers, body, key: keys.jupiter, queryMethods: ['private-exchange'] });
    return [...headers, ['DKIM-Signature', signature]];
  });
}

function post(
  agent: https.Agent,
  url: URL,
  headers: Array<[string, string]>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = https.request(url, { method: 'POST', agent, rejectUnauthorized: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
      );
    });
    for (const [name, value] of headers) if (name.toLowerCase() !== 'host') request.setHeader(name, value);
    request.on('error', reject);
    request.end(body);
  });
}

/** The server's process and its workers. */
function processTree(pid: number): number[] {
  return [
    pid,
    ...spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map(Number),
  ];
}

/**
 * CPU seconds (user + system) these processes have used. Per message it is steadier than req/s
 * on a shared machine, where other tenants take the cores at will.
 */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const p of pids) {
    // Fields after the command name: state is the 1st, utime the 12th, stime the 13th.
    const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

function rssMiB(pid: number): number {
  let kib = 0;
  for (const p of processTree(pid)) {
    const status = readFileSync(`/proc/${p}/status`, 'utf8');
    kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return Math.round(kib / 1024);
}

async function run(variant: Variant): Promise<{
  rps: number;
  cpuMs: number;
  redisCpuMs: number;
  generatorCpuMs: number;
  p50: number;
  p99: number;
  rss: [number, number];
  ok: boolean;
}> {
  // BENCH_DIR=/dev/shm takes the disk (two fsyncs per message) out of the measure.
  const dir = mkdtempSync(path.join(process.env.BENCH_DIR ?? tmpdir(), 'ischedule-scale-'));
  const config = path.join(dir, 'config.json');
  writeFileSync(config, JSON.stringify(benchReceiverConfig('self-signed')));
  redis.cli('FLUSHALL');
  const server = await serve(variant.args(config));
  const { pid } = server;
  await new Promise((resolve) => setTimeout(resolve, variant.name.startsWith('2') ? 2000 : 300));
  const url = new URL(server.url);
  const agent = new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  // Enough for this machine's pace; a run that uses them all up ends early and says so.
  const requests = signedRequests(Math.ceil(SECONDS * Number(process.env.BENCH_RATE ?? 1500)));
  const latencies: number[] = [];
  let delivered = 0;
  let other = 0;
  let next = 0;
  const rssStart = rssMiB(pid);
  const measured = [...processTree(pid), redis.pid!];
  const cpuStart = cpuSeconds(measured);
  const redisCpuStart = cpuSeconds([redis.pid!]);
  const generatorCpuStart = process.cpuUsage();
  // RSS every 10 s: a flat series, not only two ends, says memory does not grow with load.
  const rssSeries: number[] = [];
  const sampler = setInterval(() => rssSeries.push(rssMiB(pid)), 10_000);
  const begin = Date.now();
  const end = begin + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end && next < requests.length) {
        const headers = requests[next++]!;
        const started = performance.now();
        const { status, text } = await post(agent, url, headers);
        latencies.push(performance.now() - started);
        if (status === 200 && text.includes('2.0;Success')) delivered++;
        else other++;
      }
    }),
  );
  clearInterval(sampler);
  const cpuUsed = cpuSeconds(measured) - cpuStart;
  const redisCpuUsed = cpuSeconds([redis.pid!]) - redisCpuStart;
  const generatorCpu = process.cpuUsage(generatorCpuStart);
  const rssEnd = rssMiB(pid);
  if (rssSeries.length > 1) console.log(`  RSS every 10 s, MiB: ${rssSeries.join(' ')}`);
  const elapsed = (Date.now() - begin) / 1000;
  if (next >= requests.length)
    console.log(
      `  (used all ${requests.length} signed requests in ${elapsed.toFixed(1)} s: raise BENCH_RATE)`,
    );
  agent.destroy();
  await server.stop();
  const stored = readdirSync(path.join(dir, 'data', 'cyrus@example.org', 'inbox')).length;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    rps: delivered / elapsed,
    cpuMs: (cpuUsed * 1000) / Math.max(delivered, 1),
    redisCpuMs: (redisCpuUsed * 1000) / Math.max(delivered, 1),
    generatorCpuMs: (generatorCpu.user + generatorCpu.system) / 1000 / Math.max(delivered, 1),
    p50: at(0.5),
    p99: at(0.99),
    rss: [rssStart, rssEnd],
    ok: stored === delivered && other === 0,
  };
}

const results = new Map<string, Array<Awaited<ReturnType<typeof run>>>>();
for (let round = 1; round <= ROUNDS; round++) {
  for (const variant of round % 2 ? variants : [...variants].reverse()) {
    const result = await run(variant);
    results.set(variant.name, [...(results.get(variant.name) ?? []), result]);
    console.log(
      `round ${round} ${variant.name.padEnd(17)} ${result.rps.toFixed(0).padStart(5)} req/s  ${result.cpuMs.toFixed(2)} CPU ms/msg (redis-server ${result.redisCpuMs.toFixed(2)}; load generator ${result.generatorCpuMs.toFixed(2)})  p50 ${result.p50.toFixed(1)} ms  p99 ${result.p99.toFixed(1)} ms  RSS ${result.rss[0]}->${result.rss[1]} MiB  ${result.ok ? 'every 2.0 stored once, nothing else' : 'MISMATCH'}`,
    );
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const base = median(results.get(variants[0]!.name)!.map((r) => r.rps));
const baseCpu = median(results.get(variants[0]!.name)!.map((r) => r.cpuMs));
console.log(
  `\nmedian (range) of req/s and of CPU ms per message (server and redis-server), ratio to "${variants[0]!.name}":`,
);
for (const variant of variants) {
  const rps = results.get(variant.name)!.map((r) => r.rps);
  const cpu = results.get(variant.name)!.map((r) => r.cpuMs);
  console.log(
    `  ${variant.name.padEnd(17)} ${median(rps).toFixed(0).padStart(5)} (${Math.min(...rps).toFixed(0)}-${Math.max(...rps).toFixed(0)}) req/s x${(median(rps) / base).toFixed(2)}   ${median(cpu).toFixed(2)} (${Math.min(...cpu).toFixed(2)}-${Math.max(...cpu).toFixed(2)}) CPU ms x${(median(cpu) / baseCpu).toFixed(2)}`,
  );
}
// Neighbours in one round ran under the same load from other tenants: their ratio is steadier.
const baseline = results.get(variants[0]!.name)!;
console.log(`\nper-round ratio of req/s to "${variants[0]!.name}" in the same round, median (range):`);
for (const variant of variants.slice(1)) {
  const ratios = results.get(variant.name)!.map((r, i) => r.rps / baseline[i]!.rps);
  console.log(
    `  ${variant.name.padEnd(17)} x${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
  );
}
await redis.stop();
if ([...results.values()].flat().some((r) => !r.ok)) process.exitCode = 1;
