/**
 * A throw-away Radicale (Debian's `radicale`, a plain CalDAV server without scheduling) on a
 * loopback port: htpasswd users (password = user name), a `gateway` service account that may
 * read and write every collection, a calendar /<user>/calendar/ per user. Where Radicale is not
 * installed the specs that need it skip and say why; CI installs it and sets
 * ISCHEDULE_REQUIRE_RADICALE=1, so there a missing Radicale is a failure, never a skip.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, killProcess } from './redis.js';

const RADICALE = 'radicale';

export interface TestRadicale {
  readonly port: number;
  /** http://127.0.0.1:<port>/ */
  readonly url: string;
  /** A request as one of its users (`gateway` for the service account). */
  request(
    user: string,
    method: string,
    target: string,
    init?: { body?: string; headers?: Record<string, string> },
  ): Promise<Response>;
  /**
   * Makes Radicale forget what it remembers of a collection's past (its sync history): a server
   * whose history expired, which lists only what exists and cannot say what was removed.
   */
  forgetHistory(collection: string): void;
  /** Stops the server (connections are refused) and starts it again on the same port and data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its data. */
  close(): Promise<void>;
}

/** Why Radicale specs cannot run here, or undefined when they can. */
export function radicaleUnavailable(): string | undefined {
  const found = spawnSync(RADICALE, ['--version'], { encoding: 'utf8' });
  if (found.status === 0) return undefined;
  const why = `${RADICALE} is not installed (apt-get install radicale): the CalDAV gateway's live specs are skipped here`;
  if (process.env.ISCHEDULE_REQUIRE_RADICALE)
    throw new Error(`${why}, but ISCHEDULE_REQUIRE_RADICALE is set`);
  return why;
}

export async function startRadicale(users: readonly string[] = ['bob', 'carol']): Promise<TestRadicale> {
  const port = await freePort();
  const root = mkdtempSync(path.join(tmpdir(), 'radicale-'));
  writeFileSync(path.join(root, 'users'), [...users, 'gateway'].map((u) => `${u}:${u}\n`).join(''));
  writeFileSync(
    path.join(root, 'rights'),
    [
      '[gateway]',
      'user: gateway',
      'collection: .*',
      'permissions: RrWw',
      '[principal]',
      'user: .+',
      'collection: {user}',
      'permissions: RrWw',
      '[calendars]',
      'user: .+',
      'collection: {user}/[^/]+',
      'permissions: rw',
      '[root]',
      'user: .+',
      'collection:',
      'permissions: R',
      '',
    ].join('\n'),
  );
  const url = `http://127.0.0.1:${port}/`;
  let child: ChildProcess | undefined;
  const request: TestRadicale['request'] = (user, method, target, init = {}) =>
    fetch(new URL(target, url), {
      method,
      headers: {
        Authorization: `Basic ${Buffer.from(`${user}:${user}`).toString('base64')}`,
        ...init.headers,
      },
      ...(init.body !== undefined && { body: init.body }),
    });
  const start = async () => {
    child = spawn(
      RADICALE,
      [
        '--server-hosts',
        `127.0.0.1:${port}`,
        '--auth-type',
        'htpasswd',
        '--auth-htpasswd-filename',
        path.join(root, 'users'),
        '--auth-htpasswd-encryption',
        'plain',
        '--rights-type',
        'from_file',
        '--rights-file',
        path.join(root, 'rights'),
        '--storage-filesystem-folder',
        path.join(root, 'collections'),
        '--logging-level',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`radicale exited (${child.exitCode}): ${output}`);
      try {
        await fetch(url);
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`radicale did not start: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    await killProcess(running);
  };
  await start();
  for (const user of users) {
    const made = await request(user, 'MKCALENDAR', `/${user}/calendar/`);
    if (made.status !== 201) throw new Error(`MKCALENDAR /${user}/calendar/ answered ${made.status}`);
  }
  return {
    port,
    url,
    request,
    stop,
    start,
    forgetHistory: (collection) => {
      const cache = path.join(
        root,
        'collections',
        'collection-root',
        ...collection.split('/').filter(Boolean),
        '.Radicale.cache',
      );
      for (const part of ['history', 'sync-token'])
        rmSync(path.join(cache, part), { recursive: true, force: true });
    },
    close: async () => {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
