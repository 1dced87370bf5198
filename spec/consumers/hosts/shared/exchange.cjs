// One signed exchange through a host, with the package as that host loaded it (import or
// require): a receiver for example.org behind `serve`, a client for example.com sending to it.
'use strict';

const INVITATION = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//consumer test//EN',
  'METHOD:REQUEST',
  'BEGIN:VEVENT',
  'UID:consumer-1@example.com',
  'DTSTAMP:20260101T000000Z',
  'DTSTART:20270105T100000Z',
  'DTEND:20270105T110000Z',
  'SUMMARY:Consumer matrix',
  'ORGANIZER:mailto:organizer@example.com',
  'ATTENDEE:mailto:organizer@example.com',
  'ATTENDEE;RSVP=TRUE:mailto:bob@example.org',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

/**
 * @param {object} api the package's main entry as the host loaded it
 * @param {(options: object) => Promise<{ port: number, close(): Promise<void> }>} serve
 *   starts the host with the receiver made from these options
 */
async function exchange(api, serve) {
  const key = api.generateSigningKey();
  const delivered = [];
  const server = await serve({
    domains: ['example.org'],
    keys: api.privateExchangeKeys({ 'consumer._domainkey.example.com': key.record }),
    adapter: {
      lookupUser: ({ address }) => (address === 'mailto:bob@example.org' ? 'bob' : null),
      deliverToInbox: async ({ user, message }) => {
        delivered.push({ user, uid: message.uid });
      },
      getFreeBusy: () => [],
    },
  });
  try {
    const client = new api.IScheduleClient({
      signing: { domain: 'example.com', selector: 'consumer', privateKey: key.privateKey },
      queryMethods: ['private-exchange'],
      overrides: { 'example.org': `http://127.0.0.1:${server.port}/.well-known/ischedule` },
    });
    const results = await client.send({
      originator: 'mailto:organizer@example.com',
      recipients: ['mailto:bob@example.org'],
      calendar: INVITATION,
    });
    const status = results.map((r) => r.requestStatus).join(', ');
    if (results.length !== 1 || results[0].outcome !== 'delivered')
      throw new Error(`expected delivery, got ${status}: ${results[0]?.description ?? ''}`);
    if (delivered.length !== 1 || delivered[0].uid !== 'consumer-1@example.com')
      throw new Error(`the adapter saw ${JSON.stringify(delivered)}`);
    return status;
  } finally {
    await server.close();
  }
}

/** Listens on loopback with a node:http request listener. */
function listen(http, listener) {
  const server = http.createServer(listener);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        close: () => new Promise((done) => server.close(() => done())),
      }),
    );
  });
}

module.exports = { exchange, listen };
