// TypeScript 5 compiled to CommonJS, on Express 4 with its types, strict, skipLibCheck off.
import http from 'node:http';
import express from 'express';
import * as api from 'express-ischedule';
import type { RecipientResult } from 'express-ischedule/sender';
import { exchange, listen } from './exchange.cjs';

const report = (status: RecipientResult['requestStatus']) => console.log(`ts5-cjs: ${status}`);
exchange(api, (options) => {
  const app = express();
  app.use(api.createIScheduleRouter(options));
  return listen(http, app);
}).then(report);
