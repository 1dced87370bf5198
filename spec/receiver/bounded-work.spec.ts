/**
 * One request cannot hold the event loop: the iCalendar data is bounded before ical.js parses
 * it, recurrences are counted from their rules (never expanded), free-busy is bounded in range
 * and in the periods answered, and a sender's RSA key cannot make verification expensive.
 */
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type JsonWebKeyInput } from 'node:crypto';
import { describe, it } from 'node:test';
import ICAL from 'ical.js';
import { type BusyPeriod, importPublicKey, privateExchangeKeys, QUERY_METHODS } from '../support/api.js';
import { draftHeaders, fixture, keys } from '../support/fixtures.js';
import { post, startReceiver, type TestReceiver } from '../support/receiver.js';

const invitation = fixture('draft/a1-request.ics').toString();
const freebusy = fixture('draft/a2-freebusy.ics').toString();

/** The draft's invitation with `lines` added to its VEVENT. */
const withLines = (lines: string) => invitation.replace('END:VEVENT', `${lines}END:VEVENT`);

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

describe('iCalendar work per request is bounded', () => {
  const send = (receiver: TestReceiver, body: string) => post(receiver, { headers: draftHeaders(), body });

  it('refuses a 1 MiB body of parameters at once, and a small request beside it is not held', async () => {
    const receiver = await startReceiver();
    try {
      const line = `X-A;${Array.from({ length: 200 }, (_, i) => `P${i}=v`).join(';')}:x\r\n`;
      const big = withLines(line.repeat(Math.floor(1_000_000 / line.length)));
      const large = timed(() => send(receiver, big));
      await new Promise((resolve) => setTimeout(resolve, 20));
      const small = await timed(() => send(receiver, invitation));
      const { result, ms } = await large;
      assert.equal(result.status, 400);
      assert.match(result.error?.description ?? '', /more than 32 parameters on one property/);
      assert.equal(small.result.status, 200);
      assert.ok(small.ms < 300, `the small request took ${small.ms.toFixed(0)} ms`);
      assert.ok(ms < 500, `the large one took ${ms.toFixed(0)} ms`);
    } finally {
      await receiver.close();
    }
  });

  it('refuses more lines, components or parameters than it parses, naming the bound', async () => {
    const receiver = await startReceiver();
    try {
      const cases: Array<[string, RegExp]> = [
        ['EXDATE:20040903T130000Z\r\n'.repeat(40_000), /more than 10000 content lines/],
        [
          'BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\n'.repeat(1000),
          /more than 1000 components/,
        ],
        [`X-A;A=1;B=2;C=3;D=4;E=5:x\r\n`.repeat(4100), /more than 20000 parameters/],
      ];
      for (const [lines, pattern] of cases) {
        const { result, ms } = await timed(() => send(receiver, withLines(lines)));
        assert.equal(result.error?.code, 'invalid-calendar-data');
        assert.match(result.error?.description ?? '', pattern);
        assert.ok(ms < 500, `${ms.toFixed(0)} ms`);
      }
    } finally {
      await receiver.close();
    }
  });

  it('counts recurrences from the rule: thousands of EXDATEs cost nothing, a monthly rule needs no expansion', async () => {
    const receiver = await startReceiver();
    try {
      const exdates = Array.from({ length: 9000 }, (_, i) => {
        const day = new Date(Date.UTC(2004, 8, 3) + i * 86_400_000)
          .toISOString()
          .slice(0, 10)
          .replaceAll('-', '');
        return `EXDATE:${day}T130000Z\r\n`;
      }).join('');
      const daily = await timed(() => send(receiver, withLines(`RRULE:FREQ=DAILY;COUNT=1000\r\n${exdates}`)));
      assert.equal(daily.result.status, 200, daily.result.text);
      assert.ok(daily.ms < 1000, `${daily.ms.toFixed(0)} ms`);
      // The last Friday of each month for 83 years: counted from COUNT, not by iterating.
      const monthly = await timed(() =>
        send(receiver, withLines('RRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=1000\r\n')),
      );
      assert.equal(monthly.result.status, 200, monthly.result.text);
      assert.ok(monthly.ms < 200, `${monthly.ms.toFixed(0)} ms`);
      const weekly = await send(
        receiver,
        withLines('RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20140101T000000Z\r\n'),
      );
      assert.equal(weekly.status, 200, 'about 990 instances up to UNTIL');
      const tooMany = await send(
        receiver,
        withLines('RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20140101T000000Z\r\n'),
      );
      assert.equal(tooMany.error?.code, 'max-instances');
      assert.match(tooMany.error?.description ?? '', /up to \d+ instances, more than the 1000 accepted/);
    } finally {
      await receiver.close();
    }
  });

  it('refuses an RRULE that matches no date at once (ical.js would search for it forever)', async () => {
    const receiver = await startReceiver();
    try {
      for (const rule of [
        'FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30',
        'FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31;COUNT=3',
        'FREQ=MONTHLY;BYDAY=1MO;BYMONTHDAY=15',
      ]) {
        const { result, ms } = await timed(() => send(receiver, withLines(`RRULE:${rule}\r\n`)));
        assert.equal(result.error?.code, 'invalid-calendar-data', rule);
        assert.match(result.error?.description ?? '', /the RRULE can match no date/);
        assert.ok(ms < 200, `${rule}: ${ms.toFixed(0)} ms`);
      }
      // A rare date is still a date: every fourth year.
      const leap = await send(receiver, withLines('RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=5\r\n'));
      assert.equal(leap.status, 200, leap.text);
    } finally {
      await receiver.close();
    }
  });

  it('answers a malformed recurrence with invalid-calendar-data (400), never a 5xx', async () => {
    const receiver = await startReceiver();
    try {
      for (const [rule, pattern] of [
        ['INTERVAL=2', /no valid FREQ/],
        ['FREQ=DAILY;UNTIL=garbage', /unreadable RRULE|malformed/],
        ['FREQ=DAILY;UNTIL=20041301T000000Z', /impossible date-time/],
        ['FREQ=DAILY;COUNT=-1', /COUNT below 1/],
        ['FREQ=DAILY;COUNT=3;UNTIL=20050101T000000Z', /both COUNT and UNTIL/],
        ['FREQ=DAILY;BYDAY=1MO;COUNT=3', /ordinal is only allowed with FREQ=MONTHLY or YEARLY/],
        ['FREQ=WEEKLY;BYMONTHDAY=3;COUNT=3', /BYMONTHDAY is not allowed with FREQ=WEEKLY/],
        ['FREQ=MONTHLY;BYMONTHDAY=0;COUNT=3', /BYMONTHDAY has a value out of range/],
      ] as const) {
        const result = await send(receiver, withLines(`RRULE:${rule}\r\n`));
        assert.equal(result.status, 400, `${rule}: ${result.text}`);
        assert.equal(result.error?.code, 'invalid-calendar-data', rule);
        assert.match(result.error?.description ?? '', pattern, rule);
      }
    } finally {
      await receiver.close();
    }
  });
});

