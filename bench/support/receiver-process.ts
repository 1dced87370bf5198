/**
 * One iSchedule receiver in its own process, built from the library at $LIB (a checkout's
 * root, built: this one, or a baseline worktree), on a no-op adapter and a private-exchange key.
 * Prints "PORT n" once listening, "CPU all main" for each "cpu" line on stdin; stops when stdin closes.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

const root = process.env.LIB ?? new URL('../..', import.meta.url).pathname;
// The built package, as hosts run it (tsx's keepNames adds work per request that dist/ has not).
const lib = await import(`${root}/dist/index.js`);
const privateKey = readFileSync(
  new URL('../../fixtures/keys/example.com-jupiter.rsa.pem', import.meta.url),
  'utf8',
);
const app = express();
app.use(
  lib.createIScheduleRouter({
    domains: ['example.org'],
    keys: lib.privateExchangeKeys({ 'jupiter._domainkey.example.com': lib.keyRecord(privateKey) }),
    // One load generator on one address: the per-peer limits would measure themselves.
    rateLimits: { perAddress: false, perDomain: false },
    adapter: {
      lookupUser: ({ address }: { address: string }) => address,
      deliverToInbox: () => undefined,
      getFreeBusy: () => [],
    },
  }),
);
const server = http.createServer(app);
server.listen(0, '127.0.0.1', () => console.log(`PORT ${(server.address() as AddressInfo).port}`));
// "cpu" on stdin: the process's CPU time so far (all threads) and its main thread's busy time,
// microseconds.
process.stdin.on('data', (data: Buffer) => {
  if (data.toString().includes('cpu')) {
    const { user, system } = process.cpuUsage();
    const busy = Math.round(performance.eventLoopUtilization().active * 1000);
    console.log(`CPU ${user + system} ${busy}`);
  }
});
process.stdin.on('end', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
process.stdin.resume();
