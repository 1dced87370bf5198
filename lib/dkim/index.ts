/** express-ischedule/dkim: iSchedule's DKIM: keys, signing, verification, key lookups. */
export type { DnsOptions, DnsResolver } from '../dns/client.js';
export {
  type ErrorCode,
  ExpressIScheduleError,
  IScheduleError,
  OptionsError,
  VerificationError,
  type VerificationFailure,
} from '../errors.js';
export { type HeaderList, headerPairs, headerValues } from '../http/headers.js';
export {
  bodyHash,
  canonicalizeBody,
  canonicalizeHeader,
  canonicalizeHeaderValue,
  canonicalizeSignatureHeader,
  signedData,
} from './canonicalize.js';
export { type Check, type ExplainOptions, type Explanation, explainVerification } from './explain.js';
export {
  type DnsTxtRecord,
  dnsTxtRecord,
  type GeneratedKeyPair,
  type GenerateKeyOptions,
  generateSigningKey,
  type KeyRecordOptions,
  keyRecord,
  wellKnownBody,
} from './publish-key.js';
export {
  importPublicKey,
  type PublicKeyChoice,
  type SignatureAlgorithm,
  selectPublicKey,
} from './read-key-record.js';
export {
  chainKeys,
  type DnsKeysOptions,
  defaultKeys,
  dnsKeys,
  KeyLookupBusyError,
  KeyLookupError,
  type KeyQuery,
  type KeyResolver,
  keyDnsClient,
  keyDocumentUrls,
  keyRecordName,
  privateExchangeKeys,
  type WellKnownKeysOptions,
  wellKnownKeys,
} from './resolvers.js';
export {
  checkSigningKey,
  DEFAULT_SIGNED_HEADERS,
  type SigningKey,
  type SignOptions,
  signRequest,
} from './sign.js';
export {
  type Canonicalization,
  MUST_SIGN,
  type ParsedSignature,
  parseSignature,
  QUERY_METHODS,
  type QueryMethod,
} from './signature.js';
export { decodeBase64Tag, parseTagList, type TagList, TagListError } from './tag-list.js';
export {
  checkSignatureHeader,
  KeyLookupDeadline,
  type SignatureCheckOptions,
  type VerifiedRequest,
  type VerifyOptions,
  verifyRequest,
} from './verify.js';
