import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  buildCapabilities,
  buildError,
  buildScheduleResponse,
  parseCapabilities,
  parseError,
  parseScheduleResponse,
  XmlError,
} from '../support/api.js';
import { needsVectors, VECTORS_DIR, vectorFile } from '../support/vectors.js';

describe('capabilities documents', () => {
  it(
    "reads CalendarServer's (its <version> where <serial-number> belongs, CRLF, single quotes)",
    needsVectors,
    () => {
      const caps = parseCapabilities(vectorFile('xml/capabilities.xml').toString());
      assert.equal(caps.serialNumber, 1);
      assert.deepEqual(caps.versions, ['1.0']);
      assert.deepEqual(caps.schedulingMessages.VFREEBUSY, ['REQUEST']);
      assert.deepEqual(caps.attachments, { inline: false, external: true });
      assert.equal(caps.maxRecipients, 100);
      assert.equal(caps.calendarDataTypes.length, 2);
    },
  );

  it("reads Cyrus's shape: no max-instances, empty max-recipients and administrator, rscales, any prefix", () => {
    const xml = `<?xml version="1.0"?>
      <I:query-result xmlns:I="urn:ietf:params:xml:ns:ischedule"><I:capabilities>
        <I:serial-number>1700000123</I:serial-number><I:versions><I:version>1.0</I:version></I:versions>
        <I:scheduling-messages><I:component name="VEVENT"><I:method name="REQUEST"/></I:component>
          <I:component name="VPOLL"/></I:scheduling-messages>
        <I:calendar-data-types><I:calendar-data-type content-type="text/calendar" version="2.0"/></I:calendar-data-types>
        <I:attachments><I:inline/></I:attachments><I:rscales><I:rscale>GREGORIAN</I:rscale></I:rscales>
        <I:max-content-length>10000000</I:max-content-length><I:max-recipients/><I:administrator></I:administrator>
      </I:capabilities></I:query-result>`;
    const caps = parseCapabilities(xml);
    assert.equal(caps.serialNumber, 1700000123);
    assert.equal(caps.maxRecipients, undefined);
    assert.equal(caps.maxInstances, undefined);
    assert.equal(caps.administrator, undefined);
    assert.deepEqual(caps.schedulingMessages.VPOLL, []);
    assert.deepEqual(caps.rscales, ['GREGORIAN']);
    assert.deepEqual(caps.attachments, { inline: true, external: false });
  });

  it("reads Bedework's: <version>1</version> and calendar-data for calendar-data-type", () => {
    const xml = `<query-result xmlns="urn:ietf:params:xml:ns:ischedule"><capabilities>
      <versions><version>1</version></versions>
      <calendar-data-types><calendar-data content-type="text/calendar" version="2.0"/></calendar-data-types>
      </capabilities></query-result>`;
    const caps = parseCapabilities(xml);
    assert.deepEqual(caps.versions, ['1.0']);
    assert.deepEqual(caps.calendarDataTypes, [{ contentType: 'text/calendar', version: '2.0' }]);
  });

  it('round-trips what it builds', () => {
    const caps = {
      serialNumber: 3,
      versions: ['1.0'],
      schedulingMessages: { VEVENT: ['REQUEST', 'REPLY'] },
      calendarDataTypes: [{ contentType: 'text/calendar', version: '2.0' }],
      attachments: { inline: false, external: true },
      maxContentLength: 100,
      maxRecipients: 2,
      administrator: 'mailto:a&b@example.org',
    };
    assert.deepEqual(parseCapabilities(buildCapabilities(caps)), caps);
  });

  it('refuses hostile or foreign XML with an XmlError: DOCTYPE and entities, malformed, wrong root', () => {
    const bombs = [
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><query-result xmlns="urn:ietf:params:xml:ns:ischedule">&b;</query-result>',
      '<query-result xmlns="urn:ietf:params:xml:ns:ischedule"><capabilities>',
      '<query-result xmlns="DAV:"><capabilities/></query-result>',
      'not xml at all',
      '',
    ];
    for (const xml of bombs) assert.throws(() => parseCapabilities(xml), XmlError, xml.slice(0, 40));
  });
});

