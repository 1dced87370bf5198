export { DEFAULT_RETRY, type RetryPolicy } from './attempt.js';
export type { FallbackReason, OutboxMessage, ReceiverRoute, RecipientState, RecipientStatus } from './job.js';
export {
  type FallbackRequest,
  IScheduleOutbox,
  type OutboxJobView,
  type OutboxOptions,
  type StatusUpdate,
} from './outbox.js';
