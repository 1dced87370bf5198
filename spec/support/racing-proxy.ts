/**
 * A loopback HTTP proxy in front of a real server that, just before forwarding the first PUT,
 * runs `meanwhile` (a user's own edit, say): the proxied client's conditional write then meets a
 * change it has not read, as it would when a user saves at the same moment.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RacingProxy {
  readonly url: string;
  /** Whether the race was run (the first PUT came). */
  readonly raced: boolean;
  close(): Promise<void>;
}

export async function racingProxy(target: string, meanwhile: () => Promise<void>): Promise<RacingProxy> {
  let raced = false;
  const proxy = http.createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', async () => {
      if (incoming.method === 'PUT' && !raced) {
        raced = true;
        await meanwhile();
      }
      const forward = http.request(
        new URL(incoming.url!, target),
        { method: incoming.method!, headers: incoming.headers },
        (answer) => {
          outgoing.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/`,
    get raced() {
      return raced;
    },
    close: () => new Promise((resolve) => proxy.close(() => resolve())),
  };
}
