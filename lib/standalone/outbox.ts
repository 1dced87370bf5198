/**
 * The standalone server's outbox: the embedded journal under `dataDir/outbox`, sending with the
 * server's signing key, taking in what `ischedule send --queue` spools. The server has no mail
 * of its own, so statuses and fallbacks are log lines for the operator.
 */
import path from 'node:path';
import type { CaldavGateway } from '../adapters/caldav/gateway.js';
import type { SigningKey } from '../dkim/sign.js';
import { BullmqOutbox } from '../outbox/bullmq-outbox.js';
import type { ReceiverRoute } from '../outbox/job.js';
import { type FallbackRequest, IScheduleOutbox, type Outbox, type StatusUpdate } from '../outbox/outbox.js';
import { ingestSpool } from '../outbox/spool.js';
import type { Logger } from '../receiver/options.js';
import { IScheduleClient, type IScheduleClientOptions } from '../sender/client.js';
import type { ServerConfig } from './config.js';

export function outboxDirectory(config: Pick<ServerConfig, 'dataDir'>): string {
  return path.join(config.dataDir, 'outbox');
}

/** The client the server sends with: its key, its name servers, its networks and overrides. */
export function serverClient(
  config: ServerConfig,
  signing: SigningKey,
  route?: { receiver: ReceiverRoute; domains: readonly string[] },
): IScheduleClient {
  const options: IScheduleClientOptions = {
    signing,
    ...(config.outbox?.queryMethods && { queryMethods: config.outbox.queryMethods }),
    ...(config.keys.dns && { dns: { servers: config.keys.dns.servers } }),
    ...(config.allowNetworks && { allowNetworks: config.allowNetworks }),
    ...(config.draft01Peers && { draft01Peers: config.draft01Peers }),
    overrides: {
      ...config.outbox?.overrides,
      ...(route && Object.fromEntries(route.domains.map((d) => [d, route.receiver.url]))),
    },
    ...(route?.receiver.ca && { tls: { ca: route.receiver.ca } }),
  };
  return new IScheduleClient(options);
}

/**
 * Opens the server's outbox (unless the config turns it off): BullMQ on the config's `redis`,
 * drained by every server that shares it, else the embedded journal; either takes in what
 * `ischedule send --queue` spools on this host.
 */
export async function startOutbox(
  config: ServerConfig,
  signing: SigningKey,
  logger: Logger,
  /**
   * The CalDAV gateway, when configured: started with the outbox (its users' changes queued),
   * told each status (written onto the event; a throw is retried), stopped before it.
   */
  gateway?: CaldavGateway,
): Promise<{ outbox: Outbox; close(): Promise<void> } | undefined> {
  if (config.outbox?.enabled === false) {
    if (gateway)
      logger.warn?.('CalDAV gateway: the outbox is off, so changes on the CalDAV server are not sent');
    return undefined;
  }
  const client = serverClient(config, signing);
  const routed = new Map<string, IScheduleClient>();
  const options = {
    client,
    logger,
    clientFor: (receiver: ReceiverRoute, domains: readonly string[]) => {
      const key = JSON.stringify([receiver, [...domains].sort()]);
      let made = routed.get(key);
      if (!made) {
        made = serverClient(config, signing, { receiver, domains });
        routed.set(key, made);
      }
      return made;
    },
    onStatus: (update: StatusUpdate) => {
      const { jobId, recipient, state, requestStatus, description } = update;
      logger.info?.(`outbox ${jobId}: ${recipient} ${state} (${requestStatus})`, {
        ...(description && { description }),
      });
      return gateway?.statusChanged(update);
    },
    onFallback: ({ jobId, recipient, reason }: FallbackRequest) =>
      logger.warn?.(
        `outbox ${jobId}: ${recipient} cannot be reached by iSchedule (${reason}); send it by email (iMIP)`,
      ),
    ...(config.outbox?.retry && { retry: config.outbox.retry }),
    ...(config.outbox?.concurrency && { concurrency: config.outbox.concurrency }),
    ...(config.outbox?.perDomainRate && { perDomainRate: config.outbox.perDomainRate }),
  };
  const outbox: Outbox = config.redis
    ? await BullmqOutbox.open({ ...options, redis: config.redis })
    : await IScheduleOutbox.open({
        ...options,
        directory: outboxDirectory(config),
        ...(config.outbox?.perDomainConcurrency && {
          perDomainConcurrency: config.outbox.perDomainConcurrency,
        }),
      });
  const spool = ingestSpool(outboxDirectory(config), outbox, logger);
  await spool.ready;
  gateway?.start(outbox);
  return {
    outbox,
    close: async () => {
      await gateway?.close();
      await spool.stop();
      await outbox.close();
      client.close();
      for (const made of routed.values()) made.close();
    },
  };
}
