/**
 * The server side of the inbound benchmark, in its own process: the iSchedule router (on
 * /.well-known/ischedule), the same router counting rate limits, and a bare route on /bare that
 * reads the same body, each in an Express app and on a port of its own.
 * The router is the built package's (dist/), as hosts run it.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { builtPackage } from './built.js';

const { createIScheduleRouter, keyRecord, privateExchangeKeys } = await builtPackage();

const privateKey = process.env.BENCH_KEY ?? '';
const receiver = {
  domains: ['example.org'],
  keys: privateExchangeKeys({ 'jupiter._domainkey.example.com': keyRecord(privateKey) }),
  adapter: {
    lookupUser: ({ address }: { address: string }) => address,
    deliverToInbox: () => undefined,
    getFreeBusy: () => [],
  },
};
// Each side in an app of its own, as a host mounts it: no side's requests pass through another
// side's middleware first.
// One load generator on one address: the per-peer limits would measure themselves.
const routerApp = express().use(
  createIScheduleRouter({ ...receiver, rateLimits: { perAddress: false, perDomain: false } }),
);
// The same router with its per-peer rate limits counting, far above what one generator can
// send: what counting costs (the other bounds are always on).
const boundedApp = express().use(
  createIScheduleRouter({
    ...receiver,
    rateLimits: { perAddress: { points: 1e9, duration: 60 }, perDomain: { points: 1e9, duration: 60 } },
  }),
);
const bareApp = express().post('/bare', (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    res.type('application/xml').end(`<ok length="${body.length}"/>`);
  });
});
// HTTPS when the parent hands over a certificate (the sender benchmark), plain HTTP otherwise.
const tls = process.env.BENCH_TLS
  ? (JSON.parse(process.env.BENCH_TLS) as { cert: string; key: string })
  : undefined;
const servers = [routerApp, boundedApp, bareApp].map((app) =>
  tls ? https.createServer(tls, app) : http.createServer(app),
);
const ports = await Promise.all(
  servers.map(
    (server) =>
      new Promise<number>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
      ),
  ),
);
// `port` is the router's; the bounded router and the bare route listen on ports of their own.
process.send?.({ port: ports[0], bounded: ports[1], bare: ports[2] });
process.on('message', (message) => {
  // The parent asks for CPU time spent so far (all threads, and the main thread's busy
  // milliseconds), to tell whether the server was saturated and what a request costs it.
  if (message === 'cpu')
    process.send?.({ cpu: process.cpuUsage(), active: performance.eventLoopUtilization().active });
});
process.on('disconnect', () => {
  for (const server of servers) server.close();
  process.exit(0);
});
