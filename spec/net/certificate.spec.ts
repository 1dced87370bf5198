import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import { createSelfSignedCertificate } from '../../lib/tls/certificate.js';

describe('self-signed certificates (tests, the demo, tls: "self-signed")', () => {
  it('have a positive serial in shortest DER form, so OpenSSL always loads them', () => {
    for (let i = 0; i < 8; i++) {
      const { cert, key } = createSelfSignedCertificate({ altNames: ['cal.example.org', '127.0.0.1'] });
      const x509 = new X509Certificate(cert);
      // 16 octets, the first 0x40-0x7f: never negative, never padded (1 in ~256 used to be).
      assert.match(x509.serialNumber, /^[4-7][0-9A-F]{31}$/);
      assert.doesNotThrow(() => tls.createSecureContext({ cert, key }));
      assert.equal(x509.checkHost('cal.example.org'), 'cal.example.org');
      assert.equal(x509.checkIP('127.0.0.1'), '127.0.0.1');
    }
  });
});
