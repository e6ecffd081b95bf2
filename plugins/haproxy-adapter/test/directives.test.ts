/**
 * The `haproxy.directive` slot: a plugin teaches the adapter its own haproxy.cfg words, in
 * every scope, and the adapted config loads only the plugins whose directives were used.
 */
import { HAPROXY_DIRECTIVE_SLOT, formatError, haproxyDirectiveName, type HaproxyDirective, type SlotRegistry } from '@switchyard/sdk';
import { adaptHaproxy } from '../src/adapt';
import { adapt } from './helpers';

function registry(defs: HaproxyDirective[]): SlotRegistry {
  const m = new Map<string, unknown>();
  for (const d of defs) m.set(haproxyDirectiveName(d.scope, d.keyword), d);
  return {
    provide: () => undefined,
    get: <T>(slot: string, name: string) => (slot === HAPROXY_DIRECTIVE_SLOT ? (m.get(name) as T | undefined) : undefined),
    names: (slot) => (slot === HAPROXY_DIRECTIVE_SLOT ? [...m.keys()] : []),
  };
}

const CFG = `global
    demo-global 7
demo-section one
    entry a
    entry b
defaults
    mode http
    option demo-opt x
frontend fe
    bind demo@thing demo-bind 3
    http-request demo-action 42 if { path /x }
    http-after-response demo-after
    default_backend be
backend be
    server s1 127.0.0.1:8080 demo-srv 9 weight 2
`;

describe('haproxy.directive slot', () => {
  const seen: string[] = [];
  const P = '@example/plugin-demo';
  const defs: HaproxyDirective[] = [
    { scope: 'global', keyword: 'demo-global', plugin: P, description: 'd', handle: (c) => c.set(['demo', 'global'], c.int(c.args[0])) },
    {
      scope: 'section',
      keyword: 'demo-section',
      description: 'd',
      handle: (c) => c.set(['demo', 'section'], { name: c.section.name, entries: c.lines.map((l) => `${l.words[1]}@${l.line}`) }),
    },
    {
      scope: 'option',
      keyword: 'demo-opt',
      plugin: P,
      description: 'd',
      handle(c) {
        seen.push(`option ${c.frontend ?? '-'} ${c.backend ?? '-'} ${c.fromDefaults} ${c.args.join(',')}`);
        c.onClose(() => seen.push(`close ${c.frontend ?? c.backend}`));
      },
    },
    { scope: 'address', keyword: 'demo@', description: 'd', handle: (c) => Object.assign(c.target!, { demo: c.args[0] }) },
    { scope: 'bind', keyword: 'demo-bind', description: 'd', handle: (c) => Object.assign(c.target!, { demoBind: Number(c.take()) }) },
    { scope: 'http-request', keyword: 'demo-action', plugin: P, description: 'd', handle: (c) => c.addRule({ action: 'demo', n: Number(c.args[0]) }) },
    { scope: 'http-after-response', keyword: 'demo-after', description: 'd', handle: (c) => c.addRule({ action: 'after' }) },
    { scope: 'server', keyword: 'demo-srv', description: 'd', handle: (c) => Object.assign(c.target!, { demo: Number(c.take()) }) },
  ];

  it('hands each scope its lines and lets the handlers write the model', () => {
    const r = adaptHaproxy(CFG, '/demo.cfg', { lenient: false, slots: registry(defs) });
    const c = r.config as Record<string, any>;
    expect(c.demo).toEqual({ global: 7, section: { name: 'one', entries: ['a@4', 'b@5'] } });
    expect(c.frontends.fe.bind).toEqual([{ demoBind: 3, demo: 'thing' }]);
    expect(c.frontends.fe.httpRequest).toEqual([{ action: 'demo', n: 42, if: '{ path /x }' }]);
    expect(c.frontends.fe.httpAfterResponse).toEqual([{ action: 'after' }]);
    expect(c.backends.be.servers[0]).toMatchObject({ name: 's1', demo: 9, weight: 2 });
    expect(seen).toEqual(['option fe - true x', 'close fe', 'option - be true x', 'close be']);
    expect(r.lineOf?.(['frontends', 'fe', 'httpRequest', 0])).toBe(11);
    // only what the file uses: the demo plugin, the ACL compiler for its condition, the HTTP forwarder, the default balancer, the adapter's own CLI, and the standard preset, which loads only its members the config uses
    expect([...(c.plugins as string[])].sort()).toEqual([P, '@switchyard/plugin-acl', '@switchyard/plugin-haproxy-adapter', '@switchyard/preset-standard', '@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin'].sort());
  });

  it('reports a contributed directive\'s problem at its line', () => {
    const bad: HaproxyDirective = { scope: 'option', keyword: 'demo-opt', description: 'd', handle: (c) => c.problem('no good') };
    let err: unknown;
    try {
      adaptHaproxy(CFG.replace('demo-global 7', 'nbthread 2'), '/demo.cfg', { lenient: false, slots: registry([...defs.slice(1, 2), bad]) });
    } catch (e) {
      err = e;
    }
    // the message opens with the directive's own words, at its file:line
    expect(formatError(err)).toMatch(/^\/demo\.cfg:8: option demo-opt x — no good\n/);
  });

  it('option forwardfor comes from the forwarded-headers plugin, as HAProxy means it', () => {
    const r = adapt(
      `defaults\n  mode http\nfrontend fe\n  bind 127.0.0.1:0\n  option forwardfor except 10.0.0.0/8 header X-Real-Client if-none\n  default_backend be\nbackend be\n  server s 127.0.0.1:1\n`,
      '/f.cfg',
      { lenient: false },
    );
    const c = r.config as Record<string, any>;
    expect(c.frontends.fe.forwardedHeaders).toEqual({
      enabled: true,
      xForwardedFor: true,
      xForwardedProto: false,
      xForwardedHost: false,
      xForwardedForAppend: true,
      xForwardedForExcept: ['10.0.0.0/8'],
      xForwardedForHeader: 'X-Real-Client',
      xForwardedForIfNone: true,
    });
    expect(c.plugins).toContain('@switchyard/plugin-forwarded-headers');
    expect(c.plugins).not.toContain('@switchyard/plugin-jwt-auth');
  });

  it('option forwardfor in a backend applies to the frontends reaching it', () => {
    const r = adapt(`defaults\n  mode http\nfrontend a\n  bind 127.0.0.1:0\n  default_backend be\nfrontend b\n  bind 127.0.0.1:0\n  default_backend other\nbackend be\n  option forwardfor\n  server s 127.0.0.1:1\nbackend other\n  server s 127.0.0.1:2\n`, '/f.cfg', { lenient: false });
    const c = r.config as Record<string, any>;
    expect(c.frontends.a.forwardedHeaders).toMatchObject({ xForwardedForAppend: true });
    expect(c.frontends.b.forwardedHeaders).toBeUndefined();
  });
});
