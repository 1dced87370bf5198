#!/usr/bin/env node
import { VERSION } from '../version.js';
/** The `ischedule` command. */
import { demo, demoHelp } from './demo.js';
import { discover, discoverHelp } from './discover.js';
import { doctor, doctorHelp } from './doctor.js';
import { keygen, keygenHelp } from './keygen.js';
import { outbox, outboxHelp } from './outbox.js';
import { CommandError, consoleOutput, type Output } from './output.js';
import { send, sendHelp } from './send.js';
import { serve, serveHelp } from './serve.js';
import { verify, verifyHelp } from './verify.js';

type Command = { run: (argv: string[], out: Output) => void | Promise<void>; help: string; summary: string };

const commands: Record<string, Command> = {
  serve: { run: serve, help: serveHelp, summary: 'run an iSchedule server (a config file, or the sample)' },
  keygen: { run: keygen, help: keygenHelp, summary: 'make a signing key and the records that publish it' },
  discover: { run: discover, help: discoverHelp, summary: "show a domain's receiver and its capabilities" },
  send: { run: send, help: sendHelp, summary: 'sign and send an iTIP message (or queue it: --queue)' },
  outbox: { run: outbox, help: outboxHelp, summary: "list the server's outbox; retry or cancel a job" },
  verify: { run: verify, help: verifyHelp, summary: 'explain the DKIM checks of a captured request' },
  doctor: { run: doctor, help: doctorHelp, summary: "check a domain's whole iSchedule setup" },
  demo: { run: demo, help: demoHelp, summary: 'two domains on loopback: invitation, reply, free-busy' },
};

const usage = `Usage: ischedule <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run "ischedule help <command>" (or "ischedule <command> --help") for a command's options,
"ischedule --version" for the version.`;

export async function main(argv: string[], out: Output = consoleOutput): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    out.line(VERSION);
    return 0;
  }
  if (name === 'help' && rest.length > 0) return main([rest[0]!, '--help'], out);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out.line(usage);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    out.error(`ischedule: unknown command "${name}"\n\n${usage}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out.line(command.help);
    return 0;
  }
  try {
    await command.run(rest, out);
    return 0;
  } catch (error) {
    if (error instanceof CommandError) {
      out.error(`ischedule ${name}: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      out.error(`ischedule ${name}: ${error.message}\n\n${command.help}`);
      return 2;
    }
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/ischedule')) {
  main(process.argv.slice(2)).then(
    // Done is done: a library timer left behind (BullMQ's, when Redis went away) must not keep
    // the command alive. Standard output is synchronous on pipes and files here.
    (code) => process.exit(code),
    (error: unknown) => {
      consoleOutput.error(
        `ischedule: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      process.exitCode = 70;
    },
  );
}
