import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import {
  CapabilitiesError,
  DnsClient,
  ExpressIScheduleError,
  HttpError,
  IScheduleClient,
  parseCapabilities,
  parseTagList,
} from '../support/api.js';

/** Rejects or throws one of the family's classes with this stable code. */
async function failsWith(
  run: () => unknown,
  type: abstract new (...args: never[]) => Error,
  code: string | RegExp,
) {
  await assert.rejects(
    async () => run(),
    (error: unknown) => {
      assert.ok(error instanceof ExpressIScheduleError, `not in the family: ${String(error)}`);
      assert.ok(error instanceof type, `${error.name} is not a ${type.name}`);
      if (typeof code === 'string') assert.equal(error.code, code);
      else assert.match(error.code, code);
      return true;
    },
  );
}

describe('one error family with stable codes', () => {
  it('malformed peer data: tag lists and XML', async () => {
    await failsWith(() => parseTagList('v=1; =x'), ExpressIScheduleError, 'malformed-tag-list');
    await failsWith(() => parseCapabilities('<query-result'), ExpressIScheduleError, 'malformed-xml');
  });

  it('DNS, HTTP and capabilities failures, as IScheduleClient reports them', async () => {
    const silent = http.createServer((_req, res) => {
      res.statusCode = 500;
      res.end('no');
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const client = new IScheduleClient({ attempts: 1, timeout: 2000, allowNetworks: ['127.0.0.0/8'] });
    try {
      await failsWith(
        () => client.getCapabilities(new URL(`http://127.0.0.1:${port}/.well-known/ischedule`)),
        CapabilitiesError,
        'capabilities-unusable',
      );
      silent.close();
      await failsWith(
        () => client.getCapabilities(new URL(`http://127.0.0.1:${port}/.well-known/ischedule`)),
        HttpError,
        'connect',
      );
    } finally {
      client.close();
      silent.close();
    }
    const dns = new DnsClient({ servers: [`127.0.0.1:${port}`], timeout: 300 });
    await failsWith(() => dns.txt('example.com'), ExpressIScheduleError, /^dns-(timeout|network)$/);
  });
});
