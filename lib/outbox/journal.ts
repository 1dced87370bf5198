/**
 * The embedded outbox's storage: an append-only journal on local disk. Each line is a CRC-32 and
 * a JSON record; a write is durable once fdatasync returns, and writes that arrive together
 * share one sync. A torn or damaged line (a crash mid-write) fails its CRC and is skipped with a
 * log line at start-up, never a crash. When dead records outnumber live jobs, the journal is
 * rewritten beside itself, synced, and renamed over the old one.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { type FileHandle, open, rename } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { SetupError } from '../errors.js';
import type { Logger } from '../receiver/options.js';
import type { Notice, OutboxJob, OutboxPart } from './job.js';

type JournalRecord =
  | { readonly op: 'add'; readonly job: OutboxJob }
  | {
      readonly op: 'state';
      readonly id: string;
      readonly parts: readonly OutboxPart[];
      readonly notices: readonly Notice[];
    }
  | { readonly op: 'remove'; readonly id: string };

const FILE = 'outbox.journal';
const LOCK = 'outbox.lock';
/** Rewrite when the journal holds this many records more than live jobs. */
const COMPACT_SLACK = 2000;

interface Pending {
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class Journal {
  readonly #directory: string;
  readonly #logger: Logger;
  #file: FileHandle | undefined;
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  /** Records in the file, to know when a rewrite pays. */
  #records = 0;
  readonly #jobs = new Map<string, OutboxJob>();
  #closed = false;

  private constructor(directory: string, logger: Logger) {
    this.#directory = directory;
    this.#logger = logger;
  }

  /** Opens (and locks) the journal in `directory`; the jobs it holds are `jobs`. */
  static async open(directory: string, logger: Logger = {}): Promise<Journal> {
    const journal = new Journal(directory, logger);
    lock(directory);
    try {
      journal.#replay();
      journal.#file = await open(path.join(directory, FILE), 'a');
      if (journal.#records > journal.#jobs.size + COMPACT_SLACK) await journal.#compact();
    } catch (error) {
      unlock(directory);
      throw error;
    }
    return journal;
  }

  /** Unfinished jobs, oldest first (a Map keeps the order jobs were added in). */
  get jobs(): IterableIterator<OutboxJob> {
    return this.#jobs.values();
  }

  get size(): number {
    return this.#jobs.size;
  }

  get(id: string): OutboxJob | undefined {
    return this.#jobs.get(id);
  }

  /** The highest sequence number used so far. */
  get lastSeq(): number {
    let last = 0;
    for (const job of this.#jobs.values()) last = Math.max(last, job.seq);
    return last;
  }

  add(job: OutboxJob): Promise<void> {
    this.#jobs.set(job.id, job);
    return this.#append({ op: 'add', job });
  }

  /** Records a job's new parts and owed callbacks. */
  update(job: OutboxJob): Promise<void> {
    this.#jobs.set(job.id, job);
    return this.#append({ op: 'state', id: job.id, parts: job.parts, notices: job.notices });
  }

  remove(id: string): Promise<void> {
    this.#jobs.delete(id);
    return this.#append({ op: 'remove', id });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#flushing;
    await this.#file?.close();
    unlock(this.#directory);
  }

  #append(record: JournalRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the outbox journal is closed'));
    const line = recordLine(record);
    return new Promise((resolve, reject) => {
      this.#queue.push({ line, resolve, reject });
      this.#flushing ??= this.#flush().finally(() => {
        this.#flushing = undefined;
      });
    });
  }

  /** Writes everything queued, one sync per batch, until nothing is queued. */
  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        await this.#file!.write(batch.map((p) => p.line).join(''));
        await this.#file!.datasync();
        this.#records += batch.length;
        for (const pending of batch) pending.resolve();
      } catch (error) {
        for (const pending of batch) pending.reject(error as Error);
      }
      if (this.#records > 4 * this.#jobs.size + COMPACT_SLACK) {
        await this.#compact().catch((error: Error) =>
          this.#logger.warn?.('outbox journal not compacted', { error: error.message }),
        );
      }
    }
  }

  #replay(): void {
    this.#records = replayJournal(this.#directory, this.#jobs, this.#logger);
  }

  /** Rewrites the journal with only live jobs: beside it, synced, renamed over it. */
  async #compact(): Promise<void> {
    const target = path.join(this.#directory, FILE);
    const temporary = `${target}.${process.pid}.tmp`;
    const lines = [...this.jobs].map((job) => recordLine({ op: 'add', job }));
    const file = await open(temporary, 'w', 0o600);
    try {
      await file.write(lines.join(''));
      await file.sync();
    } finally {
      await file.close();
    }
    await this.#file?.close();
    await rename(temporary, target);
    const dir = await open(this.#directory, 'r');
    await dir.sync().finally(() => dir.close());
    this.#file = await open(target, 'a');
    this.#records = lines.length;
  }
}

