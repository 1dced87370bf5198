// A plain node:http host without Express installed.
const http = require('node:http');
const api = require('express-ischedule');
const { exchange, listen } = require('./exchange.cjs');

let express = 'absent';
try {
  require.resolve('express');
  express = 'installed';
} catch {}
if (express !== 'absent') throw new Error('this host must not have Express');
exchange(api, (options) => listen(http, api.createIScheduleHandler(options))).then((status) =>
  console.log(`node-http: ${status} (no Express)`),
);
