/** `ischedule serve`: the standalone server, on a config file or on the embedded sample. */
import cluster from 'node:cluster';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { OptionsError } from '../errors.js';
import { serverGateway } from '../standalone/caldav.js';
import { ConfigError, loadConfig, type ServerConfig } from '../standalone/config.js';
import { outboxDirectory, startOutbox } from '../standalone/outbox.js';
import { recordsToPublish } from '../standalone/records.js';
import { sampleSetup, VISITOR } from '../standalone/sample.js';
import { prepareServerFiles, type RunningServer, startServer } from '../standalone/server.js';
import { redisUrl } from '../validation.js';
import { checkFlag, integerFlag } from './common.js';
import { CommandError, type Output } from './output.js';
import { type ListeningMessage, superviseWorkers } from './workers.js';

export const serveHelp = `Usage: ischedule serve [--config FILE] [--port N] [--redis URL] [--workers N]

Runs an iSchedule server: the receiver on node:https, inboxes and calendars as .ics files, real
TLS. Without --config it runs the embedded sample: domain demo.example (alice, bob), data under
./.data, self-signed TLS on https://127.0.0.1:8443. Stops cleanly on SIGINT/SIGTERM.

  --config   a JSON config file (see the README's config reference)
  --port     listen on this port instead (0: any free port)
  --redis    redis://host:port/db: replay memory shared with every other process and host that
             receives for the same domains (the config's "redis")
  --workers  run N processes on the port (the config's "workers"; needs --redis): a worker that
             dies is replaced, and SIGTERM lets each finish its requests`;

const MAX_WORKERS = 64;

export async function serve(argv: string[], out: Output): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      redis: { type: 'string' },
      workers: { type: 'string' },
    },
  });
  const port = integerFlag('--port', values.port, 0, 65535);
  const redis = checkFlag('--redis', redisUrl, values.redis);

  let config: ServerConfig;
  let sample: ReturnType<typeof sampleSetup> | undefined;
  if (values.config) {
    try {
      config = loadConfig(values.config);
    } catch (error) {
      if (error instanceof ConfigError)
        throw new CommandError(`bad config ${values.config}: ${error.message}`);
      throw error;
    }
    if (port !== undefined) config = { ...config, listen: { ...config.listen, port } };
  } else {
    sample = sampleSetup(path.resolve('.data'), port ?? 8443);
    config = sample.config;
  }
  if (redis) config = { ...config, redis };
  const logger = {
    info: (message: string) => out.line(`[info] ${message}`),
    warn: (message: string, details?: Record<string, unknown>) =>
      out.error(`[warn] ${message} ${details ? JSON.stringify(details) : ''}`),
    error: (message: string, details?: Record<string, unknown>) =>
      out.error(`[error] ${message} ${details ? JSON.stringify(details) : ''}`),
  };
  const workers = integerFlag('--workers', values.workers, 1, MAX_WORKERS) ?? config.workers ?? 1;
  if (workers > 1 && cluster.isPrimary) {
    // Each worker would remember signatures for itself: a replay sent to another would pass.
    if (!config.redis)
      throw new CommandError(
        `--workers ${workers} needs a replay store shared by the workers: give "redis" in the config or --redis URL (a per-process store would accept on one worker a replay another has seen)`,
      );
    let outbox: Awaited<ReturnType<typeof startOutbox>>;
    try {
      const signing = prepareServerFiles(config, logger);
      // The outbox's journal takes one process: the primary runs it for all.
      // So does the CalDAV gateway's follower, beside it; the workers only receive.
      outbox = await startOutbox(config, signing, logger, config.caldav && serverGateway(config, logger));
    } catch (error) {
      throw startFailure(error, config);
    }
    try {
      return await superviseWorkers(workers, out);
    } finally {
      await outbox?.close();
    }
  }

  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, logger, { outbox: !cluster.isWorker });
  } catch (error) {
    throw startFailure(error, config);
  }
  const lines = banner(config, server, sample);
  // A worker reports to the primary, which prints one banner for all.
  if (cluster.isWorker) process.send?.({ type: 'ischedule-listening', lines } satisfies ListeningMessage);
  else for (const line of lines) out.line(line);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      out.line(`${signal}: finishing requests in flight, then stopping`);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  out.line('stopped');
  // A worker's channel to the primary would keep it alive: let go so that it exits.
  if (cluster.isWorker) process.disconnect?.();
}

/** What serve prints once listening: the URL, the DNS records to publish, how to try it. */
function banner(
  config: ServerConfig,
  server: RunningServer,
  sample: ReturnType<typeof sampleSetup> | undefined,
): string[] {
  const lines: string[] = [];
  lines.push(`iSchedule receiver listening: ${server.url}`);
  lines.push(`  domains: ${config.domains.join(', ')}; users: ${config.users.join(', ')}`);
  lines.push(`  inboxes: ${config.dataDir}/<address>/inbox/`);
  if (server.monitoringUrl)
    lines.push(`  monitoring: ${server.monitoringUrl}/metrics, /healthz, /healthz/ready`);
  if (config.outbox?.enabled !== false)
    lines.push(`  outbox: ${outboxDirectory(config)} (ischedule send --queue --config FILE ...)`);
  lines.push('');
  lines.push('DNS records to publish (zone file):');
  const host =
    config.listen.host === '127.0.0.1' || config.listen.host === '0.0.0.0'
      ? `cal.${config.domains[0]}`
      : config.listen.host;
  for (const line of recordsToPublish({
    domains: config.domains,
    host,
    port: server.port,
    path: new URL(server.url).pathname,
    signing: server.signing,
    draft01: (config.draft01Peers?.length ?? 0) > 0,
  })) {
    lines.push(`  ${line}`);
  }
  if (sample) {
    const ca = server.certificateFile ? ` --ca ${path.relative(process.cwd(), server.certificateFile)}` : '';
    lines.push('');
    lines.push('Try it (another terminal):');
    lines.push(
      `  npx ischedule send --server ${server.url}${ca} --key ${path.relative(process.cwd(), sample.visitorKeyFile)} ` +
        `--domain ${VISITOR.domain} --selector ${VISITOR.selector} --q private-exchange --from ${VISITOR.address} ` +
        `--to ${config.users[0]} ${path.relative(process.cwd(), sample.invitationFile)}`,
    );
  }
  return lines;
}

/** A failure to start, in the administrator's terms when it is theirs to fix. */
function startFailure(error: unknown, config: ServerConfig): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE' || (code === 'EACCES' && !(error as NodeJS.ErrnoException).path)) {
    return new CommandError(
      `cannot listen on ${config.listen.host}:${config.listen.port}: ${code} (choose another with --port)`,
    );
  }
  // Unreadable files and unusable keys named in the config: the administrator's to fix.
  if (
    error instanceof OptionsError ||
    error instanceof TypeError ||
    code === 'ENOENT' ||
    code === 'EACCES' ||
    code === 'EISDIR'
  ) {
    return new CommandError(`cannot start the server: ${(error as Error).message}`);
  }
  return error;
}
