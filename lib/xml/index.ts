/** express-ischedule/xml: the iSchedule capabilities document, responses and errors. */
export {
  buildCapabilities,
  buildDraft01Capabilities,
  type CalendarDataType,
  type Capabilities,
  parseCapabilities,
} from './capabilities.js';
export { ISCHEDULE_NS, XmlError } from './document.js';
export {
  buildError,
  buildScheduleResponse,
  type ErrorResponse,
  parseError,
  parseScheduleResponse,
  type RecipientResponse,
} from './response.js';
