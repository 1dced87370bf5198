/**
 * Round-trip time of one scheduling POST at a time over HTTPS (kept-alive connection), the
 * way a lone invitation travels: `ischedule serve` with its filesystem inbox on disk, the same
 * server with its inbox on tmpfs (the difference is what the disk's fsyncs cost), and Cyrus
 * IMAP's receiver from ../shared/interop for the same request, all in one run, request by
 * request in turn, so background load falls on each alike. Prints p50 and p10-p90 of each and
 * ours as a fraction of Cyrus's (target: at most 0.25). `serve` is the built command
 * (dist/cli/main.js), as installed.
 *
 *   npm run bench:latency     (BENCH_REQUESTS measured per server, default 1000, after
 *                              BENCH_WARM_UP unmeasured ones, default 2000)
 *
 * Cyrus must be running (`../shared/interop/peers.sh start cyrus`); without it only ours is
 * measured. Requests are signed before the clock starts; Cyrus's Debian build does not check
 * DKIM, so it is spared the verification ours does.
 */

import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { benchReceiverConfig, type ServeProcess, serve } from '../spec/support/cli.js';
import { itipMessage, keys } from '../spec/support/fixtures.js';
import { builtCli } from './support/built.js';
import { signedHeaders } from './support/signed-request.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1000);
/** A server in service is warm: V8 optimizes our path only after a few thousand requests. */
const WARM_UP = Number(process.env.BENCH_WARM_UP ?? 2000);
const ROOT = process.env.ISCHEDULE_PEERS_ROOT ?? path.join(process.env.TMPDIR ?? '/tmp', 'ischedule-peers');
const CYRUS_CA = path.join(ROOT, 'cyrus', 'tls', 'cert.pem');

interface Target {
  readonly name: string;
  readonly url: URL;
  readonly recipient: string;
  readonly agent: https.Agent;
  readonly times: number[];
}

function target(name: string, url: string, recipient: string, ca?: string): Target {
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: 1,
    ...(ca ? { ca } : { rejectUnauthorized: false }),
  });
  return { name, url: new URL(url), recipient, agent, times: [] };
}

async function startServe(dataDirParent: string): Promise<ServeProcess> {
  const dir = mkdtempSync(path.join(dataDirParent, 'ischedule-latency-'));
  const config = path.join(dir, 'config.json');
  writeFileSync(config, JSON.stringify(benchReceiverConfig('self-signed')));
  return serve(['--config', config], { command: [builtCli] });
}

const onDisk = await startServe(process.env.BENCH_DIR ?? tmpdir());
const onTmpfs = existsSync('/dev/shm') ? await startServe('/dev/shm') : undefined;
const targets = [
  target('serve, inbox on disk', onDisk.url, 'mailto:cyrus@example.org'),
  ...(onTmpfs ? [target('serve, inbox on tmpfs', onTmpfs.url, 'mailto:cyrus@example.org')] : []),
];
const cyrus = existsSync(CYRUS_CA)
  ? target(
      'Cyrus IMAP',
      'https://127.0.0.1:8443/ischedule',
      'mailto:bob@cyrus.test',
      readFileSync(CYRUS_CA, 'utf8'),
    )
  : undefined;
if (cyrus) targets.push(cyrus);
else console.log(`(Cyrus is not running: no ${CYRUS_CA}; run ../shared/interop/peers.sh start cyrus)`);

function signed(recipient: string): { headers: Record<string, string>; body: Buffer } {
  // With a SUMMARY: Cyrus refuses an invitation without one.
  const body = Buffer.from(
    itipMessage(`latency-${randomUUID()}`, { attendees: [recipient] }).replace(
      'ORGANIZER:',
      'SUMMARY:Latency\r\nORGANIZER:',
    ),
  );
  const headers = signedHeaders({ recipient, body, key: keys.jupiter });
  return { headers: { ...Object.fromEntries(headers), 'Content-Length': String(body.length) }, body };
}

function post(to: Target, request: { headers: Record<string, string>; body: Buffer }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      to.url,
      { method: 'POST', agent: to.agent, headers: request.headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          res.statusCode === 200 && text.includes('2.0')
            ? resolve(text)
            : reject(new Error(`${to.name} answered ${res.statusCode}: ${text.slice(0, 300)}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

const requests = targets.map((t) => Array.from({ length: REQUESTS + WARM_UP }, () => signed(t.recipient)));
for (let i = 0; i < REQUESTS + WARM_UP; i++) {
  // In turn, and the order rotated, so no server always follows the same one.
  for (let k = 0; k < targets.length; k++) {
    const index = (i + k) % targets.length;
    const to = targets[index]!;
    const started = performance.now();
    await post(to, requests[index]![i]!);
    if (i >= WARM_UP) to.times.push(performance.now() - started);
  }
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
for (const t of targets) {
  console.log(
    `${t.name.padEnd(24)} p50 ${quantile(t.times, 0.5).toFixed(2)} ms  (p10-p90 ${quantile(t.times, 0.1).toFixed(2)}-${quantile(t.times, 0.9).toFixed(2)})  p99 ${quantile(t.times, 0.99).toFixed(2)} ms`,
  );
}
const disk = quantile(targets[0]!.times, 0.5);
if (onTmpfs) {
  const tmpfs = quantile(targets[1]!.times, 0.5);
  console.log(`the disk's share (fsyncs): ${(disk - tmpfs).toFixed(2)} ms of ${disk.toFixed(2)} ms at p50`);
}
if (cyrus) {
  const ratios = [0.1, 0.5, 0.9].map((q) => quantile(targets[0]!.times, q) / quantile(cyrus.times, q));
  console.log(
    `serve (disk) / Cyrus at p50: ${ratios[1]!.toFixed(2)} (p10 ${ratios[0]!.toFixed(2)}, p90 ${ratios[2]!.toFixed(2)}) (target <= 0.25)`,
  );
}
for (const t of targets) t.agent.destroy();
await onDisk.stop();
await onTmpfs?.stop();