describe('free-busy work per request is bounded', () => {
  const freebusyFor = (start: string, end: string) =>
    freebusy
      .replace('DTSTART:20040902T000000Z', `DTSTART:${start}`)
      .replace('DTEND:20040903T000000Z', `DTEND:${end}`);
  const headers = () =>
    draftHeaders({
      recipients: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
      component: 'VFREEBUSY',
    });

  it('refuses a range longer than maxFreeBusyDays (366) before asking the host', async () => {
    let asked = 0;
    const receiver = await startReceiver({
      users: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
      adapter: {
        getFreeBusy: () => {
          asked++;
          return [];
        },
      },
    });
    try {
      const result = await post(receiver, {
        headers: headers(),
        body: freebusyFor('19000101T000000Z', '21000101T000000Z'),
      });
      assert.equal(result.error?.code, 'invalid-scheduling-message');
      assert.match(
        result.error?.description ?? '',
        /spans 73049 days; this receiver answers at most 366 days/,
      );
      assert.equal(asked, 0);
    } finally {
      await receiver.close();
    }
  });

  it('answers at most maxFreeBusyPeriods periods, joining the shortest gaps, never inventing free time', async () => {
    const start = Date.UTC(2004, 0, 1);
    const busy: BusyPeriod[] = Array.from({ length: 10_011 }, (_, i) => ({
      start: new Date(start + i * 3_000_000),
      end: new Date(start + i * 3_000_000 + 1_800_000 + (i % 7) * 60_000),
    }));
    const receiver = await startReceiver({
      users: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
      adapter: { getFreeBusy: () => busy },
    });
    try {
      const { result, ms } = await timed(() =>
        post(receiver, { headers: headers(), body: freebusyFor('20040101T000000Z', '20041231T000000Z') }),
      );
      assert.equal(result.status, 200, result.text);
      assert.ok(ms < 2000, `${ms.toFixed(0)} ms`);
      const data = result.responses?.[0]?.calendarData ?? '';
      const periods = ICAL.Component.fromString(data)
        .getFirstSubcomponent('vfreebusy')!
        .getAllProperties('freebusy')
        .flatMap((p) => p.getValues() as ICAL.Period[])
        .map((p) => [p.start.toJSDate().getTime(), p.getEnd().toJSDate().getTime()] as const);
      assert.ok(periods.length <= 5000 && periods.length > 4000, `${periods.length} periods`);
      for (const b of busy) {
        const [s, e] = [new Date(b.start).getTime(), new Date(b.end).getTime()];
        assert.ok(
          periods.some(([ps, pe]) => ps <= s && pe >= e),
          `busy ${new Date(s).toISOString()} is still busy`,
        );
      }
    } finally {
      await receiver.close();
    }
  });
});

