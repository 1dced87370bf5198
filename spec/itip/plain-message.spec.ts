/**
 * The one-pass reading of plain messages against the full ical.js parse: wherever the fast path
 * answers, the full parse accepts the same message with the same facts, tree and check outcomes;
 * and the receiver's parse (fast, else full) accepts and refuses exactly what the full parse does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type ParsedMessage, parseFullMessage, parseMessageTree } from '../../lib/itip/message.js';
import { parsePlainMessage } from '../../lib/itip/plain-message.js';
import type { StructureLimits } from '../../lib/itip/structure.js';
import { checkLimits, checkParticipants, IScheduleError } from '../support/api.js';
import { fixture } from '../support/fixtures.js';
import { fuzzRuns } from '../support/fuzz.js';

const ADDRESSES = [
  'mailto:bernard@example.com',
  'mailto:cyrus@example.org',
  'mailto:Cyrus@EXAMPLE.org',
  'mailto:dana@example.net',
];

/** A valid UTC or floating DATE-TIME, years 1000-9999. */
const goodDateTime = fc
  .record({
    year: fc.integer({ min: 1000, max: 9999 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 28 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 60 }),
    utc: fc.boolean(),
  })
  .map(
    (d) =>
      `${pad(d.year, 4)}${pad(d.month, 2)}${pad(d.day, 2)}T${pad(d.hour, 2)}${pad(d.minute, 2)}${pad(d.second, 2)}${d.utc ? 'Z' : ''}`,
  );

/** Digits in the DATE-TIME shape, any of them out of range (31 April, 29 February, hour 24, year 0). */
const anyDateTime = fc.oneof(
  goodDateTime,
  fc
    .record({
      year: fc.constantFrom(0, 4, 99, 400, 999, 1900, 2000, 2004, 2100, 2023),
      month: fc.integer({ min: 0, max: 13 }),
      day: fc.integer({ min: 0, max: 32 }),
      hour: fc.integer({ min: 0, max: 25 }),
      second: fc.integer({ min: 58, max: 61 }),
    })
    .map(
      (d) => `${pad(d.year, 4)}${pad(d.month, 2)}${pad(d.day, 2)}T${pad(d.hour, 2)}00${pad(d.second, 2)}Z`,
    ),
  fc.constantFrom(
    '20040902',
    '2004-09-02T13:00:00Z',
    '20040902T1300Z',
    '20040902t130000z',
    '',
    '00000229T120000Z',
    '00040229T120000Z',
    '19000229T120000Z',
    '20000229T120000Z',
    '21000229T000000Z',
    '20040229T000000Z',
    '20230229T000000Z',
    '20230431T000000Z',
    '99991231T235960Z',
    '20041231T240000Z',
  ),
);

const text = fc.oneof(
  fc.constantFrom('Design meeting', 'Réunion 会議', 'a\\, b\\; c\\n d', 'trailing ', 'x:y;z=1', ''),
  fc.string({ maxLength: 12 }),
);

const parameter = fc.oneof(
  fc.constantFrom(
    'PARTSTAT=ACCEPTED',
    'ROLE=REQ-PARTICIPANT',
    'RSVP=TRUE',
    'CN=Cyrus Daboo',
    'CN="Cyrus Daboo"',
    'CN="Daboo, Cyrus"',
    'CN="a:b"',
    'CN="unterminated',
    'CN=',
    'X-NUM-GUESTS=2',
    'DELEGATED-TO="mailto:dana@example.net"',
    'SENT-BY="mailto:x@example.com"',
    'LANGUAGE=en',
    'TZID=Europe/Paris',
    'VALUE=TEXT',
    'novalue',
    '=x',
    'cn=lower^ncase',
    'CN=Daboo, Cyrus',
    'MEMBER=a,b',
    'DELEGATED-TO=x,y',
  ),
);

const withParameters = (name: string, value: fc.Arbitrary<string>) =>
  fc
    .tuple(fc.array(parameter, { maxLength: 3 }), value)
    .map(([parameters, v]) => `${[name, ...parameters].join(';')}:${v}`);

