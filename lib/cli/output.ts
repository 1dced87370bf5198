import { ExpressIScheduleError } from '../errors.js';

/** Where a command writes: kept apart so tests can capture it. */
export interface Output {
  line(text: string): void;
  json(value: unknown): void;
  error(text: string): void;
}

export const consoleOutput: Output = {
  line: (text) => process.stdout.write(`${text}\n`),
  json: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  error: (text) => process.stderr.write(`${text}\n`),
};

/** A failure the user can act on: printed without a stack trace, exit status 1 (or as given). */
export class CommandError extends ExpressIScheduleError<'command-failed'> {
  override name = 'CommandError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super('command-failed', message);
    this.exitCode = exitCode;
  }
}
