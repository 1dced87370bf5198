/** Reads the TXT and SRV records of a BIND zone file (enough for the CalendarServer test zones). */
import type { ZoneRecord } from '../../lib/dns/zone-server.js';

export function parseZoneFile(text: string): ZoneRecord[] {
  const records: ZoneRecord[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\S+)\s+(\d+)\s+IN\s+(TXT|SRV)\s+(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, name = '', ttl = '0', type, rest = ''] = match;
    if (type === 'TXT') {
      const strings = [...rest.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? '');
      records.push({ type: 'TXT', name, text: strings.join(''), ttl: Number(ttl) });
    } else {
      const [priority, weight, port, target] = rest.trim().split(/\s+/);
      records.push({
        type: 'SRV',
        name,
        priority: Number(priority),
        weight: Number(weight),
        port: Number(port),
        target: target ?? '.',
        ttl: Number(ttl),
      });
    }
  }
  return records;
}