const componentLine = fc.oneof(
  { weight: 6, arbitrary: withParameters('ATTENDEE', fc.constantFrom(...ADDRESSES, '', 'a,b')) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom('DTSTAMP', 'DTSTART', 'DTEND', 'DUE', 'CREATED', 'LAST-MODIFIED', 'COMPLETED'),
        fc.oneof(
          { weight: 4, arbitrary: fc.constant('') },
          fc.constantFrom(';TZID=Europe/Paris', ';TZID=No/Where', ';VALUE=DATE', ';X-A=b'),
        ),
        anyDateTime,
      )
      .map(([name, parameters, value]) => `${name}${parameters}:${value}`),
  },
  { weight: 3, arbitrary: text.map((t) => `SUMMARY:${t}`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'SEQUENCE:0',
      'SEQUENCE:12',
      'SEQUENCE:x',
      'PRIORITY:5',
      'STATUS:CONFIRMED',
      'TRANSP:OPAQUE',
      'CLASS:PUBLIC',
      'URL:https://example.com/e',
      'DURATION:PT1H',
      'DURATION:PXYZ',
      'LOCATION;ALTREP="cid:x":Room',
      'DESCRIPTION:Agenda\\nItems',
      'COMMENT:ok',
      'X-APPLE-TRAVEL:1',
      'X-A;X-B=c:d',
      'x-lower:1',
      'X-A;VALUE=DATE-TIME:garbage',
      'X-B;VALUE=DATE-TIME:20040902T130000Z',
      'SUMMARY;VALUE=DATE:x',
      'COMMENT;VALUE=PERIOD:20040902T130000Z/PT1H',
      'summary:lower-case name',
      'RRULE:FREQ=DAILY;COUNT=3',
      'RDATE:20040903T130000Z',
      'EXDATE:20040903T130000Z',
      'RECURRENCE-ID:20040903T130000Z',
      'ATTACH:https://example.com/a.pdf',
      'ATTACH;ENCODING=BASE64;VALUE=BINARY:AAAA',
      'GEO:1.5;2.5',
      'REQUEST-STATUS:2.0;Success',
      'CATEGORIES:a,b',
      'BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:x\r\nEND:VALARM',
      'NOCOLON',
      '',
      ' leading space',
      'UID:second-uid',
      'ORGANIZER:mailto:dana@example.net',
    ),
  },
);

interface Shape {
  readonly calendarLines: readonly string[];
  readonly kind: string;
  readonly uid: string | undefined;
  readonly organizer: string | undefined;
  readonly lines: readonly string[];
  readonly tail: string;
  readonly newline: string;
  readonly folds: readonly number[];
}

const shape: fc.Arbitrary<Shape> = fc.record({
  calendarLines: fc.oneof(
    { weight: 5, arbitrary: fc.constant(['VERSION:2.0', 'PRODID:-//Example//EN', 'METHOD:REQUEST']) },
    fc.shuffledSubarray(
      [
        'VERSION:2.0',
        'PRODID:-//Example//EN',
        'CALSCALE:GREGORIAN',
        'X-WR-CALNAME:Team',
        'METHOD:REPLY',
        'METHOD:request',
        'VERSION:2.1',
        'method:CANCEL',
        'METHOD;X-A=b:ADD',
        'METHOD:',
      ],
      { minLength: 1 },
    ),
  ),
  kind: fc.oneof(
    { weight: 6, arbitrary: fc.constant('VEVENT') },
    fc.constantFrom('VTODO', 'VJOURNAL', 'VFREEBUSY', 'vevent'),
  ),
  uid: fc.oneof(
    { weight: 6, arbitrary: fc.constant('34222-232@example.com') },
    fc.constantFrom(undefined, '', 'a\\,b', 'x y'),
  ),
  organizer: fc.oneof(
    { weight: 4, arbitrary: fc.constant('ORGANIZER:mailto:bernard@example.com') },
    withParameters('ORGANIZER', fc.constantFrom(...ADDRESSES)),
    fc.constantFrom(undefined, 'ORGANIZER:', 'ORGANIZER:a,b'),
  ),
  lines: fc.array(componentLine, { maxLength: 8 }),
  tail: fc.oneof(
    { weight: 6, arbitrary: fc.constant('\r\n') },
    fc.constantFrom('', '\r\n\r\n', '\n', '\r\nX:1\r\n', '\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\n', '  '),
  ),
  newline: fc.oneof({ weight: 4, arbitrary: fc.constant('\r\n') }, fc.constantFrom('\n', '\r\r\n')),
  folds: fc.array(fc.nat({ max: 400 }), { maxLength: 3 }),
});

