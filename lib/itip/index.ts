export { addressDomain, isCalendarAddress, normalizeAddress, sameAddress, withinDomain } from './address.js';
export {
  type BusyPeriod,
  type BusyType,
  buildFreeBusyReply,
  type FreeBusyRange,
  freeBusyRange,
} from './freebusy.js';
export { checkLimits, type MessageLimits } from './limits.js';
export { parseScheduleMessage, type ScheduleMessage } from './message.js';
export { checkParticipants } from './rules.js';
