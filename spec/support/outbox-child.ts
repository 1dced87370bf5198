/**
 * An outbox in a process of its own, for the crash specs: started with its settings as JSON in
 * OUTBOX_CHILD, it queues the messages given there (if any), prints each job id and "queued",
 * delivers, prints "idle" whenever nothing is left, and runs until it is killed.
 */
import { BullmqOutbox, IScheduleClient, IScheduleOutbox, type Outbox } from './api.js';
import { LOOPBACK } from './domains.js';
import { keys } from './fixtures.js';

interface ChildSettings {
  /** The embedded journal in `directory`, or BullMQ on `redis` with `queue`. */
  readonly directory?: string;
  readonly redis?: string;
  readonly queue?: string;
  readonly dnsServer: string;
  readonly ca: string[];
  readonly messages: Array<{ originator: string; recipients: string[]; calendar: string }>;
}

const settings = JSON.parse(process.env.OUTBOX_CHILD ?? '{}') as ChildSettings;
const client = new IScheduleClient({
  signing: keys.jupiter,
  dns: { servers: [settings.dnsServer] },
  tls: { ca: settings.ca },
  allowNetworks: LOOPBACK,
  attempts: 1,
  timeout: 2000,
});
const common = { client, retry: { initialDelay: 100, maxDelay: 500, maxAge: 120_000 } };
const outbox: Outbox = settings.redis
  ? await BullmqOutbox.open({ ...common, redis: settings.redis, queue: settings.queue!, lockDuration: 2000 })
  : await IScheduleOutbox.open({ ...common, directory: settings.directory! });
for (const message of settings.messages) console.log(`job ${await outbox.enqueue(message)}`);
console.log('queued');
let idle = false;
setInterval(async () => {
  const empty = (await outbox.list()).length === 0;
  if (empty && !idle) console.log('idle');
  idle = empty;
}, 100);