function render(s: Shape): string {
  const lines = [
    'BEGIN:VCALENDAR',
    ...s.calendarLines,
    `BEGIN:${s.kind}`,
    ...(s.uid === undefined ? [] : [`UID:${s.uid}`]),
    ...(s.organizer === undefined ? [] : [s.organizer]),
    ...s.lines,
    `END:${s.kind}`,
    'END:VCALENDAR',
  ];
  let body = lines.join('\r\n').replaceAll('\r\n', s.newline);
  // Fold at the chosen places (never inside a line break or a surrogate pair).
  for (const at of [...s.folds].sort((a, b) => b - a)) {
    if (at <= 0 || at >= body.length) continue;
    if ('\r\n'.includes(body[at - 1]!) || '\r\n'.includes(body[at]!)) continue;
    if (/[\uDC00-\uDFFF]/.test(body[at]!)) continue;
    body = `${body.slice(0, at)}${s.newline} ${body.slice(at)}`;
  }
  return body + s.tail;
}

const limitsArbitrary: fc.Arbitrary<StructureLimits | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  fc.record({
    maxLines: fc.integer({ min: 5, max: 30 }),
    maxComponents: fc.integer({ min: 1, max: 3 }),
    maxParametersPerProperty: fc.integer({ min: 0, max: 3 }),
    maxParameters: fc.integer({ min: 0, max: 6 }),
  }),
);

const checksArbitrary = fc.record({
  originator: fc.constantFrom(...ADDRESSES),
  recipients: fc.subarray(ADDRESSES, { minLength: 1 }),
  limits: fc.record({
    minDateTime: fc.constantFrom(undefined, '19000101T000000Z', '20040902T130000Z'),
    maxDateTime: fc.constantFrom(undefined, '21001231T235959Z', '20040902T130000Z'),
    maxInstances: fc.constantFrom(undefined, 0, 1, 100),
    attachments: fc.constantFrom(
      undefined,
      { inline: false, external: true },
      { inline: true, external: false },
    ),
  }),
});

type Outcome =
  | { readonly ok: true; readonly value: ParsedMessage }
  | { readonly ok: false; readonly error: string };

function outcome(run: () => ParsedMessage): Outcome {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    assert.ok(error instanceof IScheduleError, `not an IScheduleError: ${String(error)}`);
    return { ok: false, error: `${error.code}: ${error.message}` };
  }
}

function checkOutcome(run: () => void): string {
  try {
    run();
    return 'accepted';
  } catch (error) {
    assert.ok(error instanceof IScheduleError);
    return `${error.code}: ${error.message}`;
  }
}

/** An outcome as comparable data: the refusal, or the facts. */
function summary(result: Outcome) {
  return result.ok ? facts(result.value) : result.error;
}

const FACTS = [
  'text',
  'method',
  'component',
  'uid',
  'organizer',
  'attendees',
  'instances',
  'attendeeCounts',
  'dates',
  'inlineAttachments',
] as const;

/** What the checks and the host see of a message (its tree compared apart). */
function facts(m: ParsedMessage): Record<string, unknown> {
  return Object.fromEntries(FACTS.map((name) => [name, m[name]]));
}

type Checks = typeof checksArbitrary extends fc.Arbitrary<infer T> ? T : never;

const DEFAULT_CHECKS: Checks = {
  originator: 'mailto:bernard@example.com',
  recipients: ['mailto:cyrus@example.org'],
  limits: {
    minDateTime: '19000101T000000Z',
    maxDateTime: '21001231T235959Z',
    maxInstances: 1,
    attachments: undefined,
  },
};

/**
 * Both paths on one message: the receiver's parse refuses or accepts as the full parse does;
 * where the fast path answers, the full parse accepts it with the same facts, tree and check
 * outcomes. Returns whether the fast path answered.
 */
