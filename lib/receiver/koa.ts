/**
 * The receiver in a Koa app (the framework of caldav-adapter), without depending on Koa: the
 * context is typed by the two fields used.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IScheduleHandler } from './handler.js';

/** The part of a Koa context the middleware uses. */
export interface KoaContextLike {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  respond?: boolean;
}

/**
 * Koa middleware answering the handler's paths; any other request goes on to `next`.
 *
 * ```ts
 * app.use(koaMiddleware(createIScheduleHandler({ domains: ['example.com'], adapter })));
 * ```
 */
export function koaMiddleware(
  handler: IScheduleHandler,
): (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<unknown> | undefined {
  return (ctx, next) => {
    // The handler calls `next` at once for a path it does not serve.
    let notOurs = false;
    handler(ctx.req, ctx.res, () => {
      notOurs = true;
    });
    if (notOurs) return next();
    // The handler answers by itself: Koa must not write a response of its own.
    ctx.respond = false;
    return undefined;
  };
}
