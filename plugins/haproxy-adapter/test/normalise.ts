/**
 * Normalises a real-world haproxy.cfg so that it can be checked on this machine, the same
 * way for HAProxy and for Switchyard, without changing what it means:
 * - host names of servers, peers, nameservers and log targets → 127.0.0.1 (HAProxy resolves
 *   server names while parsing, and these names only exist in their authors' networks);
 * - files the config reads (crt, ca-file, crl-file, crt-list, errorfile, lua-load, -f pattern
 *   files, map files, ssl-dh-param-file, crt-base / ca-base) → stub files under `stubDir`
 *   at the same relative place (a real PEM for certificates, an HTTP response for error files,
 *   empty pattern and map files, an empty Lua file);
 * - nothing else: every line keeps its number, every directive its words.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export interface Stubs {
  /** One PEM holding a self-signed certificate and its key. */
  pem: string;
  /** The certificate alone (CA file stub). */
  cert: string;
}

const KEEP_HOST = (h: string): boolean => h === '' || h === '*' || net.isIP(h.replace(/^\[|\]$/g, '')) !== 0;

/** `host:port`, `host`, `ipv4@host:port`, `[v6]:port` → the same with a name replaced by 127.0.0.1. */
export function normaliseAddress(a: string): string {
  if (a.startsWith('/') || /^(unix|abns|fd|sockpair|stdout|stderr|ring)@/.test(a) || a.includes('$')) return a;
  const pre = /^((?:ipv4|ipv6|tcp|tcp4|tcp6|udp|udp4|udp6)@)?(.*)$/.exec(a)!;
  const rest = pre[2]!;
  const m = /^(\[[^\]]*\]|[^:]*)(:.*)?$/.exec(rest);
  if (!m) return a;
  const host = m[1]!;
  if (KEEP_HOST(host) || net.isIP(rest) === 6) return a;
  return `${pre[1] ?? ''}127.0.0.1${m[2] ?? ''}`;
}

function stubFile(stubDir: string, original: string, kind: 'pem' | 'ca' | 'errorfile' | 'empty' | 'dir', stubs: Stubs): string {
  const rel = original.replace(/^\/+/, '');
  const target = path.join(stubDir, rel);
  if (kind === 'dir' || original.endsWith('/')) {
    fs.mkdirSync(target, { recursive: true });
    const pem = path.join(target, 'site.pem');
    if (!fs.existsSync(pem)) fs.copyFileSync(stubs.pem, pem);
    return original.endsWith('/') ? `${target}/` : target;
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (!fs.existsSync(target)) {
    if (kind === 'pem') fs.copyFileSync(stubs.pem, target);
    else if (kind === 'ca') fs.copyFileSync(stubs.cert, target);
    else if (kind === 'errorfile') {
      const code = /(\d{3})/.exec(path.basename(original))?.[1] ?? '503';
      fs.writeFileSync(target, `HTTP/1.0 ${code} Stub\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>${code} stub</h1></body></html>\n`);
    } else fs.writeFileSync(target, '');
  }
  return target;
}

/** Options whose next word is a file, and what the stub is. */
const FILE_ARGS: Record<string, 'pem' | 'ca' | 'empty'> = {
  crt: 'pem',
  'ca-file': 'ca',
  'crl-file': 'ca',
  'crt-list': 'empty',
  'ca-verify-file': 'ca',
};

export function normaliseConfig(text: string, stubDir: string, stubs: Stubs): string {
  let crtBase = '';
  let caBase = '';
  const file = (p: string, kind: 'pem' | 'ca' | 'errorfile' | 'empty' | 'dir', base = ''): string => {
    if (p.includes('$') || p === '') return p;
    if (!path.isAbsolute(p) && base !== '') {
      stubFile(stubDir, path.join(base, p), kind, stubs);
      return p;
    }
    return stubFile(stubDir, path.isAbsolute(p) ? p : path.join('relative', p), kind, stubs);
  };
  return text
    .split('\n')
    .map((line) => {
      const code = line.replace(/(^|\s)#.*$/, '');
      const m = /^(\s*)(\S+)(.*)$/.exec(code);
      if (!m) return line;
      const comment = line.slice(code.length);
      const indent = m[1]!;
      const words = m[3]!.split(/(\s+)/); // keep the blanks between words
      const kw = m[2]!;
      const tok = words.filter((w, i) => i % 2 === 0 && i > 0);
      const set = (n: number, v: string): void => {
        words[2 * (n + 1)] = v;
      };
      switch (kw) {
        case 'server':
          if (tok[1] !== undefined) set(1, normaliseAddress(tok[1]));
          break;
        case 'server-template':
          if (tok[2] !== undefined) set(2, normaliseAddress(tok[2]));
          break;
        case 'peer':
        case 'nameserver':
        case 'mailer':
          if (tok[1] !== undefined) set(1, normaliseAddress(tok[1]));
          break;
        case 'source':
          if (tok[0] !== undefined) set(0, normaliseAddress(tok[0]));
          break;
        case 'log':
          if (tok[0] !== undefined && tok[0] !== 'global' && !tok[0].startsWith('/')) set(0, normaliseAddress(tok[0]));
          break;
        case 'crt-base':
          if (tok[0]) {
            crtBase = tok[0];
            set(0, file(tok[0], 'dir'));
          }
          break;
        case 'ca-base':
          if (tok[0]) {
            caBase = tok[0];
            set(0, file(tok[0], 'dir'));
          }
          break;
        case 'lua-load':
        case 'lua-load-per-thread':
        case 'lua-prepend-path':
          if (tok[0] && kw !== 'lua-prepend-path') set(0, file(tok[0], 'empty'));
          break;
        case 'errorfile':
          if (tok[1]) set(1, file(tok[1], 'errorfile'));
          break;
        case 'ssl-dh-param-file':
        case 'server-state-file':
          if (tok[0]) set(0, file(tok[0], 'empty'));
          break;
        default:
          break;
      }
      for (let i = 0; i < tok.length; i++) {
        const w = tok[i]!;
        const next = tok[i + 1];
        const kind = FILE_ARGS[w];
        if (kind && next !== undefined && (kw === 'bind' || kw === 'server' || kw === 'default-server' || kw === 'server-template')) {
          set(i + 1, file(next, kind === 'pem' && next.endsWith('/') ? 'dir' : kind, kind === 'pem' ? crtBase : caBase));
          i++;
        } else if (w === '-f' && next !== undefined) {
          set(i + 1, file(next, 'empty'));
          i++;
        } else if (/^map(_\w+)?\(/.test(w) || /,map(_\w+)?\(/.test(w) || /\)\s*,?\s*map/.test(w)) {
          set(i, w.replace(/(map(?:_\w+)?\()([^,)]+)/g, (_all, f: string, p: string) => `${f}${p.startsWith('/') || p.includes('.') ? file(p, 'empty') : p}`));
        }
      }
      return indent + kw + words.join('') + comment;
    })
    .join('\n');
}
