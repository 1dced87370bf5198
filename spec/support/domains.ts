/**
 * Several iSchedule domains on loopback: each an Express app with the receiver over HTTPS
 * (node-forge certificates), found through one dns2 server that answers their SRV, TXT path=
 * and DKIM TXT key records.
 */

import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { type ZoneRecord, ZoneServer } from '../../lib/dns/zone-server.js';
import { createSelfSignedCertificate } from '../../lib/tls/certificate.js';
import {
  createIScheduleRouter,
  DnsClient,
  dnsKeys,
  IScheduleClient,
  type IScheduleClientOptions,
  type IScheduleRouterOptions,
  keyRecord,
  type ScheduleMessage,
  type SigningKey,
} from './api.js';
import type { Delivered } from './receiver.js';

export const LOOPBACK = ['127.0.0.0/8', '::1'];

export interface DomainSpec {
  readonly domain: string;
  readonly key: SigningKey;
  readonly users: readonly string[];
  readonly path?: string;
  readonly router?: Partial<IScheduleRouterOptions<string>>;
  /** Routes added to the app before the receiver (e.g. a redirecting path). */
  readonly before?: (app: express.Express) => void;
  /** More host names of this receiver: in its certificate, with A records to 127.0.0.1. */
  readonly hosts?: readonly string[];
}

export interface RunningDomain {
  readonly domain: string;
  readonly host: string;
  readonly port: number;
  readonly cert: string;
  readonly delivered: Delivered[];
  readonly key: SigningKey;
}

export interface Domains {
  readonly zone: ZoneServer;
  readonly dnsServer: string;
  readonly domains: Record<string, RunningDomain>;
  readonly ca: string[];
  client(domain: string, options?: Partial<IScheduleClientOptions>): IScheduleClient;
  close(): Promise<void>;
}

export async function startDomains(specs: readonly DomainSpec[]): Promise<Domains> {
  const zone = new ZoneServer();
  const { server: dnsServer } = await zone.listen();
  const servers: https.Server[] = [];
  const clients: IScheduleClient[] = [];
  const domains: Record<string, RunningDomain> = {};
  const sharedDns = new DnsClient({ servers: [dnsServer] });
  for (const spec of specs) {
    const host = `cal.${spec.domain}`;
    const { cert, key } = createSelfSignedCertificate({ altNames: [host, ...(spec.hosts ?? [])] });
    const delivered: Delivered[] = [];
    const users = new Set(spec.users.map((u) => u.toLowerCase()));
    const app = express();
    spec.before?.(app);
    app.use(
      createIScheduleRouter<string>({
        domains: [spec.domain],
        signing: spec.key,
        keys: dnsKeys({ client: sharedDns }),
        adapter: {
          lookupUser: ({ address }) => (users.has(address.toLowerCase()) ? address.toLowerCase() : null),
          deliverToInbox: ({
            recipient,
            originator,
            message,
          }: {
            recipient: string;
            originator: string;
            message: ScheduleMessage;
          }) => {
            delivered.push({ recipient, originator, message });
          },
          getFreeBusy: ({ start }) => [
            { start: new Date(start.getTime() + 3_600_000), end: new Date(start.getTime() + 7_200_000) },
          ],
        },
        ...(spec.path && { path: spec.path }),
        ...spec.router,
      }),
    );
    const server = https.createServer({ cert, key }, app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const port = (server.address() as AddressInfo).port;
    domains[spec.domain] = { domain: spec.domain, host, port, cert, delivered, key: spec.key };
    const records: ZoneRecord[] = [
      {
        type: 'SRV',
        name: `_ischedules._tcp.${spec.domain}`,
        priority: 0,
        weight: 1,
        port,
        target: `${host}.`,
      },
      { type: 'A', name: host, address: '127.0.0.1' },
      ...(spec.hosts ?? []).map((name): ZoneRecord => ({ type: 'A', name, address: '127.0.0.1' })),
      {
        type: 'TXT',
        name: `${spec.key.selector}._domainkey.${spec.domain}`,
        text: keyRecord(spec.key.privateKey),
      },
    ];
    if (spec.path)
      records.push({ type: 'TXT', name: `_ischedules._tcp.${spec.domain}`, text: `path=${spec.path}` });
    zone.addRecords(...records);
  }
  const ca = Object.values(domains).map((d) => d.cert);
  return {
    zone,
    dnsServer,
    domains,
    ca,
    client(domain, options = {}) {
      const client = new IScheduleClient({
        signing: domains[domain]!.key,
        dns: { servers: [dnsServer] },
        tls: { ca },
        // Every test domain lives on loopback: allowed explicitly, as a private setup would.
        allowNetworks: LOOPBACK,
        ...options,
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) client.close();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      );
      await zone.close();
    },
  };
}
