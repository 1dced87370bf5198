/**
 * The CalDAV gateway's options as schemas: checked when caldavAdapter/caldavGateway run, and the
 * same entries serve the standalone config file's `caldav` section.
 */
import * as v from 'valibot';
import {
  calendarAddress,
  domainList,
  fn,
  methods,
  positiveInteger,
  receiverPath,
  text,
  url,
} from '../../validation.js';

export const milliseconds = positiveInteger('a positive integer (milliseconds)');

/** What the config file shares with the library (`ca` differs: a file there, PEM text here). */
export const caldavEntries = {
  url: url('an http:// or https:// URL'),
  username: v.optional(text()),
  password: v.optional(text()),
  users: v.optional(
    v.record(
      v.pipe(calendarAddress, v.regex(/^mailto:/i, 'a mailto: calendar address')),
      receiverPath,
      'an object of "mailto:user@domain": "/principal-or-calendar-home/"',
    ),
  ),
  timeout: v.optional(milliseconds),
};

const adapterEntries = {
  ...caldavEntries,
  credentials: v.optional(fn('a function (path) => { username, password }')),
  ca: v.optional(text('a PEM certificate')),
  cacheTtl: v.optional(milliseconds),
  maxObjects: v.optional(positiveInteger()),
  maxInstances: v.optional(positiveInteger()),
  maxAttempts: v.optional(positiveInteger()),
  logger: v.optional(methods({}, 'a logger { info, warn, error }')),
};

export const caldavAdapterSchema = v.strictObject(adapterEntries, 'an options object');

export const caldavGatewaySchema = v.strictObject(
  {
    ...adapterEntries,
    domains: v.pipe(domainList, v.minLength(1, 'a non-empty array of domain names')),
    stateDir: text('a directory path'),
    follow: v.optional(v.array(calendarAddress, 'an array of calendar addresses')),
    syncInterval: v.optional(milliseconds),
  },
  'an options object',
);
