// TypeScript 7, an ES module project on Express 5 with its types, strict, skipLibCheck off.
import http from 'node:http';
import express from 'express';
import * as api from 'express-ischedule';
import { createIScheduleRouter, type IScheduleAdapter } from 'express-ischedule';
import { type VerifiedRequest, verifyRequest } from 'express-ischedule/dkim';
import { exchange, listen } from './exchange.cjs';

// The adapter contract in a host's own typed code: nothing returned means 2.0;Success.
const typed: IScheduleAdapter<{ id: string }> = {
  lookupUser: async ({ address }) => ({ id: address }),
  deliverToInbox: async ({ message }) => {
    await Promise.resolve(message.text.length);
  },
  getFreeBusy: () => [{ start: new Date(0), end: new Date(1), type: 'BUSY' }],
};
const verified: ((request: Parameters<typeof verifyRequest>[0]) => Promise<VerifiedRequest>) | undefined =
  verifyRequest;
if (!typed || !verified) throw new Error('unreachable');

const status = await exchange(api, (options) => {
  const app = express();
  app.use(createIScheduleRouter(options));
  return listen(http, app);
});
console.log(`ts7-esm: ${status}`);
