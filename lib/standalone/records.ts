/** The DNS records that publish a server: SRV, TXT path= and the DKIM key (255-octet strings). */
import { dnsTxtRecord, keyRecord } from '../dkim/publish-key.js';
import type { SigningKey } from '../dkim/sign.js';

/** What recordsToPublish describes: the domains, where the receiver listens, and its key. */
export interface PublishOptions {
  readonly domains: readonly string[];
  /** The host name senders connect to. */
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly signing: SigningKey;
  /** Publish a key record draft -01 peers accept too (`s=calendar:ischedule`). */
  readonly draft01?: boolean;
}

/** Zone-file lines to publish. */
export function recordsToPublish(options: PublishOptions): string[] {
  const lines: string[] = [];
  const target = `${options.host.replace(/\.$/, '')}.`;
  for (const domain of options.domains) {
    lines.push(`_ischedules._tcp.${domain}. IN SRV 0 1 ${options.port} ${target}`);
    lines.push(`_ischedules._tcp.${domain}. IN TXT "path=${options.path}"`);
  }
  lines.push(
    dnsTxtRecord(
      options.signing.domain,
      options.signing.selector,
      keyRecord(options.signing.privateKey, { draft01: options.draft01 ?? false }),
    ).zoneLine,
  );
  return lines;
}
