/**
 * RFC 2782 target selection: lowest priority first, weighted random order within a priority.
 */
import type { SrvRecord } from './client.js';

/**
 * Orders SRV records for trying in turn. Returns [] when the service is decidedly not available
 * (a single record whose target is ".").
 */
export function orderSrv(records: readonly SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  const usable = records.filter((r) => r.target !== '.' && r.target !== '');
  if (usable.length === 0) return [];
  const priorities = [...new Set(usable.map((r) => r.priority))].sort((a, b) => a - b);
  return priorities.flatMap((priority) =>
    weightedOrder(
      usable.filter((r) => r.priority === priority),
      random,
    ),
  );
}

function weightedOrder(group: SrvRecord[], random: () => number): SrvRecord[] {
  // Zero-weight records go first so that they keep a small chance of being chosen (RFC 2782).
  const remaining = [...group.filter((r) => r.weight === 0), ...group.filter((r) => r.weight > 0)];
  const ordered: SrvRecord[] = [];
  while (remaining.length > 0) {
    const total = remaining.reduce((sum, r) => sum + r.weight, 0);
    const pick = Math.floor(random() * (total + 1));
    let running = 0;
    let index = remaining.findIndex((r) => {
      running += r.weight;
      return running >= pick;
    });
    if (index < 0) index = remaining.length - 1;
    ordered.push(...remaining.splice(index, 1));
  }
  return ordered;
}
