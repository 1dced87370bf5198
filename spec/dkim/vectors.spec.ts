/**
 * Apple CalendarServer's own DKIM results (../shared/vectors/calendarserver) as an external oracle.
 * Where this project is deliberately stricter or follows RFC 6376 over an upstream quirk, the test
 * names the difference and asserts our outcome.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DnsClient } from '../../lib/dns/client.js';
import { ZoneServer } from '../../lib/dns/zone-server.js';
import {
  bodyHash,
  canonicalizeBody,
  canonicalizeHeader,
  canonicalizeSignatureHeader,
  checkSignatureHeader,
  dnsKeys,
  type KeyResolver,
  keyDocumentUrls,
  keyRecord,
  keyRecordName,
  parseTagList,
  QUERY_METHODS,
  type QueryMethod,
  selectPublicKey,
  signedData,
  signRequest,
  VerificationError,
  type VerificationFailure,
  verifyRequest,
} from '../support/api.js';
import { publishedKey, recordKey } from '../support/fixtures.js';
import { type HeaderPairs, loadCases, needsVectors, vectorFile } from '../support/vectors.js';
import { parseZoneFile } from '../support/zone-file.js';

const cases = loadCases();
const text = (relative: string) => vectorFile(relative).toString('utf8');

/** Serves the case's key records for every q= method, as the upstream harness does. */
function staticKeys(records: readonly string[]): KeyResolver {
  return { methods: QUERY_METHODS, lookup: async () => records };
}

async function failureReason(promise: Promise<unknown>): Promise<VerificationFailure> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof VerificationError, `expected a VerificationError, got ${error}`);
    return error.reason;
  }
  assert.fail('expected the verification to fail');
}

it('reads the CalendarServer vectors from ../shared', needsVectors, () => {
  assert.equal(cases.verify.length, 41);
});

