import { AdaptModel, P, GLOBAL_NOTES, type Obj } from '../model';
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
    const note = GLOBAL_NOTES[k!] ?? (k!.startsWith('tune.') ? 'it tunes HAProxy\'s own buffers and schedulers' : undefined);
    if (note !== undefined) {
      ad.warn(d.line, `"${k}" ignored: ${note}`);
      continue;
    }
    if (k === 'log-tag' && a) {
      ad.logTag = a;
      continue;
    }
    if (k === 'lua-load' || k === 'lua-load-per-thread' || k === 'lua-prepend-path') {
      ad.problem(d.line, d.words.join(' '), `${k}: Lua scripts do not run in Switchyard (no Lua engine on npm runs HAProxy\'s core.register_* API): port the script to a JavaScript plugin (definePlugin, tap the route or respond hook; docs/plugin-authoring.md)`);
      continue;
    }
    if (k === 'ssl-server-verify') {
      if (a !== 'none' && a !== 'required') ad.problem(d.line, d.words.join(' '), 'ssl-server-verify must be none or required');
      else ad.serverVerify = a;
      continue;
    }
    if (k === 'default-path') {
      if (a !== 'config') ad.warn(d.line, `"default-path ${a ?? ''}" approximated: relative file names are read from the configuration file's directory (default-path config)`);
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
const SYSLOG_FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'auth2', 'ftp', 'ntp', 'audit', 'alert', 'cron2', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'];

export function logTargetOf(ad: AdaptModel, d: Directive): void {
  const w = d.words.slice(1);
  if (w[0] === 'global') return;
  const target = w[0] === undefined ? undefined : expandAddress(w[0], ad.env);
  const obj: Obj = {};
  let i = 1;
  let facility: string | undefined;
  let len: number | undefined;
  let format: string | undefined;
  while (i < w.length) {
    if (w[i] === 'len' || w[i] === 'format' || w[i] === 'sample') {
      if (w[i] === 'len') len = ad.int(w[i + 1], d);
      if (w[i] === 'format') format = w[i + 1];
      i += 2;
      continue;
    }
    if (facility === undefined) facility = w[i];
    i++;
  }
  if (facility !== undefined && !SYSLOG_FACILITIES.includes(facility)) {
    return ad.problem(d.line, d.words.join(' '), `log: unknown facility "${facility}" (${SYSLOG_FACILITIES.join(', ')})`);
  }
  const syslog = (address: string): Obj => ({
    address,
    ...(facility ? { facility } : {}),
    ...(len !== undefined ? { maxLength: Math.max(80, Math.min(65000, len)) } : {}),
    ...(format === 'rfc5424' ? { protocol: 'rfc5424' } : {}),
  });
  if (target === 'stdout' || target === 'fd@1') obj.output = 'stdout';
  else if (target === 'stderr' || target === 'fd@2') obj.output = 'stderr';
  else if (target !== undefined && (target.startsWith('/') || target.startsWith('unix@/'))) {
    // a path is a local syslog socket (HAProxy never writes a log file itself)
    obj.output = 'syslog';
    obj.syslog = syslog(target.replace(/^unix@/, ''));
  } else if (target === undefined || target.startsWith('fd@') || target.startsWith('ring@') || target.startsWith('unix@') || target.startsWith('abns@')) {
    ad.problem(d.line, d.words.join(' '), `log target "${target ?? ''}" is not supported (stdout, stderr, fd@1, fd@2, a Unix socket path such as /dev/log, or a UDP host[:port])`);
    return;
  } else {
    obj.output = 'syslog';
    const addr = target.replace(/^udp[46]?@/, '');
    obj.syslog = syslog(/:\d+$/.test(addr) ? addr : `${addr}:514`);
  }
  if (format !== undefined && !['rfc3164', 'rfc5424', 'raw', 'local', 'short', 'priority', 'timed', 'iso'].includes(format)) {
    return ad.problem(d.line, d.words.join(' '), `log: unknown format "${format}"`);
  }
  if (!ad.logTarget) ad.logTarget = { obj, line: d.line };
}

