// A Koa host, with the README's recipe.
import http from 'node:http';
import * as api from 'express-ischedule';
import Koa from 'koa';
import shared from './exchange.cjs';

const status = await shared.exchange(api, (options) => {
  const ischedule = api.createIScheduleHandler(options);
  const app = new Koa();
  app.use((ctx, next) => {
    let notOurs = false;
    ischedule(ctx.req, ctx.res, () => {
      notOurs = true;
    });
    if (notOurs) return next();
    ctx.respond = false; // the handler answers by itself
  });
  return shared.listen(http, app.callback());
});
console.log(`koa: ${status}`);
