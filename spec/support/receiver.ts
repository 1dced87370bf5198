/**
 * A host app with the iSchedule receiver on loopback (Express by default; plain node:http or Koa
 * on request), an in-memory adapter, and a signed POST helper.
 */

import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import { httpRequest } from '../../lib/http/request.js';
import {
  type BusyPeriod,
  createIScheduleHandler,
  createIScheduleRouter,
  type IScheduleAdapter,
  type IScheduleRouterOptions,
  type KeyResolver,
  koaMiddleware,
  parseError,
  parseScheduleResponse,
  type ScheduleMessage,
  type SigningKey,
  signRequest,
} from './api.js';
import { type Headers, keys, testKeyResolver } from './fixtures.js';

export interface Delivered {
  readonly recipient: string;
  readonly originator: string;
  readonly message: ScheduleMessage;
}

export interface TestReceiver {
  readonly url: string;
  readonly delivered: Delivered[];
  close(): Promise<void>;
}

export interface TestReceiverOptions {
  readonly users?: readonly string[];
  readonly busy?: Record<string, readonly BusyPeriod[]>;
  readonly adapter?: Partial<IScheduleAdapter<string>>;
  readonly router?: Partial<IScheduleRouterOptions<string>>;
  readonly keys?: KeyResolver;
  /** Extra setup on the host app before the router is mounted. */
  readonly before?: (app: express.Express) => void;
  /** Extra setup after. */
  readonly after?: (app: express.Express) => void;
  /** The host: an Express app (default), a bare node:http server, or a Koa app (README recipe). */
  readonly host?: 'express' | 'node' | 'koa';
}

const DRAFT01_BATTERY = process.env.ISCHEDULE_DRAFT01_PEERS?.split(',');
/**
 * Whether this run is the draft -01 battery: the profile then publishes `s=calendar:ischedule`
 * and answers `?query=capabilities`, by design; everything else must be as without it.
 */
export const draft01Battery = DRAFT01_BATTERY !== undefined;

export async function startReceiver(options: TestReceiverOptions = {}): Promise<TestReceiver> {
  const users = new Set((options.users ?? ['mailto:cyrus@example.org']).map((u) => u.toLowerCase()));
  const delivered: Delivered[] = [];
  const adapter: IScheduleAdapter<string> = {
    lookupUser: ({ address }) => (users.has(address.toLowerCase()) ? address.toLowerCase() : null),
    deliverToInbox: ({ recipient, originator, message }) => {
      delivered.push({ recipient, originator, message });
    },
    getFreeBusy: ({ user }) => options.busy?.[user] ?? [],
    ...options.adapter,
  };
  const receiverOptions: IScheduleRouterOptions<string> = {
    domains: ['example.org'],
    adapter,
    keys: options.keys ?? testKeyResolver(),
    signing: keys.venus,
    // `npm run test:draft01-battery`: every receiver spec again with the -01 profile on, which
    // must change nothing for the -05 requests they send.
    ...(DRAFT01_BATTERY && { draft01Peers: DRAFT01_BATTERY }),
    ...options.router,
  };
  const server = await listen(hostApp(options, receiverOptions));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    delivered,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function hostApp(
  options: TestReceiverOptions,
  receiverOptions: IScheduleRouterOptions<string>,
): http.RequestListener {
  if (options.host === 'node') return createIScheduleHandler(receiverOptions);
  if (options.host === 'koa') {
    const app = new Koa();
    app.use(koaMiddleware(createIScheduleHandler(receiverOptions)));
    app.use((ctx) => {
      ctx.body = 'koa route';
    });
    return app.callback();
  }
  const app = express();
  options.before?.(app);
  app.use(createIScheduleRouter<string>(receiverOptions));
  options.after?.(app);
  return app;
}

async function listen(app: http.RequestListener): Promise<Server> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

export interface PostOptions {
  readonly path?: string;
  readonly headers: Headers;
  readonly body: Buffer | string;
  /** Sign with this key (default jupiter, d=example.com); `false` sends no signature. */
  readonly key?: SigningKey | false;
  readonly sign?: Partial<Parameters<typeof signRequest>[0]>;
  /** Sends this body instead of the one signed (tampering). */
  readonly sendBody?: Buffer | string;
  /** Changes the headers after signing (tampering). */
  readonly tamper?: (headers: Headers) => Headers;
}

export interface PostResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  readonly error?: { code: string; description?: string };
  readonly responses?: ReturnType<typeof parseScheduleResponse>;
}

export async function post(receiver: TestReceiver, options: PostOptions): Promise<PostResult> {
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  let headers: Headers = [...options.headers];
  if (options.key !== false) {
    const signature = signRequest({ headers, body, key: options.key ?? keys.jupiter, ...options.sign });
    headers.push(['DKIM-Signature', signature]);
  }
  if (options.tamper) headers = options.tamper(headers);
  const sent = options.sendBody === undefined ? body : Buffer.from(options.sendBody);
  const response = await httpRequest({
    url: new URL(options.path ?? '/.well-known/ischedule', receiver.url),
    method: 'POST',
    headers,
    body: sent,
    timeout: 10_000,
    maxBytes: 1 << 20,
  });
  return describeResponse(response);
}

export function describeResponse(response: {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}): PostResult {
  const text = response.body.toString('utf8');
  const result: PostResult = { status: response.status, headers: response.headers, text };
  if (/<([A-Za-z]+:)?error[\s>]/.test(text) && !/schedule-response/.test(text))
    return { ...result, error: parseError(text) };
  if (/schedule-response/.test(text)) return { ...result, responses: parseScheduleResponse(text) };
  return result;
}
