/** Runs the `ischedule` command as a child process, as a user would. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { keyRecord } from './api.js';
import { keys } from './fixtures.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = path.join(root, 'lib', 'cli', 'main.ts');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function cli(args: string[], options: { cwd?: string; timeout?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', main, ...args],
      { cwd: options.cwd ?? root, timeout: options.timeout ?? 60_000, encoding: 'utf8' },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

export interface ServeProcess {
  readonly url: string;
  /** The serve process (the primary, with --workers). */
  readonly pid: number;
  readonly output: () => string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `ischedule serve ...` and resolves once it prints its URL. `command` runs another
 * build of it (the benches run `dist/cli/main.js`, as installed).
 */
export function serve(
  args: string[],
  options: { cwd?: string; command?: readonly string[] } = {},
): Promise<ServeProcess> {
  const command = options.command ?? ['--import', 'tsx', main];
  const child: ChildProcess = spawn(process.execPath, [...command, 'serve', ...args], {
    cwd: options.cwd ?? root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 30_000);
    const check = () => {
      const match = /listening: (\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off('data', check);
      resolve({
        url: match[1]!,
        pid: child.pid!,
        output: () => output,
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout?.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${output}`));
    });
  });
}

/**
 * A config for `ischedule serve` as the benches load it: example.org's receiver for
 * cyrus@example.org, trusting example.com's jupiter key, with the limits that would measure
 * themselves (one generator on one address, one inbox) taken off and no outbox.
 */
export function benchReceiverConfig(tls: 'self-signed' | false): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    tls,
    domains: ['example.org'],
    users: ['mailto:cyrus@example.org'],
    dataDir: 'data',
    signing: { domain: 'example.org', selector: 'bench' },
    keys: {
      methods: ['private-exchange'],
      privateExchange: { 'jupiter._domainkey.example.com': keyRecord(keys.jupiter.privateKey) },
    },
    rateLimits: { perAddress: false, perDomain: false },
    limits: { maxConcurrentPerDomain: 1000 },
    inboxQuota: { messages: 100_000_000, bytes: 1_000_000_000_000 },
    outbox: { enabled: false },
  };
}
