/** iCalendar text for specs: a VCALENDAR from lines, with CRLF ends. */
export function ics(lines: readonly string[], method?: string): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//spec//EN',
    ...(method ? [`METHOD:${method}`] : []),
    ...lines,
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

/** A VEVENT's lines: the given properties between BEGIN and END. */
export function vevent(...properties: readonly string[]): string[] {
  return ['BEGIN:VEVENT', ...properties, 'END:VEVENT'];
}

/** iCalendar text unfolded, for matching properties with a regex. */
export function unfolded(text: string): string {
  return text.replace(/\r?\n[ \t]/g, '');
}
