/**
 * The consumer matrix: packs the package as npm would publish it, installs the tarball into a
 * fresh project per kind of host (ESM and CommonJS, TypeScript 5 and 7, Express 4 and 5, plain
 * node:http, Koa), compiles the typed ones (nodenext and bundler resolution, and node10 for
 * TypeScript 5 to CommonJS; strict, skipLibCheck off, with the README's examples) and runs one
 * signed exchange in each.
 *
 *   npm run test:consumers            every host
 *   npm run test:consumers -- koa     only the hosts named
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = import.meta.dirname;
const repo = path.resolve(here, '..', '..');
const devVersion = (name: string) =>
  (
    JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    }
  ).devDependencies[name]!;

interface Host {
  readonly name: string;
  readonly type: 'module' | 'commonjs';
  readonly dependencies: Readonly<Record<string, string>>;
  /** Compile steps (TypeScript hosts), each also compiling the README's examples. */
  readonly build?: readonly (readonly string[])[];
  readonly main: string;
}

const typescript = (version: string, ...more: string[]) => [
  ['npx', '--no-install', 'tsc', '-p', 'tsconfig.json'],
  ['npx', '--no-install', 'tsc', '-p', 'tsconfig.bundler.json'],
  ...more.map((config) => ['npx', '--no-install', 'tsc', '-p', config]),
  ['npx', '--no-install', 'tsc', '--version', `# ${version}`],
];

const HOSTS: readonly Host[] = [
  { name: 'esm-express5', type: 'module', dependencies: { express: '^5.1.0' }, main: 'main.mjs' },
  { name: 'cjs-express4', type: 'commonjs', dependencies: { express: '^4.21.2' }, main: 'main.cjs' },
  { name: 'node-http', type: 'commonjs', dependencies: {}, main: 'main.cjs' },
  { name: 'koa', type: 'module', dependencies: { koa: devVersion('koa') }, main: 'main.mjs' },
  {
    name: 'ts5-cjs',
    type: 'commonjs',
    dependencies: {
      express: '^4.21.2',
      '@types/express': '^4.17.23',
      '@types/node': devVersion('@types/node'),
      koa: devVersion('koa'),
      '@types/koa': devVersion('@types/koa'),
      typescript: '~5.9.3',
    },
    // TypeScript before 5.8 cannot type a require() of ES modules under nodenext: node10 it is.
    build: typescript('5.9', 'tsconfig.node10.json'),
    main: 'main.js',
  },
  {
    name: 'ts7-esm',
    type: 'module',
    dependencies: {
      express: '^5.1.0',
      '@types/express': devVersion('@types/express'),
      '@types/node': devVersion('@types/node'),
      typescript: devVersion('typescript'),
    },
    build: typescript('7'),
    main: 'main.js',
  },
];

/** The README's TypeScript examples, each a module of its own. */
function readmeExamples(): string[] {
  const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** The packages an example imports, besides node: built-ins and this package. */
function importsOf(code: string): string[] {
  return [...code.matchAll(/from '([^'.][^']*)'/g)]
    .map((m) => m[1]!)
    .filter((name) => !name.startsWith('node:') && !name.startsWith('express-ischedule'));
}

async function pack(into: string): Promise<string> {
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', into], { cwd: repo });
  return path.join(into, stdout.trim().split('\n').pop()!);
}

async function prepare(host: Host, root: string, tarball: string): Promise<string> {
  const dir = path.join(root, host.name);
  mkdirSync(dir);
  for (const source of [path.join(here, 'hosts', host.name), path.join(here, 'hosts', 'shared')]) {
    for (const file of readdirSync(source)) {
      if (file === 'readme-prelude.d.ts' && !host.build) continue;
      copyFileSync(path.join(source, file), path.join(dir, file));
    }
  }
  if (host.build) {
    // An example for a framework the host does not install is compiled by the hosts that do (Koa's
    // types do not compile against Express 5's content-disposition with skipLibCheck off).
    for (const [i, code] of readmeExamples().entries()) {
      if (importsOf(code).every((name) => name in host.dependencies))
        writeFileSync(path.join(dir, `readme-${i + 1}.mts`), code);
    }
  }
  const manifest = {
    name: `consumer-${host.name}`,
    private: true,
    type: host.type,
    dependencies: { 'express-ischedule': `file:${tarball}`, ...host.dependencies },
  };
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return dir;
}

async function check(host: Host, root: string, tarball: string): Promise<{ ok: boolean; text: string }> {
  const started = Date.now();
  const log: string[] = [];
  try {
    const dir = await prepare(host, root, tarball);
    const steps = [
      ['npm', 'install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock'],
      ...(host.build ?? []),
      ['node', host.main],
    ];
    let last = '';
    for (const [command, ...args] of steps) {
      const shown = [command, ...args].join(' ');
      const visible = args.filter((a) => !a.startsWith('# '));
      const { stdout, stderr } = await run(command!, visible, { cwd: dir, timeout: 300_000 });
      log.push(`$ ${shown}`, stdout, stderr);
      last = stdout.trim();
    }
    return { ok: true, text: `ok    ${host.name.padEnd(13)} ${last} [${Date.now() - started} ms]` };
  } catch (error) {
    const {
      stdout = '',
      stderr = '',
      message,
    } = error as { stdout?: string; stderr?: string; message: string };
    return {
      ok: false,
      text: `FAIL  ${host.name}\n${[...log, stdout, stderr || message].filter(Boolean).join('\n')}`,
    };
  }
}

async function main(names: readonly string[]): Promise<number> {
  const hosts = names.length ? HOSTS.filter((h) => names.includes(h.name)) : HOSTS;
  if (hosts.length === 0) {
    console.error(`no such host; the hosts are ${HOSTS.map((h) => h.name).join(', ')}`);
    return 2;
  }
  const root = mkdtempSync(path.join(tmpdir(), 'ischedule-consumers-'));
  try {
    const tarball = await pack(root);
    console.log(`packed ${path.basename(tarball)}; ${hosts.length} hosts`);
    const results: { ok: boolean; text: string }[] = [];
    // Three at a time: installs share npm's cache, and the machine has few cores.
    const queue = [...hosts];
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        for (let host = queue.shift(); host; host = queue.shift()) {
          const result = await check(host, root, tarball);
          console.log(result.text);
          results.push(result);
        }
      }),
    );
    return results.every((r) => r.ok) ? 0 : 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
