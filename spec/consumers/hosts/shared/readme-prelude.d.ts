// What the README's examples take as given: the host's own data and functions.
declare const pem: string;
declare const users: { findByCalendarAddress(address: string): Promise<{ id: string } | null> };
declare const inboxes: { store(user: { id: string }, text: string): Promise<void> };
declare const events: {
  between(user: { id: string }, start: Date, end: Date): Promise<Array<{ start: Date; end: Date }>>;
};
declare const recipients: string[];
declare const itipText: string;
declare function sendByEmail(recipient: string, text: string): Promise<void>;
declare function retryLater(recipient: string, afterSeconds?: number): Promise<void>;
declare function setScheduleStatus(uid: string, recipient: string, status: string): Promise<void>;
declare const client: import('express-ischedule').IScheduleClient;
declare const messageId: string;
declare const onStatus: (update: import('express-ischedule').StatusUpdate) => Promise<void>;
declare const onFallback: (request: import('express-ischedule').FallbackRequest) => Promise<void>;
declare function recordScheduleStatus(recipient: string, status: string): void;
declare const adapter: import('express-ischedule').IScheduleAdapter<{ id: string }>;