function comparePaths(body: string, limits: StructureLimits | undefined, checks: Checks): boolean {
  const fast = parsePlainMessage(body, limits);
  const full = outcome(() => parseFullMessage(body, limits));
  const receivers = outcome(() => parseMessageTree(body, limits));
  assert.deepEqual(summary(receivers), summary(full), JSON.stringify(body));
  if (!fast) return false;
  assert.ok(
    full.ok,
    `the fast path accepted what the full parse refuses:\n${body}\n${full.ok || full.error}`,
  );
  assert.deepEqual(facts(fast), facts(full.value), JSON.stringify(body));
  assert.deepEqual(fast.calendar.toJSON(), full.value.calendar.toJSON());
  assert.deepEqual(
    fast.components.map((c) => c.toJSON()),
    full.value.components.map((c) => c.toJSON()),
  );
  for (const run of [
    (m: ParsedMessage) => checkParticipants(m, checks.originator, checks.recipients),
    (m: ParsedMessage) => checkLimits(m, checks.limits),
  ]) {
    assert.equal(
      checkOutcome(() => run(fast)),
      checkOutcome(() => run(full.value)),
    );
  }
  return true;
}

/** A plain invitation, as lines: the edits below each change one thing about it. */
const PLAIN_LINES = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//Example//EN',
  'METHOD:REQUEST',
  'BEGIN:VEVENT',
  'UID:edge-1',
  'DTSTAMP:20260101T000000Z',
  'DTSTART:20260102T100000Z',
  'ORGANIZER;CN=Bernard:mailto:bernard@example.com',
  'ATTENDEE;PARTSTAT=NEEDS-ACTION;CN="Cyrus Daboo":mailto:cyrus@example.org',
  'SUMMARY:Edge',
  'END:VEVENT',
  'END:VCALENDAR',
];
const plainText = (lines: readonly string[], newline = '\r\n') => `${lines.join(newline)}${newline}`;
/** The plain invitation with `line` put before the line at `before` (e.g. 'SUMMARY'). */
const adding = (line: string, before = 'SUMMARY:') =>
  PLAIN_LINES.flatMap((l) => (l.startsWith(before) ? [line, l] : [l]));
/** The plain invitation with the line starting `prefix` replaced (or dropped, with no line). */
const replacing = (prefix: string, ...lines: string[]) =>
  PLAIN_LINES.flatMap((l) => (l.startsWith(prefix) ? lines : [l]));
/** Lines and parameters of the plain invitation, as the structure limits count them. */
const PLAIN_COUNTS = { lines: PLAIN_LINES.length, parameters: 3, perProperty: 2 };

/** Plain messages the fast path must read itself: every property and shape it claims to take. */
const STAYS_PLAIN: ReadonlyArray<readonly [string, string, StructureLimits?]> = [
  ['the plain invitation', plainText(PLAIN_LINES)],
  ['LF line ends', plainText(PLAIN_LINES, '\n')],
  ['no line end after the last line', PLAIN_LINES.join('\r\n')],
  ['a line folded with a space', plainText(replacing('SUMMARY:', 'SUMMARY:Ed', ' ge'))],
  ['a line folded with a tab', plainText(replacing('SUMMARY:', 'SUMMARY:Ed', '\tge'))],
  ['CALSCALE', plainText(adding('CALSCALE:GREGORIAN', 'METHOD:'))],
  ['an X- property of the calendar', plainText(adding('X-WR-CALNAME:Team', 'METHOD:'))],
  ['a lower-case METHOD', plainText(replacing('METHOD:', 'METHOD:request'))],
  ['a VTODO', plainText(PLAIN_LINES.map((l) => l.replace('VEVENT', 'VTODO')))],
  ...['DUE', 'CREATED', 'LAST-MODIFIED', 'COMPLETED', 'DTEND'].map(
    (name) => [name, plainText(adding(`${name}:20260102T110000Z`))] as const,
  ),
  ['a floating date-time', plainText(adding('DTEND:20260102T110000'))],
  ...[
    'SEQUENCE:1',
    'PRIORITY:5',
    'DESCRIPTION:Agenda',
    'LOCATION:Room 1',
    'COMMENT:ok',
    'STATUS:CONFIRMED',
    'TRANSP:OPAQUE',
    'CLASS:PUBLIC',
    'URL:https://example.com/e',
    'DURATION:PT1H',
    'X-APPLE-TRAVEL:1',
    'X-A;X-B=c:d',
    'X-A09:1',
  ].map((line) => [line, plainText(adding(line))] as const),
  [
    'ATTENDEE parameters quoted and not',
    plainText(adding('ATTENDEE;RSVP=TRUE;CN="Dana D":mailto:dana@example.net')),
  ],
  ['an empty parameter value', plainText(adding('ATTENDEE;CN=:mailto:dana@example.net'))],
  [
    'exactly the structure limits',
    plainText(PLAIN_LINES),
    {
      maxLines: PLAIN_COUNTS.lines,
      maxParameters: PLAIN_COUNTS.parameters,
      maxParametersPerProperty: PLAIN_COUNTS.perProperty,
      maxComponents: 2,
    },
  ],
];

