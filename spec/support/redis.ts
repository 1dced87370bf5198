/**
 * A throw-away Debian redis-server on a loopback port, no persistence. Where it is not installed
 * the specs that need it skip and say why; CI installs it and sets ISCHEDULE_REQUIRE_REDIS=1, so
 * there a missing Redis is a failure, never a skip.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import net from 'node:net';

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** The redis-server process while it runs (benches read its CPU time). */
  readonly pid: number | undefined;
  /** Stops the server (a client sees it go away). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Runs redis-cli with these arguments against it. */
  cli(...args: string[]): string;
}

const REDIS = 'redis-server';

/** Why Redis specs cannot run here, or undefined when they can. */
export function redisUnavailable(): string | undefined {
  const found = spawnSync(REDIS, ['--version'], { encoding: 'utf8' });
  if (found.status === 0) return undefined;
  const why = `${REDIS} is not installed (apt-get install redis-server): the Redis specs are skipped here`;
  if (process.env.ISCHEDULE_REQUIRE_REDIS) throw new Error(`${why}, but ISCHEDULE_REQUIRE_REDIS is set`);
  return why;
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      REDIS,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
      child!.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child!.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}): ${output}`));
      });
    });
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    await killProcess(running);
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    start,
    stop,
    cli: (...args) =>
      spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim(),
  };
}

/** Kills a test daemon at once and resolves when it is gone. */
export async function killProcess(running: ChildProcess | undefined): Promise<void> {
  if (!running || running.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    running.once('exit', () => resolve());
    running.kill('SIGKILL');
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