describe('CalendarServer vectors', needsVectors, () => {
  describe('canonicalize_header', () => {
    for (const c of cases.canonicalize_header ?? []) {
      it(`${c.id}: ${c.name}`, () => {
        const actual = c.strip_b_value
          ? canonicalizeSignatureHeader(c.value)
          : canonicalizeHeader(c.name, [c.value]);
        assert.equal(actual, c.expected);
      });
    }
  });

  describe('extract_signed_headers', () => {
    for (const c of cases.extract_signed_headers ?? []) {
      it(`${c.id}: ${c.source}`, () => {
        const headers = c.request_headers as HeaderPairs;
        const signature = headers.find(([name]) => name === 'DKIM-Signature')![1];
        const h = parseTagList(signature).get('h')!.split(':');
        assert.equal(signedData(headers, h, signature), c.expected);
      });
    }
  });

  describe('canonicalize_body', () => {
    for (const c of cases.canonicalize_body ?? []) {
      it(`${c.id}: ${JSON.stringify(c.body)}`, () => {
        const body = Buffer.from(c.body, 'utf8');
        assert.equal(canonicalizeBody(body).toString('utf8'), c.expected);
        assert.equal(bodyHash(body, 'sha1'), c.bh_sha1);
        assert.equal(bodyHash(body, 'sha256'), c.bh_sha256);
      });
    }
  });

  describe('dkim_header_validation', () => {
    // Upstream's examples sign only Originator:Recipient and use bh=abc; b=def, which this project
    // refuses (the MUST-sign set of draft -05 §5.3 is enforced; b/bh must be base64). Those two
    // stricter checks are neutralised here so that each case tests the tag it is about.
    const normalise = (value: string) =>
      value
        .replace(/h\s*=\s*Originator:Recipient/, 'h=Originator:Recipient:Content-Type:iSchedule-Version')
        .replace(/h\s*=\s*Originator\s*;/, 'h=Originator:Recipient:Content-Type:iSchedule-Version;')
        .replace(/bh\s*=\s*abc/, 'bh=YWJj')
        .replace(/\bb\s*=\s*def/, 'b=ZGVm');
    const reasons: Record<string, VerificationFailure> = {
      'hdr-bogus': 'missing-tag',
      'hdr-more-than-one': 'multiple-signatures',
      'hdr-invalid-v2': 'unsupported-version',
      'hdr-invalid-sha512': 'unsupported-algorithm',
      'hdr-invalid-c-relaxed-body': 'unsupported-canonicalization',
      'hdr-invalid-no-s': 'missing-tag',
      'hdr-invalid-x-past': 'expired',
      'hdr-derived-c-plain-relaxed': 'unsupported-canonicalization',
      'hdr-derived-q-unknown': 'unsupported-query-method',
      'hdr-derived-no-h': 'missing-tag',
      'hdr-derived-uppercase-tagvalue': 'unsupported-algorithm',
    };
    for (const c of cases.dkim_header_validation ?? []) {
      it(`${c.id}: ${c.expected_valid ? 'valid' : c.upstream_message}`, () => {
        const headers: HeaderPairs = (c.dkim_signature_headers as string[]).map((v) => [
          'DKIM-Signature',
          normalise(v),
        ]);
        const check = () => checkSignatureHeader({ headers, now: c.now, allowSha1: true });
        if (c.expected_valid) {
          check();
        } else {
          assert.throws(
            check,
            (error: unknown) => error instanceof VerificationError && error.reason === reasons[c.id],
          );
        }
      });
    }
    it('refuses a=rsa-sha1 unless the caller opts in (RFC 8301)', () => {
      const valid = (cases.dkim_header_validation ?? []).find((c: { id: string }) => c.id === 'hdr-valid-1');
      const headers: HeaderPairs = [['DKIM-Signature', normalise(valid.dkim_signature_headers[0])]];
      assert.throws(
        () => checkSignatureHeader({ headers, now: valid.now }),
        (error: unknown) => error instanceof VerificationError && error.reason === 'unsupported-algorithm',
      );
    });
  });

  describe('key_record_selection', () => {
    for (const c of cases.key_record_selection ?? []) {
      it(`${c.id}: ${c.source}`, () => {
        const select = () => selectPublicKey(c.key_records, c.signature_a);
        // keysel-16: upstream compares s= as one string; RFC 6376 §3.6.1 makes it a colon-separated
        // list, so "email:ischedule" allows iSchedule here (a deliberate difference).
        const usable = c.id === 'keysel-16' ? true : c.expected_usable_key;
        // The key chosen is one the records publish, not any key.
        if (usable) assert.ok(c.key_records.map(recordKey).includes(publishedKey(select().key)));
        else assert.throws(select, VerificationError);
      });
    }
  });

  describe('key_location', () => {
    let zone: ZoneServer;
    let dns: DnsClient;
    // The upstream unit-test zone, served on loopback for the lookups below.
    before(async () => {
      zone = new ZoneServer(parseZoneFile(text('dns/unit-test.db.example.com')));
      const { server } = await zone.listen();
      dns = new DnsClient({ servers: [server], timeout: 1000 });
    });
    after(() => zone.close());
    for (const c of cases.key_location ?? []) {
      it(`${c.id}: ${c.method} ${c.s}@${c.d}`, async () => {
        switch (c.method) {
          case 'dns/txt':
            assert.equal(keyRecordName(c.d, c.s), c.expected);
            break;
          case 'dns/txt(lookup)': {
            const records = await dnsKeys({ client: dns }).lookup({
              domain: c.d,
              selector: c.s,
              method: 'dns/txt',
            });
            assert.equal(records.length > 0 && usable(records), c.expected_usable_key);
            break;
          }
          case 'http/well-known(fetch URI)': {
            const [url] = await keyDocumentUrls(dns, c.d, c.s);
            // locator-8: upstream fetches over plain http when the SRV port is 80; iSchedule requires
            // https for key retrieval (draft -05 §5.7), so this project always uses https.
            const expected =
              c.id === 'locator-8' ? c.expected.replace(/^http:\/\/([^/]+)/, 'https://$1:80') : c.expected;
            assert.equal(url?.href, expected);
            break;
          }
          default:
            // Upstream cache keys and private-exchange file names are internal to CalendarServer.
            assert.match(c.method, /cache key|private-exchange/);
        }
      });
    }
  });

  describe('served_domainkey_records', () => {
    const publicKeys: Record<string, string> = {
      'example.com/ischedule': 'keys/confA-example.com-ischedule.public.pem',
      'example.org/ischedule2': 'keys/confB-example.org-ischedule2.public.pem',
      'example.com/dkim': 'keys/test2048.public.pem',
    };
    for (const c of cases.served_domainkey_records ?? []) {
      it(c.path, () => {
        const served = text(c.body_file);
        assert.equal(served, c.body);
        const ours = keyRecord(text(publicKeys[c.path.replace('/.well-known/domainkey/', '')]!));
        const p = (record: string) => parseTagList(record).get('p');
        assert.equal(p(ours), p(served.trim()));
        assert.equal(
          publishedKey(selectPublicKey(served.split('\n').filter(Boolean), 'rsa-sha256').key),
          p(served.trim()),
        );
      });
    }
  });

  describe('sign', () => {
    for (const c of cases.sign ?? []) {
      it(`${c.id}${c.note ? `: ${c.note}` : ''}`, () => {
        const i = c.inputs;
        const headers = (c.expected.final_headers as HeaderPairs).filter(
          ([name]) => name !== 'DKIM-Signature',
        );
        const queryMethods = (['private-exchange', 'http/well-known', 'dns/txt'] as QueryMethod[]).filter(
          (m) => i.q_flags[m.replace(/[/-]/g, '_')],
        );
        const signature = signRequest({
          headers,
          body: vectorFile(i.body_file),
          key: { domain: i.d, selector: i.s, privateKey: text(i.private_key) },
          algorithm: i.algorithm,
          timestamp: i.t,
          expiresIn: i.x - i.t,
          queryMethods,
          signedHeaders: [...i.sign_headers_arg, 'iSchedule-Version', 'iSchedule-Message-ID'],
        });
        if (c.id === 'sign-derived-absent-signed-header') {
          // Upstream lists the absent User-Agent in h= and cannot verify its own signature. This
          // project lists only headers that are present.
          assert.doesNotMatch(signature, /User-Agent/);
          assert.match(
            signature,
            /h=Originator:Recipient:Content-Type:iSchedule-Version:iSchedule-Message-ID;/,
          );
          return;
        }
        assert.equal(signature, c.expected.dkim_signature);
        const h = parseTagList(signature).get('h')!.split(':');
        assert.equal(signedData(headers, h, signature), c.expected.signed_data);
      });
    }
  });

  describe('verify', () => {
    // Where this project's outcome differs from upstream's, and why.
    const deliberate: Record<string, { reason: VerificationFailure; why: string }> = {
      'verify-derived-t-skew-360': {
        reason: 'signed-in-future',
        why: 'default clock skew is the 300 s the draft recommends, not upstream 360 s',
      },
      'verify-derived-h-duplicate-name': {
        reason: 'duplicate-signed-header',
        why: 'ischedule-relaxed merges same-name fields, so h= must name each header once (draft -05 §5.4)',
      },
      'verify-derived-missing-q-tag': {
        reason: 'missing-tag',
        why: 'upstream crashes (HTTP 500); the vectors README says treat it as a failure',
      },
    };
    const reasons: Record<string, VerificationFailure> = {
      'verify-derived-no-dkim-signature': 'no-signature',
      'verify-derived-two-dkim-signatures': 'multiple-signatures',
      'verify-derived-t-skew-361': 'signed-in-future',
      'verify-derived-x-expired-1s': 'expired',
      'verify-derived-key-h-sha1-only': 'key-unusable',
      'verify-derived-body-lf-added': 'body-hash-mismatch',
    };
    const reasonFor = (id: string, upstream: string): VerificationFailure => {
      if (reasons[id]) return reasons[id];
      if (/revoked/.test(id)) return 'key-revoked';
      if (/body hash/.test(upstream)) return 'body-hash-mismatch';
      return 'signature-mismatch';
    };
    for (const c of cases.verify ?? []) {
      const special = deliberate[c.id];
      it(`${c.id}: ${special ? `deliberately ${special.reason} (${special.why})` : c.expected.outcome}`, async () => {
        const i = c.inputs;
        const headers = i.request_headers as HeaderPairs;
        const options = {
          headers,
          body: vectorFile(i.body_file),
          keys: staticKeys(i.key_records),
          now: i.now,
          allowSha1: /sha1/.test(c.id),
        };
        if (c.expected.verifier_signed_data && !special) {
          const signature = headers.find(([name]) => name.toLowerCase() === 'dkim-signature')![1];
          const h = parseTagList(signature).get('h')!.split(':');
          assert.equal(signedData(headers, h, signature), c.expected.verifier_signed_data);
        }
        if (special) {
          assert.equal(await failureReason(verifyRequest(options)), special.reason);
          if (c.id === 'verify-derived-t-skew-360') {
            // With upstream's allowance the same request verifies.
            await verifyRequest({ ...options, clockSkew: 360 });
          }
          return;
        }
        if (c.expected.outcome === 'pass') {
          const verified = await verifyRequest(options);
          assert.equal(
            verified.domain,
            parseTagList(headers.find(([n]) => n === 'DKIM-Signature')![1]).get('d'),
          );
          if (/sha1/.test(c.id)) {
            // sha1 is verified correctly, but only on request.
            assert.equal(
              await failureReason(verifyRequest({ ...options, allowSha1: false })),
              'unsupported-algorithm',
            );
          }
        } else {
          assert.equal(
            await failureReason(verifyRequest(options)),
            reasonFor(c.id, c.expected.upstream_message ?? ''),
          );
        }
      });
    }
  });
});

function usable(records: readonly string[]): boolean {
  try {
    return Boolean(selectPublicKey(records, 'rsa-sha256').key);
  } catch {
    return false;
  }
}