/** One edit each at the edges the one-pass reading decides on: either path may answer, alike. */
const EDGES: ReadonlyArray<readonly [string, string, StructureLimits?]> = [
  ['METHOD twice', plainText(adding('METHOD:REPLY', 'BEGIN:VEVENT'))],
  ['VERSION twice', plainText(adding('VERSION:2.0', 'METHOD:'))],
  ['no VERSION', plainText(replacing('VERSION:'))],
  ['no METHOD', plainText(replacing('METHOD:'))],
  ['VERSION 2.1', plainText(replacing('VERSION:', 'VERSION:2.1'))],
  ['a parameter on METHOD', plainText(replacing('METHOD:', 'METHOD;X-A=b:REQUEST'))],
  [
    'a parameter on METHOD, at the parameter limit',
    plainText(replacing('METHOD:', 'METHOD;X-A=b:REQUEST')),
    { maxParameters: PLAIN_COUNTS.parameters },
  ],
  ['a parameter on VERSION', plainText(replacing('VERSION:', 'VERSION;X-A=b:2.0'))],
  ...['REQ UEST', '1REQUEST', 'REQUEST1', 'RE/QUEST', ''].map(
    (method) => [`METHOD:${method}`, plainText(replacing('METHOD:', `METHOD:${method}`))] as const,
  ),
  ['an unknown calendar property', plainText(adding('FOO:bar', 'METHOD:'))],
  ['a date-time of the calendar', plainText(adding('DTSTART:18000101T000000Z', 'METHOD:'))],
  ['an attachment of the calendar', plainText(adding('ATTACH;ENCODING=BASE64;VALUE=BINARY:AAAA', 'METHOD:'))],
  [
    'a VJOURNAL closed as a VTODO',
    plainText(
      PLAIN_LINES.map((l) => l.replace('BEGIN:VEVENT', 'BEGIN:VJOURNAL').replace('END:VEVENT', 'END:VTODO')),
    ),
  ],
  [
    'a VJOURNAL closed as undefined',
    plainText(
      PLAIN_LINES.map((l) =>
        l.replace('BEGIN:VEVENT', 'BEGIN:VJOURNAL').replace('END:VEVENT', 'END:undefined'),
      ),
    ),
  ],
  ['an x- calendar property in lower case', plainText(adding('x-wr-calname:Team', 'METHOD:'))],
  ...['VJOURNAL', 'VFREEBUSY', 'vevent', 'VALARM'].map(
    (kind) => [kind, plainText(PLAIN_LINES.map((l) => l.replace('VEVENT', kind)))] as const,
  ),
  ['UID twice', plainText(adding('UID:edge-2'))],
  ['an empty UID', plainText(replacing('UID:', 'UID:'))],
  ['a UID with an escape', plainText(replacing('UID:', 'UID:a\\,b'))],
  ['no UID', plainText(replacing('UID:'))],
  ['ORGANIZER twice', plainText(adding('ORGANIZER:mailto:dana@example.net'))],
  ['an empty ORGANIZER', plainText(replacing('ORGANIZER', 'ORGANIZER:'))],
  [
    'two ORGANIZER addresses',
    plainText(replacing('ORGANIZER', 'ORGANIZER:mailto:a@example.com,mailto:b@example.com')),
  ],
  ['no ORGANIZER', plainText(replacing('ORGANIZER'))],
  ['an empty ATTENDEE', plainText(adding('ATTENDEE:'))],
  ['two ATTENDEE addresses', plainText(adding('ATTENDEE:mailto:a@example.com,mailto:b@example.com'))],
  ['an empty line', plainText(adding(''))],
  ['a lone CR', plainText(replacing('SUMMARY:', 'SUMMARY:a\rb'))],
  [
    'a lone CR, at the line limit',
    plainText(replacing('SUMMARY:', 'SUMMARY:a\rb')),
    { maxLines: PLAIN_COUNTS.lines },
  ],
  ['a lone CR in a date-time', plainText(adding('DTEND:20260102T110000Z\r'))],
  ['a lone CR in the ORGANIZER', plainText(replacing('ORGANIZER', 'ORGANIZER:mailto:a@example.com\r'))],
  ['a CR before the last line end', `${PLAIN_LINES.join('\r\n')}\r\r\n`],
  ['a space before BEGIN', ` ${plainText(PLAIN_LINES)}`],
  ['a line after END:VCALENDAR', `${plainText(PLAIN_LINES)}X:1\r\n`],
  ['an empty line after END:VCALENDAR', `${plainText(PLAIN_LINES)}\r\n`],
  ['no END:VCALENDAR', plainText(PLAIN_LINES.slice(0, -1))],
  ['no END:VEVENT', plainText([...PLAIN_LINES.slice(0, -2), 'END:VCALENDAR'])],
  ['a nested component', plainText(adding('BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM'))],
  ...[
    'X- A:1',
    'X-A B:1',
    'X-\u0001:1',
    'X-NOCOLON',
    'summary:x',
    'SUM MARY:x',
    'X-a:1',
    'X-\u00c4:1',
    '1X:2',
    'X-:1',
    '-X:1',
    'X_A:1',
    'NOCOLON',
    ':x',
  ].map((line) => [`the line ${JSON.stringify(line)}`, plainText(adding(line))] as const),
  ...[
    'ATTENDEE;CN:mailto:dana@example.net',
    'ATTENDEE;RSVP:mailto:x@example.com=1:mailto:dana@example.net',
    'ATTENDEE;=x:mailto:dana@example.net',
    'ATTENDEE;C N=x:mailto:dana@example.net',
    'ATTENDEE;CN!=x:mailto:dana@example.net',
    'ATTENDEE;value=TEXT:mailto:dana@example.net',
    'ATTENDEE;TzId=Europe/Paris:mailto:dana@example.net',
    'ATTENDEE;CN="unterminated:mailto:dana@example.net',
    'ATTENDEE;CN="x"y:mailto:dana@example.net',
    'ATTENDEE;CN="x";RSVP=TRUE:mailto:dana@example.net',
    'ATTENDEE;CN="\u0001x":mailto:dana@example.net',
    'ATTENDEE;CN="x\u0001":mailto:dana@example.net',
    'ATTENDEE;CN="a,b":mailto:dana@example.net',
    'ATTENDEE;CN=a"b:mailto:dana@example.net',
    'ATTENDEE;CN=\u0001a:mailto:dana@example.net',
    'ATTENDEE;CN=a\u0001:mailto:dana@example.net',
    'X-A;VALUE=DATE-TIME:garbage',
    'X-B;VALUE=DATE-TIME:20040902T130000Z',
    'SUMMARY;VALUE=DATE:x',
    'COMMENT;value=PERIOD:20040902T130000Z/PT1H',
    'X-A;X-B=c',
    'SUMMARY;LANGUAGE=en',
    'ATTENDEE;CN=x',
    'ATTENDEE;CN="x"',
    'ATTENDEE;CN=x;',
    'ATTENDEE;',
  ].map((line) => [`the line ${JSON.stringify(line)}`, plainText(adding(line))] as const),
  ...[
    '120260102T100000Z',
    '2026010210000000T000000Z',
    'x20260102T100000Z',
    '20260102T100000Z1',
    '20260102T100000ZZ',
    '20260102T100000z',
    '20260230T100000Z',
    '20260102',
    '',
  ].map((value) => [`DTEND:${value}`, plainText(adding(`DTEND:${value}`))] as const),
  ['a parameter on a date-time', plainText(adding('DTEND;X-A=b:20260102T110000Z'))],
  ['one component allowed', plainText(PLAIN_LINES), { maxComponents: 1 }],
  ['one line too many', plainText(PLAIN_LINES), { maxLines: PLAIN_COUNTS.lines - 1 }],
  ['one parameter too many', plainText(PLAIN_LINES), { maxParameters: PLAIN_COUNTS.parameters - 1 }],
  [
    'one parameter too many on a property',
    plainText(PLAIN_LINES),
    { maxParametersPerProperty: PLAIN_COUNTS.perProperty - 1 },
  ],
];

