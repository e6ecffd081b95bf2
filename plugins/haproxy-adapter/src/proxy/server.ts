import { runContributed } from '../contributed';
import { AdaptModel, P, type Ctx, type Obj } from '../model';
import { expandAddress, type Directive } from '../parse';

export function server(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const w = d.words;
  const name = w[1];
  const addr = w[2] === undefined ? undefined : expandAddress(w[2], ad.env);
  if (!name || !addr) return ad.problem(d.line, w.join(' '), 'server needs a name and an address');
  // An SRV label (`_http._tcp.name`) resolved at run time takes its port from the records
  // (@switchyard/plugin-resolvers); the model's address needs one: 1 stands in until then.
  const srvLabel = /^_[^:\s]+$/.test(addr) && [...ctx.defaultServer.map((x) => x.words), w].some((ws) => ws.includes('resolvers'));
  const m = srvLabel ? [addr, undefined, addr, '1'] : /^(ipv4@|ipv6@)?(\[[^\]]*\]|[^:]*):(\d*)$/.exec(addr);
  const written = w[2]!;
  const fromEnv = written !== addr ? ` ("${written}" with its variables expanded)` : '';
  if (!m || m[3] === '' || Number(m[3]) === 0) {
    if (/^(unix|abns|fd|sockpair)@|^\//.test(addr)) return ad.problem(d.line, w.join(' '), `server address "${addr}": servers on unix sockets are not supported (only host:port)`);
    if (m && m[2] === '') return ad.problem(d.line, w.join(' '), `server address "${addr}"${fromEnv} has neither host nor port: HAProxy would connect to the very address and port the client connected to (the frontend itself); Switchyard needs at least a port`);
    return ad.problem(d.line, w.join(' '), `server address "${addr}"${fromEnv} needs a port (a port taken from the client's destination, port ranges and port offsets are not supported)`);
  }
  // An empty host (`:5432`, `\${UNSET}:5432`), `*` or 0.0.0.0 / :: : HAProxy connects to the address
  // the client connected to (its destination), on the server's port; the forwarders do the same.
  const host = m[2] === '' || m[2] === '*' ? (m[1] === 'ipv6@' ? '[::]' : '0.0.0.0') : m[2]!;
  if (m[2] === '' || m[2] === '*') ad.warn(d.line, `server ${name}: address "${addr}"${fromEnv} has no host: as in HAProxy, it connects to the client's destination address on port ${m[3]}`);
  const server: Obj = { name, address: `${host}:${m[3]}` };
  const check: Obj = {};
  let checked = false;
  let agent: Obj | undefined;
  const tls: Obj = {};
  let ssl = false;
  let verifySet = false;
  const passive: Obj = {};
  const params = [...ctx.defaultServer.map((x) => ({ words: x.words.slice(1), d: x })), { words: w.slice(3), d }];
  for (const { words, d: src } of params) {
    for (let i = 0; i < words.length; i++) {
      const o = words[i]!;
      const a = words[i + 1];
      const own = ad.contributed('server', o);
      if (own) {
        i += runContributed(ad, own, { d: src, ctx, target: server, args: words.slice(i + 1), rest: words.slice(i + 1) });
        continue;
      }
      const num = (): number | undefined => {
        i++;
        return ad.int(a, src);
      };
      const dur = (): string | number | undefined => {
        i++;
        return ad.duration(a, src);
      };
      switch (o) {
        case 'check':
          checked = true;
          break;
        case 'no-check':
          checked = false;
          break;
        case 'inter':
        case 'fastinter':
        case 'downinter': {
          const v = dur();
          if (v !== undefined) check[o] = v;
          break;
        }
        case 'rise':
        case 'fall': {
          const v = num();
          if (v !== undefined) check[o] = v;
          break;
        }
        case 'port': {
          const v = num();
          if (v !== undefined) check.port = v;
          break;
        }
        case 'addr':
          check.address = a;
          i++;
          break;
        case 'weight': {
          const v = num();
          if (v !== undefined) server.weight = v;
          break;
        }
        case 'maxconn': {
          const v = num();
          if (v !== undefined) server.maxconn = v;
          break;
        }
        case 'maxqueue': {
          const v = num();
          if (v !== undefined && v > 0) {
            ctx.maxqueueFromServers += v;
            ad.warn(src.line, `server maxqueue approximated: Switchyard has one queue per backend, whose maxqueue becomes the sum of the servers' (${name})`);
          }
          break;
        }
        case 'backup':
          server.backup = true;
          break;
        case 'slowstart': {
          const v = dur();
          if (v !== undefined) {
            server.slowstart = v;
            ad.use(P('slowstart'));
          }
          break;
        }
        case 'cookie':
          server.cookie = a;
          i++;
          break;
        case 'ssl':
          ssl = true;
          break;
        case 'no-ssl':
          ssl = false;
          break;
        case 'verify':
          if (a !== 'none' && a !== 'required') return ad.problem(src.line, src.words.join(' '), 'verify must be none or required');
          tls.verify = a === 'required';
          verifySet = true;
          i++;
          break;
        case 'ca-file':
          tls.ca = ad.ca(a ?? '');
          i++;
          break;
        case 'sni': {
          const s = /^str\((.*)\)$/.exec(a ?? '');
          if (!s) return ad.problem(src.line, src.words.join(' '), 'server sni: only str(<name>) is supported');
          tls.sni = s[1];
          i++;
          break;
        }
        case 'alpn':
          tls.alpn = (a ?? '').split(',');
          i++;
          break;
        case 'send-proxy':
          server.sendProxy = 'v1';
          ad.use(P('proxy-protocol'));
          break;
        case 'send-proxy-v2':
          server.sendProxy = 'v2';
          ad.use(P('proxy-protocol'));
          break;
        case 'agent-check':
          agent ??= {};
          break;
        case 'agent-port': {
          const v = num();
          agent ??= {};
          if (v !== undefined) agent.port = v;
          break;
        }
        case 'agent-inter': {
          const v = dur();
          agent ??= {};
          if (v !== undefined) agent.inter = v;
          break;
        }
        case 'agent-send':
          agent ??= {};
          agent.send = a;
          i++;
          break;
        case 'agent-addr':
          agent ??= {};
          agent.address = a;
          i++;
          break;
        case 'observe':
          passive.observe = a;
          i++;
          break;
        case 'error-limit': {
          const v = num();
          if (v !== undefined) passive.errorLimit = v;
          break;
        }
        case 'on-error':
          passive.onError = a;
          i++;
          break;
        case 'id':
          i++;
          break;
        case 'resolvers':
          if (a === undefined || !ad.resolvers.has(a)) return ad.problem(src.line, src.words.join(' '), `no resolvers section named "${a ?? ''}"`);
          i++;
          break;
        case 'init-addr':
        case 'resolve-prefer':
        case 'resolve-opts':
        case 'resolve-net':
          i++;
          ad.warn(src.line, `server "${o}" ignored: names are resolved by the system resolver at connect time`);
          break;
        case 'enabled':
          break;
        case 'proto':
          i++;
          ad.problem(src.line, src.words.join(' '), a === 'h2'
            ? 'server proto h2 (HTTP/2 in clear text to the server) is not supported: the HTTP forwarder speaks HTTP/2 to a server only over TLS (ssl alpn h2), else HTTP/1.1'
            : `server proto ${a ?? ''}: no multiplexer of that name (HAProxy 2.6 knows h2 and fcgi; neither runs in clear text to a server in Switchyard)`);
          break;
        case 'socks4':
          i++;
          ad.problem(src.line, src.words.join(' '), `server socks4 ${a ?? ''}: connecting to servers through a SOCKS4 proxy is not supported`);
          break;
        case 'check-via-socks4':
          break;
        case 'minconn':
          i++;
          ad.warn(src.line, `server "minconn" ignored: ${name} keeps its fixed maxconn (dynamic limits with fullconn are not supported)`);
          break;
        default:
          // fatal unless --lenient, which keeps the server without this one option
          ad.problem(src.line, src.words.join(' '), `unsupported server option "${o}"`);
          break;
      }
    }
  }
  if (checked) {
    ad.use(P('health-check'));
    server.check = Object.keys(check).length > 0 ? check : true;
  } else server.check = false;
  if (agent !== undefined) {
    ad.use(P('health-check'));
    if (agent.port === undefined) return ad.problem(d.line, w.join(' '), 'agent-check needs agent-port');
    server.agentCheck = agent;
  }
  if (ssl) {
    // HAProxy 2.6 verifies server certificates by default (ssl-server-verify required), and
    // refuses a server that would verify without a CA file.
    if (!verifySet) tls.verify = ad.serverVerify === 'required';
    if (tls.verify === true && tls.ca === undefined) {
      return ad.problem(d.line, w.join(' '), `server ${name}: verify is required (HAProxy's default) but no ca-file is given: set "verify none" or a ca-file`);
    }
    server.tls = tls;
  }
  else if (Object.keys(tls).length > 0) ad.warn(d.line, `server ${name}: TLS options without "ssl" ignored`);
  if (Object.keys(passive).length > 0) {
    ad.use(P('passive-health'));
    server.passiveHealth = passive;
  }
  ad.push(['backends', ctx.beName!, 'servers'], server, d.line);
}
