/**
 * Outbound throughput: IScheduleClient.send() of a REQUEST to a loopback HTTPS receiver found
 * through DNS (SRV, TXT path=), in steady state, beside a bare signed POST over a reused
 * keep-alive agent to the same receiver. Prints sends/s, DNS queries and capability GETs per send
 * (steady state: zero of both) and the ratio. Run: npm run bench:sender
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { ZoneServer } from '../lib/dns/zone-server.js';
import { httpRequest } from '../lib/http/request.js';
import { createSelfSignedCertificate } from '../lib/tls/certificate.js';
import { IScheduleClient } from '../spec/support/api.js';
import { signedHeaders } from './support/signed-request.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = 8;
const privateKey = readFileSync(
  new URL('../fixtures/keys/example.com-jupiter.rsa.pem', import.meta.url),
  'utf8',
);
const calendar = readFileSync(new URL('../fixtures/draft/a1-request.ics', import.meta.url), 'utf8');
const key = { domain: 'example.com', selector: 'jupiter', privateKey };

const certificate = createSelfSignedCertificate({ altNames: ['cal.example.org'] });
const server = fork(new URL('./support/inbound-server.ts', import.meta.url), {
  execArgv: ['--import', 'tsx'],
  env: { ...process.env, BENCH_KEY: privateKey, BENCH_TLS: JSON.stringify(certificate) },
});
const port: number = await new Promise((resolve) =>
  server.once('message', (m: { port: number }) => resolve(m.port)),
);
const zone = new ZoneServer([
  {
    type: 'SRV',
    name: '_ischedules._tcp.example.org',
    priority: 0,
    weight: 0,
    port,
    target: 'cal.example.org',
  },
  { type: 'TXT', name: '_ischedules._tcp.example.org', text: 'path=/.well-known/ischedule' },
  { type: 'A', name: 'cal.example.org', address: '127.0.0.1' },
]);
const { server: dnsServer } = await zone.listen();

async function rate(name: string, op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 100; i++) await op();
  let done = 0;
  const end = Date.now() + SECONDS * 1000;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        await op();
        done++;
      }
    }),
  );
  const perSecond = done / (Number(process.hrtime.bigint() - start) / 1e9);
  console.log(`${name.padEnd(34)} ${perSecond.toFixed(0).padStart(6)} /s`);
  return perSecond;
}

// The baseline: sign and POST the same request over one keep-alive agent, no discovery, no checks.
const agent = new https.Agent({ keepAlive: true, ca: certificate.cert, servername: 'cal.example.org' });
const url = new URL(`https://127.0.0.1:${port}/.well-known/ischedule`);
const bare = await rate('bare signed POST (reused agent)', async () => {
  const headers = signedHeaders({
    recipient: 'mailto:cyrus@example.org',
    body: calendar,
    key,
    host: `cal.example.org:${port}`,
  });
  const response = await httpRequest({
    url,
    method: 'POST',
    headers,
    body: Buffer.from(calendar),
    timeout: 5000,
    maxBytes: 1 << 20,
    agent,
  });
  if (response.status !== 200) throw new Error(`bare POST: HTTP ${response.status}`);
});

const client = new IScheduleClient({
  signing: key,
  queryMethods: ['private-exchange'],
  dns: { servers: [dnsServer] },
  tls: { ca: certificate.cert },
  // The bench's receiver is on loopback, which a client refuses unless allowed.
  allowNetworks: ['127.0.0.0/8'],
});
const send = async () => {
  const [result] = await client.send({
    originator: 'mailto:bernard@example.com',
    recipients: ['mailto:cyrus@example.org'],
    calendar,
  });
  if (result?.outcome !== 'delivered')
    throw new Error(`send: ${result?.requestStatus} ${result?.description}`);
};
await send();
const warm = client.stats;
const sends = await rate('IScheduleClient.send()', send);
const after = client.stats;
const count = Math.max(1, after.httpRequests - warm.httpRequests);
console.log(
  `per send: ${((after.dnsQueries - warm.dnsQueries) / count).toFixed(3)} DNS queries, ${((after.capabilityFetches - warm.capabilityFetches) / count).toFixed(3)} capability GETs`,
);
console.log(`ratio ${(sends / bare).toFixed(2)} of the bare signed POST`);

client.close();
agent.destroy();
await zone.close();
server.disconnect();
