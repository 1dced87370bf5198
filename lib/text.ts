/** Small helpers for quoting untrusted text in error messages and for building results. */

/** Peer input made safe to quote: cut to `max` characters, anything but printable ASCII as "?". */
export function printable(text: string, max = 80): string {
  const shown = text.length > max ? `${text.slice(0, max)}…` : text;
  return shown.replace(/[^\x20-\x7e]/g, '?');
}

/** A result object built field by field before it is handed out as readonly. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
