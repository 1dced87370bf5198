/**
 * Messages per second through the embedded outbox against the direct client, both to one
 * `ischedule serve` (plain HTTP on loopback, filesystem inbox) in its own process, rounds
 * interleaved; the time from enqueue to delivered at p50 and p99 in that burst (queueing
 * included), and for a lone message (one at a time: journal, POST, journal, callback).
 *
 *   npm run bench:outbox     (BENCH_MESSAGES per run, default 2000; BENCH_ROUNDS, default 3)
 *
 * Both send with 16 at once (the outbox with perDomainConcurrency 16; its default is 4, to be
 * gentle with one peer). The outbox's journal is on the same disk as the receiver's inbox.
 */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BullmqOutbox,
  IScheduleClient,
  IScheduleOutbox,
  type Outbox,
  type OutboxOptions,
} from '../spec/support/api.js';
import { benchReceiverConfig, serve } from '../spec/support/cli.js';
import { itipMessage, keys } from '../spec/support/fixtures.js';
import { redisUnavailable, startRedis } from '../spec/support/redis.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = 16;

const message = (uid: string) => ({
  originator: 'mailto:bernard@example.com',
  recipients: ['mailto:cyrus@example.org'],
  calendar: itipMessage(uid),
});

const dir = mkdtempSync(path.join(tmpdir(), 'ischedule-outbox-bench-'));
const config = path.join(dir, 'config.json');
writeFileSync(config, JSON.stringify(benchReceiverConfig(false)));
const server = await serve(['--config', config]);
const client = new IScheduleClient({
  signing: keys.jupiter,
  queryMethods: ['private-exchange'],
  overrides: { 'example.org': server.url },
  attempts: 1,
});

/** CPU ms of this (sending) process per message since `from`. */
const cpuPerMessage = (from: NodeJS.CpuUsage, messages: number) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000 / messages;
};

async function direct(round: number): Promise<{ rate: number; delivered: number; cpu: number }> {
  let next = 0;
  let delivered = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < MESSAGES) {
        const [result] = await client.send(message(`direct-${round}-${next++}`));
        if (result?.outcome === 'delivered') delivered++;
      }
    }),
  );
  return {
    rate: delivered / ((performance.now() - started) / 1000),
    delivered,
    cpu: cpuPerMessage(cpu, delivered),
  };
}

const LONE = 100;

/** One message at a time, each waited for: what a user's single invitation costs. */
async function lone(round: number): Promise<{ direct: number[]; outbox: number[] }> {
  const directTimes: number[] = [];
  for (let i = 0; i < LONE; i++) {
    const started = performance.now();
    await client.send(message(`lone-direct-${round}-${i}`));
    directTimes.push(performance.now() - started);
  }
  let delivered: (() => void) | undefined;
  const box = await IScheduleOutbox.open({
    client,
    directory: mkdtempSync(path.join(dir, 'outbox-')),
    onStatus: (status) => {
      if (status.state === 'delivered') delivered?.();
    },
  });
  const outboxTimes: number[] = [];
  for (let i = 0; i < LONE; i++) {
    const started = performance.now();
    const arrived = new Promise<void>((resolve) => {
      delivered = resolve;
    });
    await box.enqueue(message(`lone-outbox-${round}-${i}`));
    await arrived;
    outboxTimes.push(performance.now() - started);
  }
  await box.close();
  return { direct: directTimes, outbox: outboxTimes };
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

const redis = redisUnavailable() ? undefined : await startRedis();
if (!redis) console.log('(redis-server is not installed: the BullMQ engine is left out)');

type Open = (options: Pick<OutboxOptions, 'client' | 'onStatus' | 'concurrency'>) => Promise<Outbox>;
const engines: Record<string, Open> = {
  journal: (options) =>
    IScheduleOutbox.open({
      ...options,
      directory: mkdtempSync(path.join(dir, 'outbox-')),
      perDomainConcurrency: CONCURRENCY,
    }),
  ...(redis && {
    BullMQ: (options: Parameters<Open>[0]) =>
      BullmqOutbox.open({ ...options, redis: redis.url, queue: `bench-${randomUUID()}` }),
  }),
};

async function outbox(
  round: number,
  open: Open,
): Promise<{ rate: number; delivered: number; p50: number; p99: number; cpu: number }> {
  const enqueuedAt = new Map<string, number>();
  const latencies: number[] = [];
  let done: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const box = await open({
    client,
    concurrency: CONCURRENCY,
    onStatus: (status) => {
      if (status.state !== 'delivered') return;
      latencies.push(performance.now() - enqueuedAt.get(status.jobId)!);
      if (latencies.length === MESSAGES) done();
    },
  });
  const cpu = process.cpuUsage();
  const started = performance.now();
  // The host's side: hand each message over as its scheduling outbox would, 16 at once.
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < MESSAGES) {
        const at = performance.now();
        const id = await box.enqueue(message(`outbox-${round}-${next++}`));
        enqueuedAt.set(id, at);
      }
    }),
  );
  await finished;
  const rate = latencies.length / ((performance.now() - started) / 1000);
  const cpuMs = cpuPerMessage(cpu, latencies.length);
  await box.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { rate, delivered: latencies.length, p50: at(0.5), p99: at(0.99), cpu: cpuMs };
}

const variants = ['direct', ...Object.keys(engines)];
const rates = new Map<string, number[]>(variants.map((v) => [v, []]));
const ratios = new Map<string, number[]>(Object.keys(engines).map((v) => [v, []]));
for (let round = 1; round <= ROUNDS; round++) {
  const result = new Map<string, number>();
  for (const variant of round % 2 ? variants : [...variants].reverse()) {
    if (variant === 'direct') {
      const r = await direct(round);
      result.set(variant, r.rate);
      console.log(
        `round ${round} direct client    ${r.rate.toFixed(0).padStart(5)} msg/s  (${r.delivered} delivered)  sender CPU ${r.cpu.toFixed(2)} ms/msg`,
      );
    } else {
      const r = await outbox(round, engines[variant]!);
      result.set(variant, r.rate);
      console.log(
        `round ${round} outbox, ${variant.padEnd(8)} ${r.rate.toFixed(0).padStart(5)} msg/s  (${r.delivered} delivered)  sender CPU ${r.cpu.toFixed(2)} ms/msg  enqueue to delivered p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms`,
      );
    }
  }
  const single = await lone(round);
  console.log(
    `round ${round} lone message     direct p50 ${quantile(single.direct, 0.5).toFixed(1)} ms p99 ${quantile(single.direct, 0.99).toFixed(1)} ms;  journal outbox, enqueue to delivered, p50 ${quantile(single.outbox, 0.5).toFixed(1)} ms p99 ${quantile(single.outbox, 0.99).toFixed(1)} ms`,
  );
  for (const [variant, rate] of result) {
    rates.get(variant)!.push(rate);
    if (variant !== 'direct') ratios.get(variant)!.push(rate / result.get('direct')!);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const range = (values: number[], digits = 0) =>
  `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;
console.log('\nmedian (range) msg/s, and the ratio to the direct client in the same round:');
for (const [variant, values] of rates) {
  const ratio = ratios.get(variant);
  console.log(
    `  ${variant.padEnd(8)} ${median(values).toFixed(0).padStart(5)} (${range(values)})${ratio ? `  x${median(ratio).toFixed(2)} (${range(ratio, 2)})` : ''}`,
  );
}
client.close();
await server.stop();
await redis?.stop();
