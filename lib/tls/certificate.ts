/**
 * Self-signed X.509 certificates for TLS (tests, the demo, `ischedule serve --tls self-signed`).
 * node:crypto makes the key pair; node-forge builds and signs the certificate, which node:crypto
 * cannot do.
 */

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import net from 'node:net';
import forge from 'node-forge';
import { OptionsError } from '../errors.js';

/** The names a self-signed certificate is made for. */
export interface CertificateOptions {
  /** Subject common name (default: the first alt name). */
  readonly commonName?: string;
  /** DNS names and IP addresses the certificate is valid for. */
  readonly altNames: readonly string[];
  /** Validity in days (default 825). */
  readonly days?: number;
}

/** A certificate and its private key, PEM encoded. */
export interface Certificate {
  /** PEM certificate; also the trust anchor peers add as `ca`. */
  readonly cert: string;
  /** PKCS#8 PEM private key. */
  readonly key: string;
}

/** Makes a self-signed TLS certificate (node-forge), for tests, demos and `tls: "self-signed"`. */
export function createSelfSignedCertificate(options: CertificateOptions): Certificate {
  const names = options.altNames;
  if (names.length === 0) throw new OptionsError('a certificate needs at least one name', 'altNames');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  // DER wants a positive INTEGER in its shortest form: a first octet of 0x40-0x7f is both. (A
  // random first octet made 1 certificate in ~256 negative-padded, which OpenSSL refuses.)
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  cert.serialNumber = serial.toString('hex');
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + (options.days ?? 825) * 86_400_000);
  const subject = [{ name: 'commonName', value: options.commonName ?? names[0] }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: names.map((name) => (net.isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })),
    },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKey };
}
