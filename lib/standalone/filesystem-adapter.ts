/**
 * Adapters that keep scheduling data in plain files, usable on their own: each user's
 * scheduling inbox is a directory of .ics files written atomically, and free-busy is computed
 * from the .ics files of the user's calendar directory, recurrences expanded and bounded.
 *
 *   <dataDir>/<address>/inbox/      delivered iTIP messages, one file each
 *   <dataDir>/<address>/calendar/   the user's events (read for free-busy)
 *
 * `<address>` is the calendar address without `mailto:`, lower-cased (e.g. alice@example.com).
 */

import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import ICAL from 'ical.js';
import { OptionsError } from '../errors.js';
import { normalizeAddress } from '../itip/address.js';
import { busyRange, calendarBusyPeriods } from '../itip/busy-periods.js';
import type { BusyPeriod } from '../itip/schedule-message.js';
import type { DeliveryResult, IScheduleAdapter, Logger } from '../receiver/options.js';
import { InboxWriter } from './inbox-writer.js';

/** A calendar user of the filesystem adapter and the folder that holds their data. */
export interface FilesystemUser {
  /** The calendar address, as configured. */
  readonly address: string;
  /** `<dataDir>/<address>`. */
  readonly directory: string;
}

/** Options of filesystemAdapter. */
export interface FilesystemAdapterOptions {
  readonly dataDir: string;
  /** The calendar addresses of the local users. */
  readonly users: readonly string[];
  /** Calendar files read for free-busy at most (default 10000), and their largest size (1 MiB). */
  readonly maxCalendarFiles?: number;
  readonly maxCalendarFileBytes?: number;
  /**
   * Instances expanded per recurring event at most (default 10000); a free-busy answer needing
   * more than five times that in all fails for that recipient (5.1) rather than show free time.
   * Events whose rule the receiver would refuse (no date, or a shape ical.js cannot iterate)
   * are skipped.
   */
  readonly maxInstances?: number;
  /**
   * Most a user's scheduling inbox may hold (default 10000 messages and 50 MiB). A delivery
   * beyond it answers that recipient `5.1;Service unavailable` (the inbox is full: a sender
   * retries later) and logs a warning; other recipients are unaffected.
   */
  readonly inboxQuota?: InboxQuota;
  readonly logger?: Logger;
}

export interface InboxQuota {
  readonly messages?: number;
  readonly bytes?: number;
}

const INBOX_FULL: DeliveryResult = {
  requestStatus: '5.1;Service unavailable',
  description: "the recipient's scheduling inbox is full; try again later",
};

/** The directory of a user: the address without `mailto:`, lower-cased, refused if it could escape. */
export function userDirectory(dataDir: string, address: string): string {
  const name = normalizeAddress(address).replace(/^mailto:/, '');
  if (!name || name.includes('/') || name.includes('\\') || name.startsWith('.') || name.includes('\0')) {
    throw new OptionsError(`${address} cannot name a directory`, 'users');
  }
  return path.join(dataDir, name);
}

/**
 * The standalone server's adapter: users from a list, inboxes and calendars as .ics files under
 * `dataDir/<address>/`, free-busy from the calendar folder.
 */
export function filesystemAdapter(options: FilesystemAdapterOptions): IScheduleAdapter<FilesystemUser> {
  const users = new Map(
    options.users.map((address) => [
      normalizeAddress(address),
      { address, directory: userDirectory(options.dataDir, address) },
    ]),
  );
  const quota = new InboxUsage(options.inboxQuota ?? {});
  return {
    lookupUser: ({ address }) => users.get(normalizeAddress(address)) ?? null,
    deliverToInbox: async ({ user, message }) => {
      const size = Buffer.byteLength(message.text);
      if (!(await quota.reserve(user.directory, size))) {
        options.logger?.warn?.('iSchedule inbox full: delivery refused', {
          recipient: user.address,
          uid: message.uid,
        });
        return INBOX_FULL;
      }
      try {
        await writeInbox(user.directory, message.uid, message.text);
      } catch (error) {
        quota.release(user.directory, size);
        throw error;
      }
      return undefined;
    },
    getFreeBusy: ({ user, start, end }) =>
      readBusyPeriods(path.join(user.directory, 'calendar'), start, end, {
        maxFiles: options.maxCalendarFiles ?? 10_000,
        maxBytes: options.maxCalendarFileBytes ?? 1 << 20,
        maxInstances: options.maxInstances ?? 10_000,
      }),
  };
}

/** One worker for the process: concurrent deliveries to one inbox share its directory syncs. */
const inboxWriter = new InboxWriter();

