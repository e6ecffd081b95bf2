import type { AdaptModel } from '../model';
import type { Section } from '../parse';

/**
 * `resolvers <name>` with `nameserver` lines: accepted, each name remembered (servers may name
 * it), approximated by the system resolver: server names are resolved by Node.js's resolver
 * (getaddrinfo) when a connection is made, so a changed DNS answer is followed, but the
 * nameservers and hold/timeout settings of the section are not used.
 */
export function resolversSection(ad: AdaptModel, s: Section): void {
  const KNOWN = new Set(['nameserver', 'parse-resolv-conf', 'resolve_retries', 'timeout', 'hold', 'accepted_payload_size']);
  for (const d of s.directives) {
    if (!KNOWN.has(d.words[0]!)) ad.problem(d.line, d.words.join(' '), `unknown resolvers directive "${d.words[0]}"`);
  }
  ad.resolvers.add(s.name);
  ad.warn(s.line, `resolvers ${s.name} approximated: server names are resolved by the system resolver at connect time (its nameserver, hold and timeout lines are not used)`);
}
