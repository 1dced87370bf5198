// A Koa host, with the README's koaMiddleware.
import http from 'node:http';
import * as api from 'express-ischedule';
import Koa from 'koa';
import shared from './exchange.cjs';

const status = await shared.exchange(api, (options) => {
  const app = new Koa();
  app.use(api.koaMiddleware(api.createIScheduleHandler(options)));
  app.use((ctx) => {
    ctx.body = 'koa route';
  });
  return shared.listen(http, app.callback());
});
console.log(`koa: ${status}`);
