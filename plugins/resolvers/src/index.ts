import { promises as dnsp } from 'node:dns';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { AddressSet, HAPROXY_DIRECTIVE_SLOT, definePlugin, haproxyDirectiveName, type GatewayApi, type Logger, type ServerState } from '@switchyard/sdk';
import { ResolversErrors } from './errors';
import { directives } from './haproxy';
import { Resolution, SectionResolver, lastAddresses, nameserverAddress, setRmaint, type Nameserver, type Requester, type SectionOptions } from './resolution';
import { configSchema, serverSchema, type ResolvedServerConfig } from './schema';

export { ResolversErrors } from './errors';
export { directives as resolversDirectives } from './haproxy';
export type { ResolutionStatus } from './resolution';

export const NAME = '@switchyard/plugin-resolvers';

export type { ResolvedServerConfig };

interface RawSection {
  nameservers?: Array<string | { name: string; address: string }>;
  parseResolvConf?: boolean;
  resolveRetries?: number;
  timeouts?: { resolve?: number; retry?: number };
  hold?: Partial<Record<'nx' | 'refused' | 'timeout' | 'other' | 'valid' | 'obsolete', number>>;
  acceptedPayloadSize?: number;
}

/** One server's plan: which resolution feeds it and how it starts. */
interface Planned {
  server: ServerState;
  section: string;
  host: string;
  prefer: 4 | 6;
  initAddr: string[];
  /** init-addr was left out: last,libc, then maintenance instead of a refused start. */
  initDefault: boolean;
  nets: AddressSet | undefined;
  allowDup: boolean;
  ignoreWeight: boolean;
}

interface Engine {
  sections: Map<string, SectionOptions>;
  planned: Planned[];
  resolvers: SectionResolver[];
  resolutions: Resolution[];
}

const engines = new WeakMap<GatewayApi, Engine>();

/** The engine of a running gateway (tests, the runtime API): its resolutions by name. */
export function resolutionsOf(gateway: GatewayApi): ReadonlyArray<Resolution> {
  return engines.get(gateway)?.resolutions ?? [];
}

function resolvConfNameservers(): Nameserver[] {
  let text = '';
  try {
    text = fs.readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return [];
  }
  const out: Nameserver[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const a = m ? nameserverAddress(m[1]!) : undefined;
    if (a) out.push({ name: `resolv.conf${out.length + 1}`, address: a });
  }
  return out;
}

function sectionOptions(name: string, raw: RawSection, path: Array<string | number>, gateway: GatewayApi): SectionOptions {
  const nameservers: Nameserver[] = [];
  (raw.nameservers ?? []).forEach((ns, i) => {
    const text = typeof ns === 'string' ? ns : ns.address;
    const address = nameserverAddress(text);
    if (!address) throw ResolversErrors.BAD_NAMESERVER.with({ location: gateway.locate([...path, 'nameservers', i]) }, text);
    nameservers.push({ name: typeof ns === 'string' ? `ns${i + 1}` : ns.name, address });
  });
  if (raw.parseResolvConf) nameservers.push(...resolvConfNameservers());
  if (nameservers.length === 0) throw ResolversErrors.NO_NAMESERVER.with({ location: gateway.locate(path) }, name);
  const h = raw.hold ?? {};
  return {
    name,
    nameservers,
    resolveRetries: raw.resolveRetries ?? 3,
    resolveMs: raw.timeouts?.resolve ?? 1000,
    retryMs: raw.timeouts?.retry ?? 1000,
    hold: { nx: h.nx ?? 30_000, refused: h.refused ?? 30_000, timeout: h.timeout ?? 30_000, other: h.other ?? 30_000, valid: h.valid ?? 10_000, obsolete: h.obsolete ?? 0 },
    acceptedPayloadSize: raw.acceptedPayloadSize ?? 512,
  };
}

