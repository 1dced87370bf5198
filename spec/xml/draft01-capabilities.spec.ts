/**
 * Draft -01's `capability-set`, as DAViCal 1.1.12 serves it (fixtures/davical/capabilities.xml,
 * captured from the Debian package): read for what the client needs, tolerant of what is missing,
 * and held to the same bounds as any peer's XML.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCapabilities, XmlError } from '../support/api.js';
import { fixture } from '../support/fixtures.js';

const wrap = (inner: string) =>
  `<query-result xmlns="urn:ietf:params:xml:ns:ischedule"><capability-set>${inner}</capability-set></query-result>`;

describe("a draft -01 receiver's capabilities", () => {
  it("reads DAViCal's document: methods, a comp without methods as any, attachments and limits", () => {
    const caps = parseCapabilities(fixture('davical/capabilities.xml').toString());
    assert.equal(caps.revision, 'draft-01');
    assert.deepEqual(caps.versions, ['1.0']);
    assert.deepEqual(caps.schedulingMessages, {
      VEVENT: ['REQUEST', 'ADD', 'REPLY', 'CANCEL'],
      VTODO: [],
      VFREEBUSY: [],
    });
    assert.deepEqual(caps.calendarDataTypes, [{ contentType: 'text/calendar', version: '2.0' }]);
    assert.deepEqual(caps.attachments, { inline: true, external: false });
    assert.equal(caps.maxContentLength, 102400);
    assert.equal(caps.maxInstances, 150);
    assert.equal(caps.maxRecipients, 250);
    assert.equal(caps.minDateTime, '19910101T000000Z');
    assert.equal(caps.maxDateTime, '20381231T000000Z');
    assert.equal(caps.administrator, 'mailto:admin@davical.test');
    assert.equal(caps.serialNumber, undefined, '-01 has no serial number');
  });

  it('takes an empty set as version 1.0, no components, default data type and no limits', () => {
    const caps = parseCapabilities(wrap(''));
    assert.equal(caps.revision, 'draft-01');
    assert.deepEqual(caps.versions, ['1.0']);
    assert.deepEqual(caps.schedulingMessages, {});
    assert.deepEqual(caps.calendarDataTypes, [{ contentType: 'text/calendar', version: '2.0' }]);
    assert.equal(caps.maxRecipients, undefined);
  });

  it('skips a comp without a name, reads -00 supported-calendar-data, ignores junk limits', () => {
    const caps = parseCapabilities(
      wrap(
        '<supported-scheduling-message-set><comp/><comp name="vevent"><method name="request"/></comp></supported-scheduling-message-set>' +
          '<supported-calendar-data><calendar-data content-type="text/calendar" version="2.0"/></supported-calendar-data>' +
          '<max-recipients>-3</max-recipients><max-content-length>lots</max-content-length>',
      ),
    );
    assert.deepEqual(caps.schedulingMessages, { VEVENT: ['REQUEST'] });
    assert.deepEqual(caps.calendarDataTypes, [{ contentType: 'text/calendar', version: '2.0' }]);
    assert.equal(caps.maxRecipients, undefined);
    assert.equal(caps.maxContentLength, undefined);
  });

  it('refuses a DOCTYPE or a document over the bounds, as for -05', () => {
    assert.throws(() => parseCapabilities(`<!DOCTYPE x [<!ENTITY a "b">]>${wrap('')}`), XmlError);
    const deep = `${'<comp>'.repeat(40)}${'</comp>'.repeat(40)}`;
    assert.throws(() => parseCapabilities(wrap(deep)), XmlError);
  });
});