/**
 * Reads a journal back into `jobs` (oldest first), skipping what a crash tore; returns the
 * number of records read. Needs no lock: `ischedule outbox` reads a running server's journal.
 */
export function replayJournal(directory: string, jobs: Map<string, OutboxJob>, logger: Logger = {}): number {
  let text: string;
  try {
    text = readFileSync(path.join(directory, FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  const lines = text.split('\n');
  // A last line without its newline was being written when the process stopped.
  const torn = lines.pop();
  if (torn) logger.warn?.('outbox journal: an unfinished last record was skipped (a crash mid-write)');
  let records = 0;
  for (const [index, line] of lines.entries()) {
    const record = parseLine(line);
    if (!record) {
      logger.warn?.('outbox journal: a damaged record was skipped', { line: index + 1 });
      continue;
    }
    records++;
    if (record.op === 'add') jobs.set(record.job.id, record.job);
    else if (record.op === 'remove') jobs.delete(record.id);
    else {
      const job = jobs.get(record.id);
      if (job) jobs.set(job.id, { ...job, parts: record.parts, notices: record.notices });
    }
  }
  return records;
}

/** One journal line: the record's CRC-32 (8 hex digits), a space, the record as JSON. */
function recordLine(record: JournalRecord): string {
  const json = JSON.stringify(record);
  return `${checksum(json)} ${json}\n`;
}

function checksum(json: string): string {
  return crc32(json).toString(16).padStart(8, '0');
}

function parseLine(line: string): JournalRecord | undefined {
  const space = line.indexOf(' ');
  if (space !== 8) return undefined;
  const json = line.slice(9);
  if (checksum(json) !== line.slice(0, 8)) return undefined;
  try {
    const record = JSON.parse(json) as JournalRecord;
    return typeof record === 'object' && record !== null && 'op' in record ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Directories this process holds: a second open here is refused like one elsewhere. */
const held = new Set<string>();

/**
 * One process per journal: a lock file naming its owner (pid and start time), taken over when
 * that process is gone. A start time, not the pid alone: a container restarted with the same
 * pid (often 1) must not find itself locked out by its former life.
 */
function lock(directory: string): void {
  const file = path.join(directory, LOCK);
  if (held.has(path.resolve(directory))) throw lockedBy(directory, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${process.pid} ${startTime(process.pid) ?? ''}`.trim());
      closeSync(fd);
      held.add(path.resolve(directory));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [pid, started] = readFileSync(file, 'utf8').trim().split(' ');
      const owner = Number(pid);
      const live =
        owner !== process.pid && alive(owner) && (started === undefined || started === startTime(owner));
      if (Number.isInteger(owner) && owner > 0 && live) throw lockedBy(directory, owner);
      rmSync(file, { force: true });
    }
  }
}

function lockedBy(directory: string, owner: number): SetupError {
  return new SetupError(
    'outbox-locked',
    `the outbox in ${directory} is in use by process ${owner}; one process per outbox directory`,
  );
}

function unlock(directory: string): void {
  held.delete(path.resolve(directory));
  rmSync(path.join(directory, LOCK), { force: true });
}

/** When a process started (clock ticks since boot, from /proc), where the system says. */
function startTime(pid: number): string | undefined {
  try {
    // Fields after the command name: state is the 1st, starttime the 20th.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
