/** express-ischedule/itip: iTIP messages as the receiver reads them, and calendar addresses. */
export { IScheduleError } from '../errors.js';
export { addressDomain, isCalendarAddress, normalizeAddress, sameAddress, withinDomain } from './address.js';
export type { BusyPeriod, BusyType } from './schedule-message.js';
export { parseScheduleMessage, type ScheduleMessage } from './schedule-message.js';
