/**
 * A server standing for something inside our own network: HTTPS on loopback, counting every TCP
 * connection it accepts (a refused connection attempt never reaches it) and every request. It can
 * answer with text a peer must never read, or hold each request without answering (a tar-pit).
 */
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createSelfSignedCertificate } from '../../lib/tls/certificate.js';

export interface InternalServer {
  readonly port: number;
  /** The certificate, to trust it where a test needs the TLS handshake to succeed. */
  readonly ca: string;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Requests received so far (paths). */
  readonly requests: readonly string[];
  /** Connections open now. */
  readonly open: number;
  /** Each connection accepted: when it opened and (once it has) closed, ms since the epoch. */
  readonly log: ReadonlyArray<{ readonly openedAt: number; closedAt?: number }>;
  /** The most connections open at once. */
  readonly maxOpen: number;
  /** What to answer: a status and text body (after `delay` ms), or `hold` to never answer. */
  answer: { status: number; type: string; body: string; cacheControl?: string; delay?: number } | 'hold';
  close(): Promise<void>;
}

export async function startInternalServer(names: readonly string[] = []): Promise<InternalServer> {
  const { cert, key } = createSelfSignedCertificate({ altNames: [...names, 'localhost', '127.0.0.1'] });
  const sockets = new Set<Socket>();
  const state = {
    connections: 0,
    maxOpen: 0,
    requests: [] as string[],
    log: [] as Array<{ openedAt: number; closedAt?: number }>,
    answer: { status: 200, type: 'text/plain', body: '' } as InternalServer['answer'],
  };
  const server = https.createServer({ cert, key }, (req, res) => {
    state.requests.push(req.url ?? '');
    const answer = state.answer;
    if (answer === 'hold') return;
    setTimeout(() => {
      res.writeHead(answer.status, {
        'Content-Type': answer.type,
        ...(answer.cacheControl && { 'Cache-Control': answer.cacheControl }),
      });
      res.end(answer.body);
    }, answer.delay ?? 0);
  });
  server.on('connection', (socket: Socket) => {
    state.connections++;
    sockets.add(socket);
    state.maxOpen = Math.max(state.maxOpen, sockets.size);
    const entry: { openedAt: number; closedAt?: number } = { openedAt: Date.now() };
    state.log.push(entry);
    socket.on('close', () => {
      sockets.delete(socket);
      entry.closedAt = Date.now();
    });
  });
  // Failed handshakes (our certificate is not trusted by default) are expected here.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    ca: cert,
    get connections() {
      return state.connections;
    },
    get requests() {
      return state.requests;
    },
    get open() {
      return sockets.size;
    },
    get log() {
      return state.log;
    },
    get maxOpen() {
      return state.maxOpen;
    },
    get answer() {
      return state.answer;
    },
    set answer(value) {
      state.answer = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
