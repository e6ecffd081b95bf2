import { AdaptModel, P, GLOBAL_IGNORED, type Obj } from '../model';
import { runContributed } from '../contributed';
import { expandAddress, type Directive, type Section } from '../parse';

export function global(ad: AdaptModel, s: Section): void {
  for (const d of s.directives) {
    const [k, a, b] = d.words;
    const own = ad.contributed('global', k!);
    if (own) {
      runContributed(ad, own, { d, section: s });
      continue;
    }
    if (GLOBAL_IGNORED.has(k!) || k!.startsWith('tune.')) {
      ad.warn(d.line, `"${k}" ignored: it tunes the HAProxy process (use \`switchyard run --workers N\` for threads)`);
      continue;
    }
    switch (k) {
      case 'maxconn': {
        const n = ad.int(a, d);
        if (n !== undefined) {
          ad.use(P('conn-limit'));
          ad.set(['connLimit', 'maxconn'], n, d.line);
        }
        break;
      }
      case 'pidfile':
        ad.set(['global', 'pidFile'], a, d.line);
        break;
      case 'crt-base':
        ad.crtBase = a ?? '';
        break;
      case 'ca-base':
        ad.caBase = a ?? '';
        break;
      case 'spread-checks': {
        const n = ad.int(a, d);
        if (n !== undefined) ad.jitter = n;
        break;
      }
      case 'log':
        logTargetOf(ad, d);
        break;
      case 'stats':
        if (a === 'socket' || a === 'timeout' || a === 'maxconn') {
          ad.warn(d.line, `"stats ${a}" ignored: the runtime API is @switchyard/plugin-runtime-api (configure it natively)`);
        } else ad.problem(d.line, d.words.join(' '), 'unknown global stats setting');
        break;
      default:
        ad.problem(d.line, d.words.join(' '), `unknown global directive "${k}"${b === undefined ? '' : ''}`);
    }
  }
  ad.closeSection();
}

/** `log <target> [len n] [format f] <facility> [level]` → accessLog output. */
export function logTargetOf(ad: AdaptModel, d: Directive): void {
  const w = d.words.slice(1);
  if (w[0] === 'global') return;
  const target = w[0] === undefined ? undefined : expandAddress(w[0], ad.env);
  const obj: Obj = {};
  let i = 1;
  let facility: string | undefined;
  while (i < w.length) {
    if (w[i] === 'len' || w[i] === 'format' || w[i] === 'sample') {
      i += 2;
      continue;
    }
    if (facility === undefined) facility = w[i];
    i++;
  }
  if (target === 'stdout' || target === 'fd@1') obj.output = 'stdout';
  else if (target === undefined || target.startsWith('/') || target.startsWith('unix@') || target === 'stderr' || target.startsWith('fd@') || target.startsWith('ring@')) {
    ad.problem(d.line, d.words.join(' '), 'log targets other than stdout or a UDP host:port are not supported');
    return;
  } else {
    obj.output = 'syslog';
    const addr = target.replace(/^udp[46]?@/, '');
    obj.syslog = { address: /:\d+$/.test(addr) ? addr : `${addr}:514`, ...(facility ? { facility } : {}) };
  }
  if (!ad.logTarget) ad.logTarget = { obj, line: d.line };
}

