/**
 * One DNS question to one name server: UDP first, TCP when the answer is truncated. dns2 encodes
 * and decodes the packets; the sockets are ours so that every query has a deadline and nothing
 * is left open when it passes (dns2's TCP client has no timeout).
 */

import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { Packet, type Question } from 'dns2';
import { ExpressIScheduleError } from '../errors.js';

export interface NameServer {
  readonly host: string;
  readonly port: number;
}

export type RecordType = 'A' | 'AAAA' | 'TXT' | 'SRV';

/** A DNS question got no usable answer. `code` is `dns-` and the reason, lower-cased. */
export class DnsError extends ExpressIScheduleError<`dns-${string}`> {
  override name = 'DnsError';
  /** `timeout`, `network`, `malformed`, or the response code's name (`SERVFAIL`, `REFUSED`, ...). */
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(`dns-${reason.toLowerCase()}`, message);
    this.reason = reason;
  }
}

const MAX_TCP_MESSAGE = 65535;

/** Sends one question and resolves to the parsed response, whatever its response code. */
export async function askNameServer(
  server: NameServer,
  name: string,
  type: RecordType,
  timeoutMs: number,
): Promise<Packet> {
  const deadline = Date.now() + timeoutMs;
  const query = buildQuery(name, type);
  const response = await overUdp(server, query, timeoutMs);
  if (!response.header.tc) return response;
  return overTcp(server, query, Math.max(1, deadline - Date.now()));
}

function buildQuery(name: string, type: RecordType): Packet {
  const query = new Packet();
  query.header.id = randomInt(0x10000);
  query.header.rd = 1;
  query.questions.push({ name, type: Packet.TYPE[type], class: Packet.CLASS.IN } as Question);
  return query;
}

function overUdp(server: NameServer, query: Packet, timeoutMs: number): Promise<Packet> {
  const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
  return settleWithin(
    timeoutMs,
    `UDP query to ${server.host}:${server.port}`,
    () => socket.close(),
    (resolve, reject) => {
      socket.on('error', (error) => reject(new DnsError('network', error.message)));
      socket.on('message', (message, from) => {
        // Only the server we asked, with our id, may answer (off-path spoofing).
        if (from.port !== server.port || (net.isIP(server.host) && from.address !== server.host)) return;
        const response = parsePacket(message);
        if (!response || response.header.id !== query.header.id) return;
        resolve(response);
      });
      socket.send(query.toBuffer(), server.port, server.host, (error) => {
        if (error) reject(new DnsError('network', error.message));
      });
    },
  );
}

function overTcp(server: NameServer, query: Packet, timeoutMs: number): Promise<Packet> {
  const socket = net.connect({ host: server.host, port: server.port });
  return settleWithin(
    timeoutMs,
    `TCP query to ${server.host}:${server.port}`,
    () => socket.destroy(),
    (resolve, reject) => {
      const message = query.toBuffer();
      const framed = Buffer.alloc(2 + message.length);
      framed.writeUInt16BE(message.length, 0);
      message.copy(framed, 2);
      let received = Buffer.alloc(0);
      socket.on('error', (error) => reject(new DnsError('network', error.message)));
      socket.on('connect', () => socket.write(framed));
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length > 2 + MAX_TCP_MESSAGE)
          return reject(new DnsError('malformed', 'oversized TCP answer'));
        if (received.length < 2) return;
        const length = received.readUInt16BE(0);
        if (received.length < 2 + length) return;
        const response = parsePacket(received.subarray(2, 2 + length));
        if (!response || response.header.id !== query.header.id) {
          return reject(new DnsError('malformed', 'unreadable TCP answer'));
        }
        resolve(response);
      });
      socket.on('end', () => reject(new DnsError('malformed', 'connection closed before a full answer')));
    },
  );
}

function parsePacket(message: Buffer): Packet | undefined {
  try {
    return Packet.parse(message);
  } catch {
    return undefined;
  }
}

/** Runs `start` until it settles or the deadline passes; `cleanup` always runs once. */
function settleWithin<T>(
  timeoutMs: number,
  what: string,
  cleanup: () => void,
  start: (resolve: (value: T) => void, reject: (error: Error) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (action: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cleanup();
      action();
    };
    const timer = setTimeout(
      () => finish(() => reject(new DnsError('timeout', `${what} timed out after ${timeoutMs} ms`))),
      timeoutMs,
    );
    try {
      start(
        (value) => finish(() => resolve(value)),
        (error) => finish(() => reject(error)),
      );
    } catch (error) {
      finish(() => reject(new DnsError('network', (error as Error).message)));
    }
  });
}
