// A CommonJS Express 4 host.
const http = require('node:http');
const express = require('express');
const api = require('express-ischedule');
const { signRequest } = require('express-ischedule/dkim');
const { exchange, listen } = require('./exchange.cjs');

if (typeof signRequest !== 'function') throw new Error('express-ischedule/dkim did not load');
exchange(api, (options) => {
  const app = express();
  app.use(api.createIScheduleRouter(options));
  app.use(express.json());
  return listen(http, app);
}).then((status) =>
  console.log(`cjs-express4: ${status} (express ${require('express/package.json').version})`),
);
