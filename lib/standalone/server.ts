/**
 * A standalone iSchedule server built only from the package's public pieces: a node:http(s)
 * server with the receiver's handler, filesystem adapters, real TLS (self-signed, or given), keys looked up as configured.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { CaldavGateway } from '../adapters/caldav/gateway.js';
import { generateSigningKey } from '../dkim/publish-key.js';
import {
  chainKeys,
  dnsKeys,
  type KeyResolver,
  keyDnsClient,
  privateExchangeKeys,
  wellKnownKeys,
} from '../dkim/resolvers.js';
import type { SigningKey } from '../dkim/sign.js';
import { IScheduleMetrics } from '../metrics.js';
import type { Outbox } from '../outbox/outbox.js';
import { createIScheduleHandler } from '../receiver/handler.js';
import type { IScheduleAdapter, Logger } from '../receiver/options.js';
import { RedisReplayStore } from '../stores/redis-replay-store.js';
import { createSelfSignedCertificate } from '../tls/certificate.js';
import { serverCaldavAdapter, serverGateway } from './caldav.js';
import { HTTP_DEFAULTS, type ServerConfig } from './config.js';
import { filesystemAdapter } from './filesystem-adapter.js';
import { type Monitoring, startMonitoring } from './monitoring.js';
import { startOutbox } from './outbox.js';

/** A started standalone server. */
export interface RunningServer {
  /** The receiver URL, e.g. https://127.0.0.1:8443/.well-known/ischedule. */
  readonly url: string;
  readonly port: number;
  /** The PEM certificate served (self-signed ones are a trust anchor for clients). */
  readonly certificate?: string;
  readonly certificateFile?: string;
  readonly signing: SigningKey;
  /** Where /metrics and /healthz answer, when `monitoring` is configured. */
  readonly monitoringUrl?: string;
  /** The outbox this process runs (see `config.outbox` and StartOptions.outbox). */
  readonly outbox?: Outbox;
  /** The CalDAV gateway, when `config.caldav` is set. */
  readonly caldav?: CaldavGateway;
  /** Stops accepting connections and resolves once requests in flight are answered. */
  close(): Promise<void>;
}

/**
 * Starts the standalone server for a checked config (see loadConfig): node:https (or http), the
 * receiver, the filesystem adapter, a signing key made when missing.
 */
export interface StartOptions {
  /**
   * Run the outbox in this process (default true, unless `config.outbox.enabled` is false).
   * `serve --workers` runs it once, in the primary, since its journal takes one process.
   */
  readonly outbox?: boolean;
}

