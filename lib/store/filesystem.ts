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
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import ICAL from 'ical.js';
import { normalizeAddress } from '../itip/address.js';
import type { BusyPeriod } from '../itip/freebusy.js';
import type { IScheduleAdapter } from '../receiver/options.js';

export interface FilesystemUser {
  /** The calendar address, as configured. */
  readonly address: string;
  /** `<dataDir>/<address>`. */
  readonly directory: string;
}

export interface FilesystemAdapterOptions {
  readonly dataDir: string;
  /** The calendar addresses of the local users. */
  readonly users: readonly string[];
  /** Calendar files read for free-busy at most (default 10000), and their largest size (1 MiB). */
  readonly maxCalendarFiles?: number;
  readonly maxCalendarFileBytes?: number;
  /** Instances expanded per recurring event at most (default 10000). */
  readonly maxInstances?: number;
}

/** The directory of a user: the address without `mailto:`, lower-cased, refused if it could escape. */
export function userDirectory(dataDir: string, address: string): string {
  const name = normalizeAddress(address).replace(/^mailto:/, '');
  if (!name || name.includes('/') || name.includes('\\') || name.startsWith('.') || name.includes('\0')) {
    throw new TypeError(`${address} cannot name a directory`);
  }
  return path.join(dataDir, name);
}

export function filesystemAdapter(options: FilesystemAdapterOptions): IScheduleAdapter<FilesystemUser> {
  const users = new Map(
    options.users.map((address) => [
      normalizeAddress(address),
      { address, directory: userDirectory(options.dataDir, address) },
    ]),
  );
  return {
    lookupUser: ({ address }) => users.get(normalizeAddress(address)) ?? null,
    deliverToInbox: async ({ user, message }) => {
      await writeInbox(user.directory, message.uid, message.text);
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

/**
 * Writes one message into `<directory>/inbox/` atomically: a temporary file, fsync, rename to a
 * unique name. Concurrent deliveries never share a file, so none can clobber another.
 */
export async function writeInbox(directory: string, uid: string, text: string): Promise<string> {
  const inbox = path.join(directory, 'inbox');
  await mkdir(inbox, { recursive: true });
  const safeUid = uid.replace(/[^A-Za-z0-9@._-]/g, '_').slice(0, 80) || 'message';
  const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${safeUid}-${randomBytes(6).toString('hex')}.ics`;
  const target = path.join(inbox, name);
  const temporary = path.join(inbox, `.${name}.tmp`);
  const file = await open(temporary, 'wx', 0o640);
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } catch (error) {
    await file.close();
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await file.close();
  await rename(temporary, target);
  // The rename itself is durable only once the directory is synced.
  const dir = await open(inbox, 'r');
  await dir.sync().finally(() => dir.close());
  return target;
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
  const rangeStart = ICAL.Time.fromJSDate(start, true);
  const rangeEnd = ICAL.Time.fromJSDate(end, true);
  for (const name of names) {
    const file = path.join(calendarDir, name);
    if ((await stat(file)).size > bounds.maxBytes) continue;
    let calendar: ICAL.Component;
    try {
      calendar = new ICAL.Component(ICAL.parse(await readFile(file, 'utf8')) as unknown[]);
    } catch {
      continue; // A broken file is skipped, not fatal: the other events still count.
    }
    registerZones(calendar);
    for (const vevent of calendar.getAllSubcomponents('vevent')) {
      if (vevent.hasProperty('recurrence-id')) continue;
      const event = new ICAL.Event(vevent, { strictExceptions: true });
      for (const exception of calendar.getAllSubcomponents('vevent')) {
        if (
          exception !== vevent &&
          exception.hasProperty('recurrence-id') &&
          exception.getFirstPropertyValue('uid') === event.uid
        ) {
          event.relateException(exception);
        }
      }
      busy.push(...eventBusy(event, rangeStart, rangeEnd, bounds.maxInstances));
    }
  }
  return busy;
}

function eventBusy(
  event: ICAL.Event,
  rangeStart: ICAL.Time,
  rangeEnd: ICAL.Time,
  maxInstances: number,
): BusyPeriod[] {
  const periods: BusyPeriod[] = [];
  const add = (details: { startDate: ICAL.Time; endDate: ICAL.Time; item: ICAL.Event }) => {
    const component = details.item.component;
    if (String(component.getFirstPropertyValue('transp') ?? '').toUpperCase() === 'TRANSPARENT') return;
    const status = String(component.getFirstPropertyValue('status') ?? '').toUpperCase();
    if (status === 'CANCELLED') return;
    if (details.endDate.compare(rangeStart) <= 0 || details.startDate.compare(rangeEnd) >= 0) return;
    periods.push({
      start: details.startDate.toJSDate(),
      end: details.endDate.toJSDate(),
      type: status === 'TENTATIVE' ? 'BUSY-TENTATIVE' : 'BUSY',
    });
  };
  if (!event.isRecurring()) {
    add({ startDate: event.startDate, endDate: event.endDate, item: event });
    return periods;
  }
  const iterator = event.iterator();
  for (let count = 0, next = iterator.next(); next && count < maxInstances; next = iterator.next(), count++) {
    if (next.compare(rangeEnd) >= 0) break;
    const details = event.getOccurrenceDetails(next);
    add(details);
  }
  return periods;
}

/** Makes the calendar's VTIMEZONEs known to ical.js so TZID times convert correctly. */
function registerZones(calendar: ICAL.Component): void {
  for (const zone of calendar.getAllSubcomponents('vtimezone')) {
    const tzid = String(zone.getFirstPropertyValue('tzid') ?? '');
    if (tzid && !ICAL.TimezoneService.has(tzid)) ICAL.TimezoneService.register(zone);
  }
}
