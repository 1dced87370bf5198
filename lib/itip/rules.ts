/**
 * Who may send what to whom (draft -05 §3.3): the Originator and Recipients against the
 * message's ORGANIZER and ATTENDEEs, per METHOD. The same rules serve the receiver (refusing)
 * and the sender (refusing before any network I/O).
 */
import { IScheduleError } from '../errors.js';
import { normalizeAddress, sameAddress } from './address.js';
import type { ParsedMessage } from './message.js';

type Role = 'organizer' | 'attendee';

/** METHOD -> [who the Originator must be, who the Recipients must be]. */
const ROLES: Record<string, readonly [Role, Role | 'none']> = {
  PUBLISH: ['organizer', 'none'],
  REQUEST: ['organizer', 'attendee'],
  ADD: ['organizer', 'attendee'],
  CANCEL: ['organizer', 'attendee'],
  DECLINECOUNTER: ['organizer', 'attendee'],
  POLLSTATUS: ['organizer', 'attendee'],
  REPLY: ['attendee', 'organizer'],
  REFRESH: ['attendee', 'organizer'],
  COUNTER: ['attendee', 'organizer'],
};

/** Methods whose components carry exactly one ATTENDEE, the one replying. */
const SINGLE_ATTENDEE = new Set(['REPLY', 'REFRESH', 'COUNTER']);

/**
 * Throws an IScheduleError (`invalid-scheduling-message`, or `recipient-mismatch` for free-busy)
 * unless the Originator and Recipients may exchange this message.
 */
export function checkParticipants(
  message: ParsedMessage,
  originator: string,
  recipients: readonly string[],
): void {
  const roles = ROLES[message.method];
  if (!roles) throw invalid(`METHOD:${message.method} is not an iTIP method iSchedule can carry`);
  const [originatorRole, recipientRole] = roles;
  if (!message.organizer) throw invalid('the message has no ORGANIZER');

  if (SINGLE_ATTENDEE.has(message.method)) {
    for (const count of message.attendeeCounts) {
      if (count !== 1)
        throw invalid(
          `a ${message.method} must carry exactly one ATTENDEE, the one replying (found ${count})`,
        );
    }
  }
  if (originatorRole === 'organizer' && !sameAddress(originator, message.organizer)) {
    throw invalid(
      `the Originator ${originator} is not the ORGANIZER ${message.organizer}; iSchedule does not forward`,
    );
  }
  if (originatorRole === 'attendee' && !message.attendees.some((a) => sameAddress(a, originator))) {
    throw invalid(`the Originator ${originator} is not the replying ATTENDEE`);
  }

  if (recipientRole === 'none') throw invalid(`METHOD:${message.method} has no recipients in iSchedule`);
  if (message.component === 'VFREEBUSY' && message.method === 'REQUEST') {
    const wanted = new Set(message.attendees.map(normalizeAddress));
    const asked = new Set(recipients.map(normalizeAddress));
    if (wanted.size !== asked.size || [...asked].some((r) => !wanted.has(r))) {
      throw new IScheduleError(
        'recipient-mismatch',
        'the Recipients of a free-busy request must be exactly its ATTENDEEs, one for one',
      );
    }
    return;
  }
  for (const recipient of recipients) {
    const allowed =
      recipientRole === 'organizer'
        ? sameAddress(recipient, message.organizer)
        : message.attendees.some((a) => sameAddress(a, recipient));
    if (!allowed) {
      throw invalid(
        `the Recipient ${recipient} is not ${recipientRole === 'organizer' ? 'the ORGANIZER' : 'an ATTENDEE'}`,
      );
    }
  }
}

function invalid(description: string): IScheduleError {
  return new IScheduleError('invalid-scheduling-message', `invalid scheduling message: ${description}`);
}