export async function startServer(
  config: ServerConfig,
  logger: Logger = {},
  { outbox: runOutbox = true }: StartOptions = {},
): Promise<RunningServer> {
  const signing = prepareServerFiles(config, logger);
  // Shared replay memory when several processes or hosts receive; else this process's own.
  const replayStore = config.redis ? new RedisReplayStore({ url: config.redis, logger }) : undefined;
  const metrics = config.monitoring ? new IScheduleMetrics() : undefined;
  // The CalDAV gateway follows calendars where the outbox runs; elsewhere it only receives.
  const gateway = config.caldav && runOutbox ? serverGateway(config, logger) : undefined;
  const caldavOnly = config.caldav && !runOutbox ? serverCaldavAdapter(config, logger) : undefined;
  // Any other path gets the handler's short plain 404: no stack, no file paths.
  const receiver = createIScheduleHandler({
    domains: config.domains,
    adapter:
      (gateway?.adapter as IScheduleAdapter | undefined) ??
      (caldavOnly as IScheduleAdapter | undefined) ??
      filesystemAdapter({
        dataDir: config.dataDir,
        users: config.users,
        logger,
        ...(config.inboxQuota && { inboxQuota: config.inboxQuota }),
      }),
    signing,
    keys: keyResolver(config),
    logger,
    ...(config.capabilities && { capabilities: config.capabilities }),
    ...(config.policy && { policy: config.policy }),
    ...(config.limits && { limits: config.limits }),
    ...(config.path && { path: config.path }),
    ...(config.extraPaths && { extraPaths: config.extraPaths }),
    ...(config.draft01Peers && { draft01Peers: config.draft01Peers }),
    ...(replayStore && { replayStore }),
    ...(metrics && { metrics }),
    rateLimits: { ...config.rateLimits, ...(replayStore && { redis: replayStore.client }) },
  });
  const limits = { ...HTTP_DEFAULTS, ...config.http };
  const serverOptions = {
    headersTimeout: limits.headersTimeout,
    requestTimeout: limits.requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    // Timeouts are enforced when connections are checked: often enough to be on time.
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeout),
  };
  let certificate: string | undefined;
  let certificateFile: string | undefined;
  let server: http.Server;
  if (config.tls === false) {
    server = http.createServer(serverOptions, receiver);
  } else {
    const tls =
      config.tls === 'self-signed'
        ? selfSigned(config, logger)
        : { cert: config.tls.cert, key: config.tls.key };
    certificateFile = tls.cert;
    certificate = readFileSync(tls.cert, 'utf8');
    server = https.createServer(
      {
        ...serverOptions,
        cert: certificate,
        key: readFileSync(tls.key),
        handshakeTimeout: limits.tlsHandshakeTimeout,
      },
      receiver,
    );
  }
  // headersTimeout also closes a connection that never sends a byte (408), the TLS handshake
  // timeout one that never finishes its handshake.
  server.maxConnections = limits.maxConnections;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => resolve());
    });
  } catch (error) {
    await replayStore?.close();
    throw error;
  }
  let monitoring: Monitoring | undefined;
  if (config.monitoring && metrics) {
    try {
      monitoring = await startMonitoring(config.monitoring, metrics, replayStore);
    } catch (error) {
      server.close();
      await replayStore?.close();
      throw error;
    }
  }

  let outbox: Awaited<ReturnType<typeof startOutbox>>;
  try {
    outbox = runOutbox ? await startOutbox(config, signing, logger, gateway) : undefined;
  } catch (error) {
    server.close();
    await monitoring?.close();
    await replayStore?.close();
    await gateway?.close();
    throw error;
  }

  const { port } = server.address() as AddressInfo;
  const scheme = config.tls === false ? 'http' : 'https';
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  return {
    url: `${scheme}://${host}:${port}${config.path ?? '/.well-known/ischedule'}`,
    port,
    signing,
    ...(certificate && { certificate }),
    ...(certificateFile && { certificateFile }),
    ...(monitoring && { monitoringUrl: monitoring.url }),
    ...(outbox && { outbox: outbox.outbox }),
    ...(gateway && { caldav: gateway }),
    close: async () => {
      await outbox?.close();
      await gateway?.close();
      await monitoring?.close();
      await new Promise<void>((resolve) => {
        // Idle keep-alive connections go now; busy ones close after their response.
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await replayStore?.close();
    },
  };
}

/**
 * Makes what the server needs on disk and is missing (the data folder, the signing key, a
 * self-signed certificate); returns the signing key. `serve --workers` runs it once before the
 * workers start, so that they do not each make a different key.
 */
export function prepareServerFiles(config: ServerConfig, logger: Logger = {}): SigningKey {
  mkdirSync(config.dataDir, { recursive: true });
  if (config.tls === 'self-signed') selfSigned(config, logger);
  return loadOrCreateSigningKey(config, logger);
}

function loadOrCreateSigningKey(config: ServerConfig, logger: Logger): SigningKey {
  const file = config.signing.privateKeyFile;
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, generateSigningKey().privateKey, { mode: 0o600 });
    logger.info?.(`generated a signing key: ${file}`);
  }
  return {
    domain: config.signing.domain,
    selector: config.signing.selector,
    privateKey: readFileSync(file, 'utf8'),
  };
}

function selfSigned(config: ServerConfig, logger: Logger): { cert: string; key: string } {
  const dir = path.join(config.dataDir, 'tls');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  if (!existsSync(cert) || !existsSync(key)) {
    mkdirSync(dir, { recursive: true });
    const names = [
      ...config.domains.map((d) => `cal.${d}`),
      ...config.domains,
      config.listen.host,
      'localhost',
      '127.0.0.1',
    ];
    // The subject names the server's own domain: trust stores match self-signed anchors by subject.
    const made = createSelfSignedCertificate({
      commonName: `cal.${config.domains[0]}`,
      altNames: [...new Set(names)].filter((n) => n !== '0.0.0.0' && n !== '::'),
    });
    writeFileSync(key, made.key, { mode: 0o600 });
    writeFileSync(cert, made.cert);
    logger.info?.(`made a self-signed TLS certificate: ${cert}`);
  }
  return { cert, key };
}

function keyResolver(config: ServerConfig): KeyResolver {
  const dns = keyDnsClient(config.keys.dns ? { servers: config.keys.dns.servers } : {});
  const resolvers: KeyResolver[] = [];
  for (const method of config.keys.methods) {
    if (method === 'dns/txt') resolvers.push(dnsKeys({ client: dns }));
    if (method === 'http/well-known')
      resolvers.push(
        wellKnownKeys({ dns, ...(config.allowNetworks && { allowNetworks: config.allowNetworks }) }),
      );
    if (method === 'private-exchange') resolvers.push(privateExchangeKeys(config.keys.privateExchange));
  }
  return chainKeys(...resolvers);
}
