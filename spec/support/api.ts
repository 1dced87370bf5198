/**
 * Every public entry of the package in one import for the specs (a host imports the entry it
 * needs), plus the internals the specs exercise directly.
 */

export * from '../../lib/dkim/index.js';
export { DnsClient, DnsError } from '../../lib/dns/client.js';
export { isDomainName, splitTxtStrings } from '../../lib/dns/names.js';
export { orderSrv } from '../../lib/dns/srv.js';
export { parseWireRequest, type WireRequest } from '../../lib/http/wire.js';
export * from '../../lib/index.js';
export { buildFreeBusyReply, freeBusyRange } from '../../lib/itip/freebusy.js';
export * from '../../lib/itip/index.js';
export { checkLimits } from '../../lib/itip/limits.js';
export { checkParticipants } from '../../lib/itip/rules.js';
export { AddressPolicy } from '../../lib/net/address-policy.js';
export * from '../../lib/standalone/index.js';
export { SAMPLE_DOMAIN, sampleSetup, VISITOR } from '../../lib/standalone/sample.js';
export * from '../../lib/xml/index.js';
