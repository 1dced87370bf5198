/**
 * `ischedule outbox`: what the server's outbox holds, and asking it to retry or cancel a job.
 * It reads the journal without taking it (the running server holds it) and leaves requests in
 * the outbox's spool, which the server takes in within a second, or at its next start.
 */
import { parseArgs } from 'node:util';
import { ExpressIScheduleError, IScheduleError } from '../errors.js';
import { BullmqOutbox } from '../outbox/bullmq-outbox.js';
import { type OutboxJob, type OutboxMessage, PENDING_STATUS } from '../outbox/job.js';
import { replayJournal } from '../outbox/journal.js';
import { jobView, type OutboxJobView } from '../outbox/outbox.js';
import { readSpool, spoolCommand, spoolMessage } from '../outbox/spool.js';
import { ConfigError, loadConfig, type ServerConfig } from '../standalone/config.js';
import { outboxDirectory, serverClient } from '../standalone/outbox.js';
import { prepareServerFiles } from '../standalone/server.js';
import { requireValue, table } from './common.js';
import { CommandError, type Output } from './output.js';

export const outboxHelp = `Usage: ischedule outbox --config FILE [--json]
       ischedule outbox retry ID --config FILE
       ischedule outbox cancel ID --config FILE

Lists the jobs in the outbox of the server that --config describes: each with its state,
attempts, next attempt and every recipient's last status ("incoming" until the server has
taken it in). "retry" makes a waiting job due now; "cancel" drops it (no more attempts, no
callbacks). Both are applied by the running server within a second, or when it next starts.

  --config   the server's JSON config file
  --json     print the jobs as JSON`;

function config(file: string): ServerConfig {
  try {
    return loadConfig(file);
  } catch (error) {
    if (error instanceof ConfigError) throw new CommandError(`bad config ${file}: ${error.message}`);
    throw error;
  }
}

/** Checks a message as the server will send it, then spools it; the job id. */
export async function queueMessage(configFile: string, message: OutboxMessage): Promise<string> {
  const server = config(configFile);
  if (server.outbox?.enabled === false)
    throw new CommandError(`the outbox is off in ${configFile} ("outbox": { "enabled": false })`);
  const signing = prepareServerFiles(server);
  const client = serverClient(server, signing);
  try {
    client.check(message);
  } catch (error) {
    if (error instanceof IScheduleError) throw new CommandError(`${error.code}: ${error.message}`);
    if (error instanceof ExpressIScheduleError) throw new CommandError(error.message);
    throw error;
  } finally {
    client.close();
  }
  return spoolMessage(outboxDirectory(server), message);
}

export async function outbox(argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const server = config(requireValue(values.config, '--config'));
  const directory = outboxDirectory(server);
  const [action, id] = positionals;
  if (action !== undefined && action !== 'retry' && action !== 'cancel')
    throw new CommandError(`unknown outbox action "${action}" (retry, cancel)`);
  if (action && (!id || !/^[\w-]{36}$/.test(id))) throw new CommandError(`outbox ${action} needs a job id`);
  // With Redis the queue is BullMQ's: read and steer it there, whoever runs it.
  if (server.redis) {
    const client = serverClient(server, prepareServerFiles(server));
    const queue = await BullmqOutbox.open({ client, redis: server.redis, work: false });
    try {
      if (action) {
        const done = action === 'retry' ? await queue.retry(id!) : await queue.cancel(id!);
        if (!done) throw new CommandError(`no job ${id} in the outbox`);
        out.line(`${action === 'retry' ? 'retried' : 'cancelled'} ${id}`);
        return;
      }
      print((await queue.list()).map(rowOf), values.json === true, out);
    } finally {
      await queue.close();
      client.close();
    }
    return;
  }
  if (action === 'retry' || action === 'cancel') {
    await spoolCommand(directory, id!, action);
    out.line(`${action} of ${id} requested: the server applies it within a second, or when it next starts`);
    return;
  }

  const jobs = new Map<string, OutboxJob>();
  replayJournal(directory, jobs);
  // What the server has not taken in yet shows as "incoming".
  const incoming = readSpool(directory)
    .messages.filter((m) => !jobs.has(m.id))
    .map((m) => ({
      id: m.id,
      uid: '',
      state: 'incoming',
      attempts: 0,
      recipients: m.message.recipients.map((recipient) => ({
        recipient,
        state: 'pending',
        requestStatus: PENDING_STATUS,
      })),
    }));
  print([...[...jobs.values()].map((job) => rowOf(jobView(job))), ...incoming], values.json === true, out);
}

/** A job as the command prints it (either engine). */
function rowOf(view: OutboxJobView): Row {
  return {
    id: view.id,
    uid: view.uid,
    state: view.state,
    attempts: view.attempts,
    ...(view.nextAttemptAt && { nextAttempt: view.nextAttemptAt.toISOString() }),
    recipients: view.recipients.map(({ recipient, state, requestStatus }) => ({
      recipient,
      state,
      requestStatus,
    })),
  };
}

interface Row {
  readonly id: string;
  readonly uid: string;
  readonly state: string;
  readonly attempts: number;
  readonly nextAttempt?: string;
  readonly recipients: ReadonlyArray<{ recipient: string; state: string; requestStatus: string }>;
}

function print(rows: readonly Row[], json: boolean, out: Output): void {
  if (json) {
    out.json(rows);
    return;
  }
  if (rows.length === 0) {
    out.line('the outbox is empty');
    return;
  }
  out.line(
    table([
      ['JOB', 'STATE', 'ATTEMPTS', 'NEXT ATTEMPT', 'RECIPIENT', 'STATUS'],
      ...rows.flatMap((row) =>
        row.recipients.map((r, i) => [
          i === 0 ? row.id : '',
          i === 0 ? row.state : '',
          i === 0 ? String(row.attempts) : '',
          i === 0 ? (row.nextAttempt ?? '-') : '',
          r.recipient,
          `${r.state} (${r.requestStatus})`,
        ]),
      ),
    ]),
  );
}
