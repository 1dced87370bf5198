import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSelfSignedCertificate } from '../../lib/tls/certificate.js';

export interface TestHttpsServer {
  readonly port: number;
  readonly ca: string;
  close(): Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1 with a node-forge self-signed certificate for `names`, or the
 * certificate given (servers that one client must trust together share one: OpenSSL finds an
 * issuer by its name, and every self-signed test certificate has the same).
 */
export async function startHttpsServer(
  names: string[],
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  certificate = createSelfSignedCertificate({ altNames: [...names, 'localhost', '127.0.0.1'] }),
): Promise<TestHttpsServer> {
  const { cert, key } = certificate;
  const server = https.createServer({ cert, key }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    ca: cert,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