describe('plain messages read in one pass', () => {
  it('answers only for messages the full parse accepts, with the same facts, tree and check outcomes', () => {
    let answered = 0;
    fc.assert(
      fc.property(shape, limitsArbitrary, checksArbitrary, (s, limits, checks) => {
        if (comparePaths(render(s), limits, checks)) answered++;
      }),
      { numRuns: fuzzRuns(3000) },
    );
    // Not a vacuous pass: a good share of the generated messages are plain.
    assert.ok(answered > fuzzRuns(3000) / 20, `only ${answered} messages were read by the fast path`);
  });

  it('reads each property and shape it claims itself, as the full parse reads them', () => {
    for (const [name, body, limits] of STAYS_PLAIN) {
      assert.ok(comparePaths(body, limits, DEFAULT_CHECKS), `${name}: the fast path did not read it`);
    }
  });

  it('agrees with the full parse at each edge of what it reads (one edit to a plain message each)', () => {
    let answered = 0;
    for (const [name, body, limits] of EDGES) {
      try {
        if (comparePaths(body, limits, DEFAULT_CHECKS)) answered++;
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}`);
      }
    }
    // Most edges are left to the full parse; one that the fast path reads must be read alike.
    assert.ok(answered < EDGES.length / 2, `the fast path read ${answered} of ${EDGES.length} edges`);
  });

  it('reads every plain message itself (the full parse is the exception)', () => {
    const plain = fc.record({
      method: fc.constantFrom('REQUEST', 'REPLY', 'CANCEL', 'ADD', 'REFRESH', 'COUNTER', 'DECLINECOUNTER'),
      kind: fc.constantFrom('VEVENT', 'VTODO'),
      start: goodDateTime,
      attendees: fc.array(
        fc.tuple(
          fc.constantFrom(...ADDRESSES),
          fc.constantFrom('', ';PARTSTAT=ACCEPTED', ';CN="Cyrus Daboo";RSVP=TRUE'),
        ),
        { maxLength: 4 },
      ),
      summary: fc.constantFrom('Design meeting', 'Réunion 会議', 'a\\, b'),
      newline: fc.constantFrom('\r\n', '\n'),
    });
    fc.assert(
      fc.property(plain, (p) => {
        const body = [
          'BEGIN:VCALENDAR',
          'VERSION:2.0',
          'PRODID:-//Example//EN',
          `METHOD:${p.method}`,
          `BEGIN:${p.kind}`,
          'UID:plain-1',
          'DTSTAMP:20260101T000000Z',
          `DTSTART:${p.start}`,
          'ORGANIZER;CN=Bernard:mailto:bernard@example.com',
          ...p.attendees.map(([address, parameters]) => `ATTENDEE${parameters}:${address}`),
          `SUMMARY:${p.summary}`,
          `END:${p.kind}`,
          'END:VCALENDAR',
          '',
        ].join(p.newline);
        const fast = parsePlainMessage(body);
        assert.ok(fast, body);
        assert.deepEqual(facts(fast), facts(parseFullMessage(body)));
      }),
      { numRuns: fuzzRuns(1000) },
    );
  });

  it("reads the draft's example invitation in one pass and builds its tree only when asked", () => {
    const body = fixture('draft/a1-request.ics').toString();
    const message = parseMessageTree(body);
    assert.equal(Object.getOwnPropertyDescriptor(message, 'calendar'), undefined, 'no tree built up front');
    assert.deepEqual(facts(message), facts(parseFullMessage(body)));
    assert.equal(message.calendar.getFirstPropertyValue('method'), 'REQUEST');
    assert.equal(message.calendar, message.calendar, 'the tree is built once');
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (body) => {
        parsePlainMessage(`BEGIN:VCALENDAR\r\n${body}`);
        parsePlainMessage(body);
      }),
      { numRuns: fuzzRuns(2000) },
    );
  });
});

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
