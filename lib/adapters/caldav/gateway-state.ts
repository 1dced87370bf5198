/**
 * What the gateway remembers between runs, in one JSON file written atomically (temporary file,
 * fsync, rename): each calendar's sync token, the last version of each object it has seen or
 * written (to tell a user's change from its own, and to cancel a deleted event), and which
 * object each queued outbox job belongs to (to write SCHEDULE-STATUS back).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';

/** An object as last seen: its ETag (when the server gave one) and text. */
export interface KnownObject {
  readonly etag?: string;
  readonly text: string;
  /** The calendar address of the user whose calendar holds it. */
  readonly owner: string;
}

/** An outbox job and the object whose SCHEDULE-STATUS it updates. */
export interface JobRecord {
  readonly href: string;
  /** `attendees`: a REQUEST/CANCEL (status per ATTENDEE); `organizer`: a REPLY. */
  readonly role: 'attendees' | 'organizer';
  readonly createdAt: number;
}

interface StateFile {
  tokens: Record<string, string>;
  objects: Record<string, KnownObject>;
  jobs: Record<string, JobRecord>;
}

/** Jobs older than this are forgotten (the outbox gives up long before). */
const JOB_MEMORY_MS = 30 * 24 * 3600 * 1000;

export class GatewayState {
  readonly #file: string | undefined;
  #state: StateFile = { tokens: {}, objects: {}, jobs: {} };
  #saving: Promise<void> = Promise.resolve();

  /** Kept in `directory` when given, else only in memory (an inbound-only gateway). */
  constructor(directory?: string) {
    if (!directory) return;
    mkdirSync(directory, { recursive: true });
    this.#file = path.join(directory, 'caldav-gateway.json');
    try {
      const read = JSON.parse(readFileSync(this.#file, 'utf8')) as Partial<StateFile>;
      this.#state = { tokens: read.tokens ?? {}, objects: read.objects ?? {}, jobs: read.jobs ?? {} };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  token(collection: string): string | undefined {
    return this.#state.tokens[collection];
  }

  setToken(collection: string, token: string): void {
    this.#state.tokens[collection] = token;
  }

  object(href: string): KnownObject | undefined {
    return this.#state.objects[href];
  }

  /** The objects known under a collection's path. */
  objectsIn(collection: string): string[] {
    return Object.keys(this.#state.objects).filter((href) => href.startsWith(collection));
  }

  setObject(href: string, object: KnownObject | undefined): void {
    if (object === undefined) delete this.#state.objects[href];
    else this.#state.objects[href] = object;
  }

  job(id: string): JobRecord | undefined {
    return this.#state.jobs[id];
  }

  setJob(id: string, record: JobRecord): void {
    this.#state.jobs[id] = record;
  }

  /** Writes the state to disk (in order: a later save never lands before an earlier one). */
  save(): Promise<void> {
    const file = this.#file;
    if (!file) return Promise.resolve();
    const now = Date.now();
    for (const [id, job] of Object.entries(this.#state.jobs))
      if (now - job.createdAt > JOB_MEMORY_MS) delete this.#state.jobs[id];
    const text = JSON.stringify(this.#state);
    this.#saving = this.#saving.catch(() => undefined).then(() => writeAtomically(file, text));
    return this.#saving;
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
}
