/**
 * The standalone server's monitoring listener, apart from the receiver (plain HTTP, on loopback
 * unless configured otherwise): /metrics for Prometheus, /healthz (alive) and /healthz/ready
 * (able to serve: Redis answers when it is used).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IScheduleMetrics } from '../metrics.js';
import type { RedisReplayStore } from '../stores/redis-replay-store.js';

export interface Monitoring {
  readonly url: string;
  close(): Promise<void>;
}

export async function startMonitoring(
  where: { readonly host: string; readonly port: number },
  metrics: IScheduleMetrics,
  redis: RedisReplayStore | undefined,
): Promise<Monitoring> {
  const server = http.createServer((req, res) => {
    const answer = (status: number, text: string, type = 'text/plain; charset=utf-8') => {
      res.statusCode = status;
      res.setHeader('Content-Type', type);
      res.setHeader('Cache-Control', 'no-store');
      res.end(text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, 'use GET\n');
    switch (req.url?.split('?')[0]) {
      case '/metrics':
        metrics.registry.metrics().then(
          (text) => answer(200, text, metrics.registry.contentType),
          () => answer(500, 'metrics unavailable\n'),
        );
        return;
      case '/healthz':
        return answer(200, 'ok\n');
      case '/healthz/ready':
        if (!redis) return answer(200, 'ready\n');
        redis.client.call('PING').then(
          () => answer(200, 'ready\n'),
          () => answer(503, 'not ready: Redis does not answer\n'),
        );
        return;
      default:
        return answer(404, 'not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(where.port, where.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = where.host.includes(':') ? `[${where.host}]` : where.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
