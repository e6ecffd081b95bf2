import { runContributed } from '../contributed';
import { AdaptModel, P, type Ctx, type Obj } from '../model';
import { expandAddress, type Directive } from '../parse';

const KNOWN_PREFIXES = new Set(['ipv4@', 'ipv6@', 'tcp@', 'tcp4@', 'tcp6@', 'fd@']);

export function bind(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const w = d.words;
  const addrs = expandAddress(w[1] ?? '', ad.env).split(',').filter(Boolean);
  if (addrs.length === 0) return ad.problem(d.line, w.join(' '), 'bind needs an address');
  const tls: Obj = {};
  let ssl = false;
  let acceptProxy = false;
  /** What contributed bind options set, copied onto every address of the line. */
  const contributed: Obj = {};
  for (let i = 2; i < w.length; i++) {
    const o = w[i]!;
    const arg = w[i + 1];
    const own = ad.contributed('bind', o);
    if (own) {
      i += runContributed(ad, own, { d, ctx, target: contributed, args: w.slice(i + 1), rest: w.slice(i + 1) });
      continue;
    }
    switch (o) {
      case 'ssl':
        ssl = true;
        break;
      case 'crt':
        if (!arg) return ad.problem(d.line, w.join(' '), 'crt needs a file');
        ((tls.certificates ??= []) as string[]).push(ad.crt(arg));
        i++;
        break;
      case 'alpn':
        if (!arg) return ad.problem(d.line, w.join(' '), 'alpn needs a list');
        tls.alpn = arg.split(',');
        i++;
        break;
      case 'ca-file':
        tls.ca = ad.ca(arg ?? '');
        i++;
        break;
      case 'verify':
        if (arg !== 'none' && arg !== 'optional' && arg !== 'required') return ad.problem(d.line, w.join(' '), 'verify must be none, optional or required');
        tls.verify = arg;
        i++;
        break;
      case 'strict-sni':
        tls.strictSni = true;
        break;
      case 'ssl-min-ver':
        if (arg !== 'TLSv1.2' && arg !== 'TLSv1.3') return ad.problem(d.line, w.join(' '), 'ssl-min-ver: only TLSv1.2 and TLSv1.3 are supported');
        tls.minVersion = arg;
        i++;
        break;
      case 'ciphers':
        tls.ciphers = arg;
        i++;
        break;
      case 'accept-proxy':
        acceptProxy = true;
        break;
      case 'name':
      case 'id':
        i++;
        break;
      case 'v4v6':
        break;
      case 'v6only':
        ad.warn(d.line, 'bind "v6only" approximated: an IPv6 wildcard listener also accepts IPv4 (Node.js listens dual-stack)');
        break;
      case 'tfo':
        ad.warn(d.line, 'bind "tfo" ignored: TCP Fast Open is not enabled on Node.js listeners');
        break;
      case 'allow-0rtt':
        ad.warn(d.line, 'bind "allow-0rtt" ignored: TLS 1.3 early data is not accepted (clients fall back to a full handshake)');
        break;
      default:
        // fatal unless --lenient, which keeps the bind without this one option
        ad.problem(d.line, w.join(' '), `unsupported bind option "${o}"`);
        break;
    }
  }
  if (ssl && !tls.certificates) return ad.problem(d.line, w.join(' '), 'bind ssl needs crt <pem file>');
  // HAProxy 2.6 offers no ALPN unless told: clients then speak HTTP/1.1, never h2
  if (ssl && tls.alpn === undefined) tls.alpn = [];
  if (ssl) {
    // HAProxy's crt is one PEM holding the chain and the key: the first is the default
    // certificate (cert and key read from the same file), the others are served by SNI.
    const [first, ...more] = tls.certificates as string[];
    tls.cert = first;
    tls.key = first;
    if (more.length > 0) tls.certificates = more;
    else delete tls.certificates;
  }
  if (!ssl && tls.certificates) return ad.problem(d.line, w.join(' '), 'crt without ssl');
  for (const a of addrs) {
    const prefix = /^([a-z0-9]+@)(.*)$/.exec(a);
    const ownAddress = prefix ? ad.contributed('address', prefix[1]!) : undefined;
    if (prefix && !ownAddress && !KNOWN_PREFIXES.has(prefix[1]!)) {
      const why = prefix[1]!.startsWith('quic')
        ? `"${prefix[1]}" is QUIC (HTTP/3 over UDP), which Switchyard does not serve (HAProxy 2.6 as packaged refuses it too: QUIC is not compiled in)`
        : `unknown or unsupported address prefix "${prefix[1]}" (ipv4@, ipv6@, tcp@, tcp4@, tcp6@, fd@ are supported)`;
      return ad.problem(d.line, w.join(' '), why);
    }
    if (ownAddress) {
      const bind: Obj = { ...contributed };
      if (ssl) {
        bind.tls = { ...tls };
        ad.use(P('tls'));
      }
      if (acceptProxy) {
        bind.acceptProxy = true;
        ad.use(P('proxy-protocol'));
      }
      runContributed(ad, ownAddress, { d, ctx, target: bind, args: [prefix![2]!] });
      ad.push(['frontends', ctx.feName!, 'bind'], bind, d.line);
      continue;
    }
    const inherited = inheritedFd(a);
    if (typeof inherited === 'string') return ad.problem(d.line, w.join(' '), inherited);
    // HAProxy: the port follows the last colon, so `:::443` is [::]:443 (the IPv6 wildcard)
    const m = inherited === undefined ? /^(?:ipv4@|ipv6@|tcp@|tcp4@|tcp6@)?(\[[^\]]+\]|[^\[\]@]*):(\d+)$/.exec(a) : null;
    if (inherited === undefined && !m) return ad.problem(d.line, w.join(' '), `unsupported bind address "${a}" (host:port or fd@N only; no port ranges or unix sockets)`);
    const bind: Obj = m ? { ...contributed, host: m[1] === '*' || m[1] === '' ? '0.0.0.0' : m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) } : { ...contributed, fd: inherited!.fd };
    if (ssl) {
      bind.tls = { ...tls };
      ad.use(P('tls'));
    }
    if (acceptProxy) {
      bind.acceptProxy = true;
      ad.use(P('proxy-protocol'));
    }
    ad.push(['frontends', ctx.feName!, 'bind'], bind, d.line);
  }
}

/**
 * `fd@N`: listen on inherited descriptor N (as VTest and systemd pass them). `fd@${VAR}` and
 * `fd@$VAR` are read from the environment here when the address still holds them.
 * Returns undefined for other addresses, a message when the descriptor is not a number.
 */
function inheritedFd(address: string): { fd: number } | string | undefined {
  const m = /^fd@(.*)$/.exec(address);
  if (!m) return undefined;
  let v = m[1]!;
  const ref = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/.exec(v);
  if (ref) v = process.env[ref[1] ?? ref[2]!] ?? '';
  if (!/^\d+$/.test(v)) return `bind address "${address}": fd@ needs a descriptor number${ref ? ` (environment variable ${ref[1] ?? ref[2]} is ${v === '' ? 'unset' : `"${v}"`})` : ''}`;
  return { fd: Number(v) };
}