describe('schedule responses and errors', () => {
  it('reads every XML shape in the CalendarServer vectors', needsVectors, () => {
    const files = readdirSync(`${VECTORS_DIR}/xml`);
    for (const file of files.filter((f) => f.startsWith('schedule-response'))) {
      const responses = parseScheduleResponse(vectorFile(`xml/${file}`).toString());
      assert.ok(responses.length > 0, file);
      for (const r of responses) assert.match(r.requestStatus, /^\d\.\d+;/);
    }
    const responses = parseScheduleResponse(vectorFile('xml/schedule-response.xml').toString());
    assert.equal(responses[2]?.error, 'recipient-permissions');
    assert.equal(responses[0]?.requestStatus, '1.2;Scheduling message has been delivered');
    const freebusy = parseScheduleResponse(vectorFile('xml/schedule-response-freebusy.xml').toString());
    assert.match(freebusy[0]?.calendarData ?? '', /FREEBUSY;FBTYPE=BUSY:20200115T150000Z\/20200115T160000Z/);
    for (const file of files.filter((f) => f.startsWith('error-'))) {
      const error = parseError(vectorFile(`xml/${file}`).toString());
      assert.equal(error.code, file.replace(/^error-/, '').replace(/(-DAV-error)?\.xml$/, ''));
      assert.ok(error.description);
    }
  });

  it('reads -00/-01 responsedescription, DAV:href recipients, CDATA and any prefix', () => {
    const xml = `<x:schedule-response xmlns:x="urn:ietf:params:xml:ns:ischedule" xmlns:D="DAV:"><x:response>
      <x:recipient><D:href>mailto:a@example.org</D:href></x:recipient><x:request-status>2.0;Success</x:request-status>
      <x:calendar-data><![CDATA[BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n]]></x:calendar-data>
      <x:responsedescription>fine</x:responsedescription></x:response></x:schedule-response>`;
    assert.deepEqual(parseScheduleResponse(xml), [
      {
        recipient: 'mailto:a@example.org',
        requestStatus: '2.0;Success',
        calendarData: 'BEGIN:VCALENDAR\nEND:VCALENDAR\n',
        description: 'fine',
      },
    ]);
  });

  it('keeps CRLF in calendar data it builds, and escapes markup', () => {
    const xml = buildScheduleResponse([
      {
        recipient: 'mailto:<a>@example.org',
        requestStatus: '2.0;Success',
        calendarData: 'A\r\nB & C\r\n',
        error: 'x',
        description: '"q"',
      },
    ]);
    assert.deepEqual(parseScheduleResponse(xml), [
      {
        recipient: 'mailto:<a>@example.org',
        requestStatus: '2.0;Success',
        calendarData: 'A\r\nB & C\r\n',
        error: 'x',
        description: '"q"',
      },
    ]);
    assert.deepEqual(parseError(buildError('verification-failed', 'bad <sig>')), {
      code: 'verification-failed',
      description: 'bad <sig>',
    });
  });

  it('refuses documents that are not what they should be', () => {
    assert.throws(() => parseScheduleResponse(buildError('max-recipients', 'x')), XmlError);
    assert.throws(() => parseError('<error xmlns="urn:ietf:params:xml:ns:ischedule"/>'), XmlError);
    assert.throws(() => parseError('<html><body>500</body></html>'), XmlError);
  });
});

describe("a peer's XML is bounded before it is parsed", () => {
  const NS = 'urn:ietf:params:xml:ns:ischedule';
  const refusedQuickly = (parse: () => unknown, pattern: RegExp) => {
    const started = performance.now();
    assert.throws(parse, (error: unknown) => error instanceof XmlError && pattern.test(error.message));
    const ms = performance.now() - started;
    assert.ok(ms < 100, `${ms.toFixed(0)} ms`);
  };

  it('refuses too many elements, too deep a nesting, too many attributes, in milliseconds', () => {
    const many = `<schedule-response xmlns="${NS}">${'<response><recipient>a</recipient></response>'.repeat(100_000)}</schedule-response>`;
    refusedQuickly(() => parseScheduleResponse(many), /more than \d+ elements/);
    refusedQuickly(
      () =>
        parseCapabilities(
          `<query-result xmlns="${NS}"><capabilities>${'<x/>'.repeat(500_000)}</capabilities></query-result>`,
        ),
      /more than 2000 elements/,
    );
    refusedQuickly(
      () =>
        parseScheduleResponse(
          `<schedule-response xmlns="${NS}">${'<a>'.repeat(200_000)}${'</a>'.repeat(200_000)}</schedule-response>`,
        ),
      /nest deeper than 16/,
    );
    const attributes = Array.from({ length: 100_000 }, (_, i) => `a${i}="x"`).join(' ');
    refusedQuickly(
      () => parseScheduleResponse(`<schedule-response xmlns="${NS}" ${attributes}/>`),
      /more than 16 attributes/,
    );
  });

  it('counts only real elements: markup inside CDATA, comments and attribute values is text', () => {
    const tricky = `<?xml version="1.0"?><!-- <a><b><c> --><schedule-response xmlns="${NS}"><response><recipient a="x>y=z">mailto:a@example.org</recipient><request-status>2.0;Success</request-status><calendar-data><![CDATA[${'<v>'.repeat(10_000)}]]></calendar-data></response></schedule-response>`;
    const [response] = parseScheduleResponse(tricky, 1);
    assert.equal(response?.requestStatus, '2.0;Success');
    assert.equal(response?.calendarData?.length, 30_000);
    assert.throws(
      () => parseScheduleResponse(`<schedule-response xmlns="${NS}"><!-- never closed`),
      /unterminated/,
    );
  });
});
