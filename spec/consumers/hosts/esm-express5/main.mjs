// An ES module Express 5 host; the sub-path entries load on their own.
import http from 'node:http';
import express from 'express';
import * as api from 'express-ischedule';
import { signRequest, verifyRequest } from 'express-ischedule/dkim';
import { parseScheduleMessage } from 'express-ischedule/itip';
import { IScheduleClient } from 'express-ischedule/sender';
import { startServer } from 'express-ischedule/standalone';
import { parseCapabilities } from 'express-ischedule/xml';
import shared from './exchange.cjs';

for (const loaded of [
  signRequest,
  verifyRequest,
  parseScheduleMessage,
  IScheduleClient,
  startServer,
  parseCapabilities,
])
  if (typeof loaded !== 'function') throw new Error('a sub-path entry is missing an export');
const status = await shared.exchange(api, (options) => {
  const app = express();
  app.use(api.createIScheduleRouter(options));
  return shared.listen(http, app);
});
console.log(
  `esm-express5: ${status} (express ${(await import('express/package.json', { with: { type: 'json' } })).default.version})`,
);