describe('a host answering too much free-busy', () => {
  it('fails only that recipient (5.1) when its list is over 20 times maxFreeBusyPeriods', async () => {
    const at = (hour: number) => new Date(Date.UTC(2004, 8, 2, 0, hour * 5));
    const many = Array.from({ length: 101 }, (_, i) => ({ start: at(i), end: at(i + 0.5) }));
    const receiver = await startReceiver({
      users: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
      busy: { 'mailto:cyrus@example.org': many, 'mailto:mike@example.org': many.slice(0, 3) },
      router: { limits: { maxFreeBusyPeriods: 5 } },
    });
    try {
      const result = await post(receiver, {
        headers: draftHeaders({
          recipients: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
          component: 'VFREEBUSY',
        }),
        body: freebusy,
      });
      assert.deepEqual(
        result.responses?.map((r) => r.requestStatus),
        ['5.1;Service unavailable', '2.0;Success'],
      );
    } finally {
      await receiver.close();
    }
  });
});

describe("a sender's key cannot make verification expensive", () => {
  /** A receiver that finds `record` for jupiter._domainkey.example.com. */
  const receiverWithRecord = (record: string) => {
    const exchange = privateExchangeKeys({ 'jupiter._domainkey.example.com': record });
    return startReceiver({
      keys: { methods: QUERY_METHODS, lookup: (q) => exchange.lookup({ ...q, method: 'private-exchange' }) },
    });
  };
  const recordOf = (jwk: JsonWebKeyInput['key']) =>
    `v=DKIM1; k=rsa; p=${createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }).toString('base64')}`;

  it('refuses an RSA key with a huge public exponent, or a modulus over 8192 bits', async () => {
    const jwk = createPublicKey(keys.jupiter.privateKey).export({ format: 'jwk' });
    const hugeExponent = { ...jwk, e: Buffer.alloc(256, 0xff).toString('base64url') };
    const hugeModulus = {
      ...jwk,
      n: Buffer.concat([Buffer.from([0xc1]), Buffer.alloc(1280, 0x35)]).toString('base64url'),
    };
    for (const [key, pattern] of [
      [hugeExponent, /unusual public exponent/],
      [hugeModulus, /has 10248 bits, more than 8192/],
    ] as const) {
      const receiver = await receiverWithRecord(recordOf(key));
      try {
        const result = await post(receiver, { headers: draftHeaders(), body: invitation });
        assert.equal(result.status, 403);
        assert.match(result.error?.description ?? '', pattern);
      } finally {
        await receiver.close();
      }
    }
    // An ordinary key with exponent 3 is still fine.
    const three = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 });
    const spki = three.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    assert.doesNotThrow(() => importPublicKey(spki, 'rsa-sha256'));
  });
});