/**
 * Writes one message into `<directory>/inbox/` atomically and durably: a temporary file, fsync,
 * rename to a unique name, fsync of the directory (shared by the messages renamed into it
 * meanwhile), all off the event loop. Concurrent deliveries never share a file, so none can
 * clobber another.
 */
export async function writeInbox(directory: string, uid: string, text: string): Promise<string> {
  const inbox = path.join(directory, 'inbox');
  const safeUid = uid.replace(/[^A-Za-z0-9@._-]/g, '_').slice(0, 80) || 'message';
  const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${safeUid}-${randomBytes(6).toString('hex')}.ics`;
  const target = path.join(inbox, name);
  await inboxWriter.write({ inbox, temporary: path.join(inbox, `.${name}.tmp`), target, text });
  return target;
}

/**
 * What each user's inbox holds, counted once from the disk and then kept up to date by our own
 * writes. Files removed by others only make the count too high, so the disk is read again before
 * a delivery is refused (at most every 10 s per user).
 */
interface Usage {
  messages: number;
  bytes: number;
  /** When the disk was last read, ms since the epoch. */
  counted: number;
}

class InboxUsage {
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly #usage = new Map<string, Usage>();
  readonly #counting = new Map<string, Promise<Usage>>();

  constructor(quota: InboxQuota) {
    this.#maxMessages = quota.messages ?? 10_000;
    this.#maxBytes = quota.bytes ?? 50 << 20;
    for (const [name, value] of [
      ['messages', this.#maxMessages],
      ['bytes', this.#maxBytes],
    ] as const) {
      if (!Number.isInteger(value) || value < 1)
        throw new OptionsError(
          `filesystemAdapter inboxQuota.${name} must be a positive integer`,
          `inboxQuota.${name}`,
        );
    }
  }

  /** Takes room for a message of `size` octets, or answers false when the inbox is full. */
  async reserve(directory: string, size: number): Promise<boolean> {
    let usage = this.#usage.get(directory) ?? (await this.#firstCount(directory));
    if (this.#over(usage, size) && Date.now() - usage.counted > 10_000) usage = await this.#count(directory);
    if (this.#over(usage, size)) return false;
    usage.messages++;
    usage.bytes += size;
    return true;
  }

  release(directory: string, size: number): void {
    const usage = this.#usage.get(directory);
    if (!usage) return;
    usage.messages--;
    usage.bytes -= size;
  }

  #over(usage: { messages: number; bytes: number }, size: number): boolean {
    return usage.messages + 1 > this.#maxMessages || usage.bytes + size > this.#maxBytes;
  }

  /** Concurrent first deliveries to one user share one count. */
  #firstCount(directory: string): Promise<Usage> {
    let counting = this.#counting.get(directory);
    if (!counting) {
      counting = this.#count(directory).finally(() => this.#counting.delete(directory));
      this.#counting.set(directory, counting);
    }
    return counting;
  }

  async #count(directory: string): Promise<Usage> {
    const inbox = path.join(directory, 'inbox');
    let messages = 0;
    let bytes = 0;
    try {
      for (const name of await readdir(inbox)) {
        if (!name.endsWith('.ics')) continue;
        messages++;
        bytes += (await stat(path.join(inbox, name)).catch(() => ({ size: 0 }))).size;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const usage = { messages, bytes, counted: Date.now() };
    this.#usage.set(directory, usage);
    return usage;
  }
}

interface Bounds {
  readonly maxFiles: number;
  readonly maxBytes: number;
  readonly maxInstances: number;
}

/** Busy periods of the events in a calendar directory within [start, end). */
export async function readBusyPeriods(
  calendarDir: string,
  start: Date,
  end: Date,
  bounds: Bounds,
): Promise<BusyPeriod[]> {
  let names: string[];
  try {
    names = (await readdir(calendarDir)).filter((n) => n.endsWith('.ics')).slice(0, bounds.maxFiles);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const busy: BusyPeriod[] = [];
  const range = busyRange(start, end);
  for (const name of names) {
    const file = path.join(calendarDir, name);
    if ((await stat(file)).size > bounds.maxBytes) continue;
    let calendar: ICAL.Component;
    try {
      calendar = new ICAL.Component(ICAL.parse(await readFile(file, 'utf8')) as unknown[]);
    } catch {
      continue; // A broken file is skipped, not fatal: the other events still count.
    }
    busy.push(...calendarBusyPeriods(calendar, range, bounds.maxInstances));
    if (busy.length > bounds.maxInstances * 5) {
      // Answering part of the busy time would show the user free when they are not.
      throw new RangeError(`free-busy for ${calendarDir} needs more than ${bounds.maxInstances * 5} periods`);
    }
  }
  return busy;
}
