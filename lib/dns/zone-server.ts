/**
 * A tiny authoritative DNS server (dns2) answering from an in-memory zone, on UDP and TCP at the
 * same port: the loopback DNS of the tests, the demo and private deployments. TXT data is split
 * into 255-octet character-strings as a real zone would publish it.
 */
import type { AddressInfo } from 'node:net';
import {
  createTCPServer,
  createUDPServer,
  Packet,
  type Resource,
  type TCPServer,
  type UDPServer,
} from 'dns2';
import { splitTxtStrings } from './names.js';

export type ZoneRecord =
  | { readonly type: 'TXT'; readonly name: string; readonly text: string; readonly ttl?: number }
  | { readonly type: 'A' | 'AAAA'; readonly name: string; readonly address: string; readonly ttl?: number }
  | { readonly type: 'CNAME'; readonly name: string; readonly target: string; readonly ttl?: number }
  | {
      readonly type: 'SRV';
      readonly name: string;
      readonly priority: number;
      readonly weight: number;
      readonly port: number;
      readonly target: string;
      readonly ttl?: number;
    };

/** What to do with a question instead of answering it: for failure tests. */
export type Misbehaviour = 'drop' | 'servfail' | undefined;

export interface ZoneServerOptions {
  /** Called for each question; return `drop` to stay silent or `servfail` to fail it. */
  readonly misbehave?: (name: string, type: string) => Misbehaviour;
}

const SERVFAIL = 2;
const NXDOMAIN = 3;

export class ZoneServer {
  #records: ZoneRecord[];
  readonly #misbehave: ZoneServerOptions['misbehave'];
  #udp: UDPServer | undefined;
  #tcp: TCPServer | undefined;
  /** Questions received, for assertions about caching. */
  readonly questions: string[] = [];

  constructor(records: readonly ZoneRecord[] = [], options: ZoneServerOptions = {}) {
    this.#records = [...records];
    this.#misbehave = options.misbehave;
  }

  addRecords(...records: readonly ZoneRecord[]): void {
    this.#records.push(...records);
  }

  /** Listens on UDP and TCP, same port (0: any free one). Resolves to `host:port`. */
  async listen(port = 0, host = '127.0.0.1'): Promise<{ host: string; port: number; server: string }> {
    const handle = (request: Packet, send: (response: Packet) => void) => this.#answer(request, send);
    // UDP picks a free port; TCP must then get the same number, which another process may hold:
    // with any port allowed, try another pair.
    for (let attempt = 1; ; attempt++) {
      const udp = createUDPServer(handle);
      await udp.listen(port, host);
      const bound = (udp.address() as AddressInfo).port;
      const tcp = createTCPServer(handle);
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(bound, host, () => resolve());
        });
      } catch (error) {
        udp.close();
        if (port !== 0 || attempt >= 10 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE')
          throw error;
        continue;
      }
      this.#udp = udp;
      this.#tcp = tcp;
      return { host, port: bound, server: `${host}:${bound}` };
    }
  }

  async close(): Promise<void> {
    const udp = this.#udp;
    const tcp = this.#tcp;
    this.#udp = undefined;
    this.#tcp = undefined;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }

  #answer(request: Packet, send: (response: Packet) => void): void {
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    const question = request.questions[0];
    if (!question) return;
    const name = normalize(question.name);
    const type = typeName(question.type);
    this.questions.push(`${name} ${type}`);
    const misbehaviour = this.#misbehave?.(name, type);
    if (misbehaviour === 'drop') return;
    if (misbehaviour === 'servfail') {
      response.header.rcode = SERVFAIL;
      send(response);
      return;
    }
    const owned = this.#records.filter((r) => normalize(r.name) === name);
    if (owned.length === 0) response.header.rcode = NXDOMAIN;
    const cname = owned.find((r) => r.type === 'CNAME');
    const answers =
      cname && type !== 'CNAME'
        ? [cname, ...this.#matching(cname, type)]
        : owned.filter((r) => r.type === type);
    for (const record of answers) response.answers.push(toResource(question.name, record));
    send(response);
  }

  #matching(cname: ZoneRecord & { type: 'CNAME' }, type: string): ZoneRecord[] {
    return this.#records.filter((r) => normalize(r.name) === normalize(cname.target) && r.type === type);
  }
}

function toResource(asked: string, record: ZoneRecord): Resource {
  const base = {
    name: normalize(record.name) === normalize(asked) ? asked : record.name,
    class: Packet.CLASS.IN,
    ttl: record.ttl ?? 300,
  };
  switch (record.type) {
    case 'TXT':
      return { ...base, type: Packet.TYPE.TXT, data: splitTxtStrings(record.text) } as Resource;
    case 'A':
    case 'AAAA':
      return { ...base, type: Packet.TYPE[record.type], address: record.address } as Resource;
    case 'CNAME':
      return { ...base, type: Packet.TYPE.CNAME, domain: record.target } as Resource;
    case 'SRV':
      return {
        ...base,
        type: Packet.TYPE.SRV,
        priority: record.priority,
        weight: record.weight,
        port: record.port,
        target: record.target,
      } as Resource;
  }
}

function typeName(type: number): string {
  const entry = Object.entries(Packet.TYPE).find(([, value]) => value === type);
  return entry ? entry[0] : String(type);
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}
