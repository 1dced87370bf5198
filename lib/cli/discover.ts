/** `ischedule discover`: a domain's receiver and its capabilities, in readable form. */
import { parseArgs } from 'node:util';
import { IScheduleClient } from '../sender/client.js';
import { domainName } from '../validation.js';
import { ALLOW_NETWORK_HELP, allowedNetworks, checkFlag, dnsServers, readText, table } from './common.js';
import { CommandError, type Output } from './output.js';

export const discoverHelp = `Usage: ischedule discover DOMAIN [--dns HOST:PORT] [--ca FILE] [--json]

Looks up DOMAIN's iSchedule receiver (SRV _ischedules._tcp, TXT path=) and prints its URL and
capabilities: versions, accepted components and methods, limits, administrator.

  --dns   use this name server (HOST:PORT), repeatable
  --ca    trust this CA certificate (PEM) too
${ALLOW_NETWORK_HELP}`;

export async function discover(argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dns: { type: 'string', multiple: true },
      'allow-network': { type: 'string', multiple: true },
      ca: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const domain = positionals[0];
  if (!domain) throw new CommandError('discover needs a DOMAIN');
  checkFlag('DOMAIN', domainName, domain);
  const dns = dnsServers(values.dns);
  const allowNetworks = allowedNetworks(values['allow-network']);
  const client = new IScheduleClient({
    ...(dns && { dns }),
    ...(allowNetworks && { allowNetworks }),
    ...(values.ca && { tls: { ca: readText(values.ca, 'CA certificate') } }),
  });
  try {
    let receiver: Awaited<ReturnType<IScheduleClient['discover']>>;
    try {
      receiver = await client.discover(domain);
    } catch (error) {
      throw new CommandError(`DNS lookup for ${domain} failed: ${(error as Error).message}`);
    }
    if (!receiver)
      throw new CommandError(
        `${domain} has no iSchedule receiver: no _ischedules._tcp.${domain} SRV record (or its target is ".")`,
      );
    let capabilities: Awaited<ReturnType<IScheduleClient['getCapabilities']>>;
    try {
      capabilities = await client.getCapabilities(receiver);
    } catch (error) {
      throw new CommandError(
        `${receiver.urls[0]?.href} did not serve its capabilities: ${(error as Error).message}`,
      );
    }
    const c = capabilities.capabilities;
    if (values.json) {
      out.json({
        domain,
        urls: receiver.urls.map((u) => u.href),
        postTo: capabilities.url.href,
        capabilities: c,
      });
      return;
    }
    const rows: string[][] = [
      ['receiver', receiver.urls.map((u) => u.href).join(', ')],
      ['posts go to', capabilities.url.href],
      ['serial', String(c.serialNumber ?? '-')],
      ['versions', c.versions.join(', ')],
      ...Object.entries(c.schedulingMessages).map(([component, methods]) => [
        component,
        methods.length ? methods.join(', ') : 'any METHOD',
      ]),
      ['data types', c.calendarDataTypes.map((t) => `${t.contentType} ${t.version}`).join(', ')],
      [
        'attachments',
        [c.attachments.inline && 'inline', c.attachments.external && 'external'].filter(Boolean).join(', ') ||
          'none',
      ],
      ['max-content-length', String(c.maxContentLength ?? 'no limit')],
      ['max-recipients', String(c.maxRecipients ?? 'no limit')],
      ['max-instances', String(c.maxInstances ?? 'no limit')],
      ['date range', `${c.minDateTime ?? '-'} .. ${c.maxDateTime ?? '-'}`],
      ['administrator', c.administrator ?? '-'],
    ];
    out.line(table(rows));
  } finally {
    client.close();
  }
}
