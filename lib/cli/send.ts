/** `ischedule send`: sign and send an iTIP message through IScheduleClient. */
import { parseArgs } from 'node:util';
import { queryMethod } from '../dkim/schema.js';
import type { QueryMethod } from '../dkim/signature.js';
import { IScheduleError } from '../errors.js';
import { addressDomain } from '../itip/address.js';
import { IScheduleClient } from '../sender/client.js';
import { calendarAddress, qualifiedDomain, selector, url } from '../validation.js';
import {
  ALLOW_NETWORK_HELP,
  allowedNetworks,
  checkFlag,
  dnsServers,
  readText,
  requireValue,
  table,
} from './common.js';
import { queueMessage } from './outbox.js';
import { CommandError, type Output } from './output.js';

export const sendHelp = `Usage: ischedule send --from ADDR --to ADDR [--to ADDR...] --key FILE --domain D --selector S
                      [--server URL] [--ca FILE] [--dns HOST:PORT] [--q METHODS] [--draft01] [--json] FILE.ics
       ischedule send --queue --config FILE --from ADDR --to ADDR [--to ADDR...]
                      [--server URL] [--ca FILE] FILE.ics

Signs the iTIP message in FILE.ics with the key and sends it to each recipient's iSchedule
receiver (found through DNS, or --server for all of them). Prints each recipient's status.
Exits 0 when every recipient got it, 1 otherwise.

With --queue, hands the message to the outbox of the server that --config describes (its
signing key and domain; --server and --ca are kept with the job) and prints the job id at once,
whether or not that server runs: \`ischedule serve\` delivers it, retrying until each recipient
answers, and \`ischedule outbox\` shows how it stands.

  --from       the Originator (ORGANIZER for REQUEST/CANCEL, the replying ATTENDEE for REPLY)
  --to         a Recipient (repeat for several)
  --key        the PEM private key to sign with; --domain and --selector name its DNS record
  --server     send to this receiver URL instead of discovering one
  --ca         trust this CA certificate (PEM) too, e.g. a self-signed receiver's
  --dns        use this name server (HOST:PORT), repeatable
  --q          key query methods to announce (q=), e.g. private-exchange:dns/txt
  --draft01    speak the old draft -01 to a receiver that turns out to speak only that
               (DAViCal, EGroupware): asked ?query=capabilities after a 404, signed c=simple-http
${ALLOW_NETWORK_HELP}
  --json       print the results as JSON`;

export async function send(argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      from: { type: 'string' },
      to: { type: 'string', multiple: true },
      key: { type: 'string' },
      domain: { type: 'string' },
      selector: { type: 'string' },
      server: { type: 'string' },
      ca: { type: 'string' },
      dns: { type: 'string', multiple: true },
      'allow-network': { type: 'string', multiple: true },
      q: { type: 'string' },
      json: { type: 'boolean', default: false },
      draft01: { type: 'boolean', default: false },
      queue: { type: 'boolean', default: false },
      config: { type: 'string' },
    },
  });
  const file = positionals[0];
  if (!file) throw new CommandError('send needs the FILE.ics to send');
  const from = checkFlag('--from', calendarAddress, requireValue(values.from, '--from'));
  const to = values.to ?? [];
  if (to.length === 0) throw new CommandError('--to is required');
  for (const recipient of to) checkFlag('--to', calendarAddress, recipient);
  checkFlag('--server', url('an http:// or https:// URL'), values.server);
  if (values.queue) {
    if (values.draft01)
      throw new CommandError(
        "--draft01 goes without --queue; for the outbox, list the domain in the config's draft01Peers",
      );
    const message = {
      originator: from,
      recipients: to,
      calendar: readText(file, 'iCalendar file'),
      ...(values.server && {
        receiver: { url: values.server, ...(values.ca && { ca: readText(values.ca, 'CA certificate') }) },
      }),
    };
    const id = await queueMessage(requireValue(values.config, '--config (with --queue)'), message);
    if (values.json) out.json({ id });
    else out.line(id);
    return;
  }
  if (values.config) throw new CommandError('--config goes with --queue');
  const queryMethods = values.q?.split(':') as QueryMethod[] | undefined;
  for (const method of queryMethods ?? []) checkFlag('--q', queryMethod, method);
  const key = {
    domain: checkFlag('--domain', qualifiedDomain, requireValue(values.domain, '--domain')),
    selector: checkFlag('--selector', selector, requireValue(values.selector, '--selector')),
    privateKey: readText(requireValue(values.key, '--key'), 'key'),
  };
  const overrides: Record<string, string> = {};
  if (values.server) for (const r of to) overrides[addressDomain(r) ?? ''] = values.server;
  let client: IScheduleClient;
  try {
    const dns = dnsServers(values.dns);
    const allowNetworks = allowedNetworks(values['allow-network']);
    client = new IScheduleClient({
      signing: key,
      overrides,
      ...(allowNetworks && { allowNetworks }),
      ...(queryMethods && { queryMethods }),
      ...(dns && { dns }),
      ...(values.draft01 && {
        draft01Peers: [...new Set(to.map((r) => addressDomain(r)).filter((d) => d !== undefined))],
      }),
      ...(values.ca && { tls: { ca: readText(values.ca, 'CA certificate') } }),
    });
  } catch (error) {
    if (error instanceof CommandError) throw error;
    throw new CommandError((error as Error).message);
  }
  try {
    const results = await client.send({
      originator: from,
      recipients: to,
      calendar: readText(file, 'iCalendar file'),
    });
    if (values.json) out.json(results);
    else out.line(table(results.map((r) => [r.recipient, r.requestStatus, r.outcome, r.description ?? ''])));
    if (results.some((r) => r.outcome !== 'delivered'))
      throw new CommandError('not every recipient got the message', 1);
  } catch (error) {
    if (error instanceof IScheduleError) throw new CommandError(`${error.code}: ${error.message}`);
    throw error;
  } finally {
    client.close();
  }
}
