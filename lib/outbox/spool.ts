/**
 * How other processes hand work to an outbox they cannot open (its journal is locked by the
 * running server, or nobody runs it yet): files in `<directory>/incoming/`, each written beside
 * its final name, synced and renamed, so that a reader sees it whole or not at all. The outbox
 * takes them in at start and every second after; a job it already has is not taken twice.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { ExpressIScheduleError } from '../errors.js';
import type { Logger } from '../receiver/options.js';
import type { OutboxMessage } from './job.js';
import type { Outbox } from './outbox.js';

const INCOMING = 'incoming';
const REJECTED = 'rejected';

/** A message waiting in the spool. */
export interface SpooledMessage {
  readonly id: string;
  readonly createdAt: number;
  readonly message: OutboxMessage;
}

export type SpoolCommand = 'retry' | 'cancel';

/** What the spool holds, messages oldest first, then commands. */
export interface SpoolContents {
  readonly messages: readonly (SpooledMessage & { readonly file: string })[];
  readonly commands: readonly {
    readonly id: string;
    readonly command: SpoolCommand;
    readonly file: string;
  }[];
  /** Files that are no spooled message (damaged, or not ours). */
  readonly unreadable: readonly string[];
}

/** Writes a message into the spool and returns its job id. The caller has checked it. */
export async function spoolMessage(directory: string, message: OutboxMessage): Promise<string> {
  const id = randomUUID();
  const entry: SpooledMessage = { id, createdAt: Date.now(), message };
  await writeWhole(directory, `${entry.createdAt}-${id}.job.json`, JSON.stringify(entry));
  return id;
}

/** Asks the outbox to retry or cancel a job, now if it runs, else when it starts. */
export async function spoolCommand(directory: string, id: string, command: SpoolCommand): Promise<void> {
  await writeWhole(directory, `${Date.now()}-${id}.${command}`, '');
}

export function readSpool(directory: string): SpoolContents {
  const where = path.join(directory, INCOMING);
  let names: string[];
  try {
    names = readdirSync(where).sort();
  } catch {
    return { messages: [], commands: [], unreadable: [] };
  }
  const messages: Array<SpooledMessage & { file: string }> = [];
  const commands: Array<{ id: string; command: SpoolCommand; file: string }> = [];
  const unreadable: string[] = [];
  for (const name of names) {
    const file = path.join(where, name);
    const command = /^\d+-([\w-]{36})\.(retry|cancel)$/.exec(name);
    if (command) {
      commands.push({ id: command[1]!, command: command[2] as SpoolCommand, file });
      continue;
    }
    if (!name.endsWith('.job.json')) continue;
    try {
      const entry = JSON.parse(readFileSync(file, 'utf8')) as SpooledMessage;
      if (
        typeof entry.id === 'string' &&
        typeof entry.message?.calendar === 'string' &&
        Array.isArray(entry.message.recipients)
      )
        messages.push({ ...entry, file });
      else unreadable.push(file);
    } catch {
      unreadable.push(file);
    }
  }
  return { messages, commands, unreadable };
}

/** Where what the outbox cannot take is kept for the operator: never taken half, never lost. */
function reject(file: string): string {
  const where = path.join(path.dirname(file), REJECTED);
  mkdirSync(where, { recursive: true, mode: 0o700 });
  const target = path.join(where, path.basename(file));
  renameSync(file, target);
  return target;
}

export function removeSpooled(file: string): void {
  rmSync(file, { force: true });
}

async function writeWhole(directory: string, name: string, text: string): Promise<void> {
  const where = path.join(directory, INCOMING);
  mkdirSync(where, { recursive: true, mode: 0o700 });
  const temporary = path.join(where, `.${name}.tmp`);
  const file = await open(temporary, 'w', 0o600);
  try {
    await file.write(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path.join(where, name));
  const dir = await open(where, 'r');
  await dir.sync().finally(() => dir.close());
}

/**
 * Takes what other processes spooled into `outbox` (either engine), at once and every second
 * until stopped: messages under their spooled ids, then retry and cancel requests. A file that
 * is no message, or a message the outbox now refuses (it passed the checks when spooled), is
 * logged and moved to `incoming/rejected/` for the operator.
 */
export function ingestSpool(
  directory: string,
  outbox: Outbox,
  logger: Logger = {},
): { ready: Promise<void>; stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  let stopped = false;
  const ingest = () => {
    running ??= (async () => {
      const { messages, commands, unreadable } = readSpool(directory);
      for (const file of unreadable) {
        logger.error?.('iSchedule outbox: a spool file is no message; moved aside', { file: reject(file) });
      }
      for (const spooled of messages) {
        if (stopped) return;
        try {
          await outbox.enqueue(spooled.message, { id: spooled.id, createdAt: spooled.createdAt });
        } catch (error) {
          if (!(error instanceof ExpressIScheduleError)) throw error;
          // Checked when it was spooled: the configuration changed since (a key removed?).
          logger.error?.('iSchedule outbox: a spooled message cannot be sent; moved aside', {
            id: spooled.id,
            error: error.message,
            file: reject(spooled.file),
          });
          continue;
        }
        removeSpooled(spooled.file);
      }
      for (const { id, command, file } of commands) {
        if (stopped) return;
        if (command === 'retry') await outbox.retry(id);
        else await outbox.cancel(id);
        removeSpooled(file);
      }
    })()
      .catch((error: Error) =>
        logger.error?.('iSchedule outbox: the spool could not be taken in', { error: error.message }),
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const ready = ingest();
  const timer = setInterval(() => void ingest(), 1000);
  timer.unref?.();
  return {
    ready,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