/** HAProxy's init-addr: the first method that gives an address wins; none starts the server in maintenance. */
async function initAddress(p: Planned, r: Requester, logger: Logger, gateway: GatewayApi, where: Array<string | number>): Promise<void> {
  const s = p.server;
  for (const m of p.initAddr) {
    if (m === 'last') {
      const last = lastAddresses.get(`${s.id}|${p.host}`);
      if (last === undefined) continue;
      const i = last.lastIndexOf(':');
      s.setAddress(last.slice(0, i).replace(/^\[|\]$/g, ''), Number(last.slice(i + 1)), 'init-addr last');
      return;
    }
    if (m === 'libc') {
      try {
        const found = await dnsp.lookup(p.host, { family: p.prefer }).catch(() => dnsp.lookup(p.host));
        s.setAddress(found.address, s.port, 'init-addr libc');
        return;
      } catch {
        continue;
      }
    }
    if (m === 'none') {
      setRmaint(r, true, 'no address yet (init-addr none)', logger);
      return;
    }
    if (net.isIP(m)) {
      s.setAddress(m, s.port, 'init-addr');
      return;
    }
  }
  if (p.initDefault) {
    logger.warn({ backend: s.backend, server: s.name }, `'server ${s.id}' : could not resolve address '${p.host}', disabling server.`);
    setRmaint(r, true, 'no address yet (init-addr last,libc found none)', logger);
    return;
  }
  throw ResolversErrors.INIT_ADDR.with({ location: gateway.locate(where) }, s.id, p.host, p.initAddr.join(','));
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.1',
  core: '>=0.1.2 <1.0.0',
  description: 'Resolves server names at run time through resolvers sections (HAProxy resolvers, init-addr, resolve-prefer, server-template slots).',
  configKey: 'resolvers',
  schema: { config: configSchema, server: serverSchema },
  register({ slots }) {
    for (const d of directives) slots.provide(HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName(d.scope, d.keyword), d);
  },
  provision(gateway, config) {
    const sections = new Map<string, SectionOptions>();
    for (const [name, raw] of Object.entries(config ?? {})) sections.set(name, sectionOptions(name, raw as RawSection, ['resolvers', name], gateway));
    const planned: Planned[] = [];
    for (const be of gateway.backends.values()) {
      be.servers.forEach((server, i) => {
        const c = server.config as typeof server.config & ResolvedServerConfig;
        if (c.resolvers === undefined) return;
        const path = ['backends', be.name, 'servers', i];
        if (!sections.has(c.resolvers)) {
          throw ResolversErrors.UNKNOWN_SECTION.with({ location: gateway.locate([...path, 'resolvers']) }, server.id, c.resolvers, [...sections.keys()].join(', ') || 'none');
        }
        if (net.isIP(server.host)) return; // an address needs no resolution (HAProxy too)
        let nets: AddressSet | undefined;
        for (const [j, n] of (c.resolveNet ?? []).entries()) {
          nets ??= new AddressSet();
          try {
            if (!n.includes('/')) throw new Error('no prefix');
            nets.add(n);
          } catch {
            throw ResolversErrors.BAD_NET.with({ location: gateway.locate([...path, 'resolveNet', j]) }, server.id, n);
          }
        }
        const opts = c.resolveOpts ?? [];
        planned.push({
          server,
          section: c.resolvers,
          host: server.host,
          prefer: c.resolvePrefer === 'ipv4' ? 4 : 6,
          initAddr: c.initAddr ?? ['last', 'libc'],
          initDefault: c.initAddr === undefined,
          nets,
          allowDup: opts.includes('allow-dup-ip'),
          ignoreWeight: opts.includes('ignore-weight'),
        });
      });
    }
    engines.set(gateway, { sections, planned, resolvers: [], resolutions: [] });
  },
  // As `haproxy -c` does: a server no init-addr method can give an address is refused by
  // `switchyard validate` too (libc is asked; `last` only exists on a reload).
  async validate(gateway) {
    const engine = engines.get(gateway);
    for (const p of engine?.planned ?? []) {
      if (p.initDefault || p.host.startsWith('_') || p.initAddr.some((m) => m === 'none' || net.isIP(m))) continue;
      if (p.initAddr.includes('libc')) {
        const ok = await dnsp.lookup(p.host).then(() => true, () => false);
        if (ok) continue;
      }
      if (p.initAddr.includes('last') && lastAddresses.has(`${p.server.id}|${p.host}`)) continue;
      const be = gateway.backends.get(p.server.backend)!;
      throw ResolversErrors.INIT_ADDR.with({ location: gateway.locate(['backends', be.name, 'servers', be.servers.indexOf(p.server), 'address']) }, p.server.id, p.host, p.initAddr.join(','));
    }
  },
  async apply(gateway) {
    const engine = engines.get(gateway);
    if (!engine || engine.planned.length === 0) return;
    const logger = gateway.logger.child({ plugin: NAME });
    const bySection = new Map<string, SectionResolver>();
    const byName = new Map<string, Resolution>();
    for (const p of engine.planned) {
      let sr = bySection.get(p.section);
      if (!sr) {
        sr = new SectionResolver(engine.sections.get(p.section)!);
        bySection.set(p.section, sr);
        engine.resolvers.push(sr);
      }
      const key = `${p.section}\n${p.host.toLowerCase()}\n${p.prefer}`;
      let res = byName.get(key);
      if (!res) {
        res = new Resolution(sr, p.host, p.prefer, logger);
        byName.set(key, res);
        engine.resolutions.push(res);
      }
      const r: Requester = { server: p.server, backend: p.server.backend, prefer: p.prefer, nets: p.nets, allowDup: p.allowDup, ignoreWeight: p.ignoreWeight, rmaint: false };
      res.requesters.push(r);
      const be = gateway.backends.get(p.server.backend)!;
      const where = ['backends', be.name, 'servers', be.servers.indexOf(p.server), 'address'];
      // An SRV label has no address of its own: its server waits for the record.
      if (res.srv) setRmaint(r, true, 'no address yet (SRV record pending)', logger);
      else await initAddress(p, r, logger, gateway, where);
    }
    for (const res of engine.resolutions) res.start();
    logger.info(`resolving ${engine.resolutions.length} name(s) for ${engine.planned.length} server(s): ${engine.resolutions.map((r) => r.name).join(', ')}`);
  },
  stop(gateway) {
    const engine = engines.get(gateway);
    if (!engine) return;
    for (const r of engine.resolutions) r.stop();
    for (const sr of engine.resolvers) sr.cancel();
    engines.delete(gateway);
  },
});

export default plugin;
