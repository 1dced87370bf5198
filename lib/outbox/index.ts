export { DEFAULT_RETRY, type RetryPolicy } from './attempt.js';
export { BullmqOutbox, type BullmqOutboxOptions } from './bullmq-outbox.js';
export type { FallbackReason, OutboxMessage, ReceiverRoute, RecipientState, RecipientStatus } from './job.js';
export {
  type EnqueueOptions,
  type FallbackRequest,
  IScheduleOutbox,
  type Outbox,
  type OutboxJobView,
  type OutboxOptions,
  type StatusUpdate,
} from './outbox.js';
export { ingestSpool, spoolCommand, spoolMessage } from './spool.js';
