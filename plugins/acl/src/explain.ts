import { Readable } from 'node:stream';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { parseArgs } from 'node:util';
import type { CliCommand, CliContext, Connection, GatewayApi, HttpExchange, RequestHead } from '@switchyard/sdk';
import { AclErrors } from './errors';
import { EXPLAIN_SLOT, type ExplainStep } from './types';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer']);

export interface SyntheticRequest {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  src: string;
  sni?: string;
}

/** What a synthetic exchange answered, if a rule answered it. */
export interface SyntheticAnswer {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
}

/**
 * Builds an HttpExchange-shaped object for one request that never touches a socket, so
 * fetches, conditions, rules and the balancing policy can run on it.
 */
export function syntheticExchange(gateway: GatewayApi, frontendName: string, r: SyntheticRequest): { exchange: HttpExchange; answer: () => SyntheticAnswer | undefined } {
  const frontend = gateway.frontends.get(frontendName);
  if (!frontend) throw AclErrors.CLI_USAGE(`no frontend "${frontendName}" (frontends: ${[...gateway.frontends.keys()].join(', ')})`);
  let url = r.target;
  let host: string | undefined;
  if (!url.startsWith('/')) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw AclErrors.CLI_USAGE(`--request target "${url}" is neither a path nor an absolute URL`);
    }
    url = parsed.pathname + parsed.search;
    host = parsed.host;
  }
  const headers: IncomingHttpHeaders = {};
  const rawHeaders: string[] = [];
  for (const [k, v] of r.headers) {
    const name = k.toLowerCase();
    rawHeaders.push(k, v);
    const prev = headers[name];
    if (prev === undefined) headers[name] = name === 'set-cookie' ? [v] : v;
    else if (Array.isArray(prev)) prev.push(v);
    else headers[name] = name === 'cookie' ? `${prev}; ${v}` : `${prev}, ${v}`;
  }
  if (host !== undefined) {
    if (headers.host === undefined) rawHeaders.push('Host', host);
    headers.host = host;
  }
  host ??= (headers.host as string | undefined) ?? '';
  const bind = frontend.config.bind[0];
  const connection: Connection = {
    id: 0,
    frontend,
    socket: null as unknown as Connection['socket'],
    remoteAddress: r.src,
    remotePort: 40000,
    localAddress: bind && bind.host !== '0.0.0.0' && bind.host !== '::' ? bind.host : '127.0.0.1',
    localPort: bind?.port ?? 0,
    tls: r.sni !== undefined ? { servername: r.sni, alpn: null, protocol: 'TLSv1.3', cipher: null } : null,
    data: new Map(),
  };
  let upstream: RequestHead | undefined;
  let answer: SyntheticAnswer | undefined;
  const q = url.indexOf('?');
  const vars = new Map<string, unknown>();
  const ex = {
    kind: 'http',
    id: 0,
    connection,
    frontend,
    clientAddress: r.src,
    clientPort: 40000,
    startTime: Date.now(),
    startHr: process.hrtime.bigint(),
    backend: null,
    server: null,
    retries: 0,
    error: null,
    termination: 'ok',
    bytesIn: 0,
    bytesOut: 0,
    vars,
    headers,
    rawHeaders,
    httpVersion: '1.1',
    target: r.target,
    body: Readable.from([]),
    hasBody: false,
    clientGone: false,
    headSent: false,
    onClose: () => undefined,
    answer: () => null,
    abort: () => undefined,
    socket: null,
    head: null,
    upgrade: false,
    method: r.method,
    host,
    url,
    path: q === -1 ? url : url.slice(0, q),
    status: 0,
    get upstreamTouched() {
      return upstream !== undefined;
    },
    get upstream(): RequestHead {
      if (upstream) return upstream;
      const h: Record<string, string | string[]> = {};
      for (let i = 0; i < rawHeaders.length; i += 2) {
        const name = rawHeaders[i]!.toLowerCase();
        if (HOP_BY_HOP.has(name)) continue;
        const prev = h[name];
        if (prev === undefined) h[name] = rawHeaders[i + 1]!;
        else if (Array.isArray(prev)) prev.push(rawHeaders[i + 1]!);
        else h[name] = [prev, rawHeaders[i + 1]!];
      }
      h.host = host!;
      upstream = { method: r.method, path: url, headers: h };
      return upstream;
    },
    respond(status: number, body?: string | Buffer, hdrs?: OutgoingHttpHeaders) {
      answer = { status, headers: hdrs ?? {}, body: body === undefined ? '' : body.toString() };
      this.status = status;
    },
    fail(error: Error & { status?: number }) {
      answer = { status: error.status ?? 500, headers: {}, body: error.message };
    },
  };
  return { exchange: ex as unknown as HttpExchange, answer: () => answer };
}

function parseRequest(argv: ReadonlyArray<string>): { config: string; adapter?: string; frontend?: string; request: SyntheticRequest } {
  const { values } = parseArgs({
    args: [...argv],
    allowPositionals: false,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      adapter: { type: 'string' },
      request: { type: 'string', short: 'r' },
      header: { type: 'string', short: 'H', multiple: true },
      src: { type: 'string' },
      sni: { type: 'string' },
      frontend: { type: 'string', short: 'f' },
      'log-level': { type: 'string' },
      lenient: { type: 'boolean' },
    },
  });
  if (!values.config) throw AclErrors.CLI_USAGE('explain needs --config <file>');
  if (!values.request) throw AclErrors.CLI_USAGE("explain needs --request 'METHOD URL', e.g. --request 'GET http://shop.example/api/x'");
  const parts = values.request.trim().split(/\s+/);
  const [method, target] = parts.length === 1 ? ['GET', parts[0]!] : [parts[0]!.toUpperCase(), parts[1]!];
  const headers: Array<[string, string]> = [];
  for (const h of values.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw AclErrors.CLI_USAGE(`--header "${h}" is not Name:value`);
    headers.push([h.slice(0, colon).trim(), h.slice(colon + 1).trim()]);
  }
  return {
    config: values.config,
    adapter: values.adapter,
    frontend: values.frontend,
    request: { method, target, headers, src: values.src ?? '127.0.0.1', sni: values.sni },
  };
}

export type FrontendAclExplainer = (gateway: GatewayApi, ex: HttpExchange, out: (line: string) => void) => void;

/** `switchyard explain`: one request through a config's ACLs, rules and routing, on paper. */
export function explainCommand(aclLines: FrontendAclExplainer): CliCommand {
  return {
    summary: 'show which ACLs match one request, which rules fire, and the backend and server it gets',
    usage: "switchyard explain --config <file> --request 'GET http://shop.example/api/x' [--header K:V]... [--src 10.1.2.3] [--sni name] [--frontend name]",
    async run(ctx: CliContext): Promise<number> {
      let args;
      try {
        args = parseRequest(ctx.argv);
      } catch (err) {
        ctx.err(`error: ${(err as Error).message}\n${this.usage}\n`);
        return 2;
      }
      const gateway = await ctx.prepare({ file: args.config, adapter: args.adapter });
      try {
        return explain(gateway, args.frontend, args.request, ctx.out, aclLines);
      } catch (err) {
        ctx.err(`error: ${(err as Error).message}\n`);
        return 1;
      } finally {
        await gateway.stop(0);
      }
    },
  };
}

export function explain(gateway: GatewayApi, frontendName: string | undefined, request: SyntheticRequest, print: (s: string) => void, aclLines: FrontendAclExplainer): number {
  const out = (line: string): void => print(line + '\n');
  const fe = frontendName ?? [...gateway.frontends.values()].find((f) => f.mode === 'http')?.name;
  if (!fe) throw AclErrors.CLI_USAGE('the config has no http frontend (pick one with --frontend)');
  const { exchange: ex, answer } = syntheticExchange(gateway, fe, request);
  out(`request   ${request.method} ${request.target}  from ${request.src}${request.sni ? `  (TLS, SNI ${request.sni})` : ''}`);
  out(`frontend  ${fe}`);
  out('');
  out('ACLs');
  aclLines(gateway, ex, (l) => out('  ' + l));
  const steps = gateway.slots
    .names(EXPLAIN_SLOT)
    .map((n) => gateway.slots.get<ExplainStep>(EXPLAIN_SLOT, n)!)
    .sort((a, b) => a.stage - b.stage);
  let backend: string | undefined;
  let why = '';
  for (const step of steps) {
    out('');
    out(step.title);
    const outcome = step.explain(gateway, ex, (l) => out('  ' + l));
    if (outcome === undefined) continue;
    if ('handled' in outcome) {
      const a = answer();
      out('');
      out(`result    answered by the gateway: ${outcome.handled}${a ? ` (status ${a.status}${a.headers.location ? `, Location ${String(a.headers.location)}` : ''})` : ''}`);
      out('          no backend is chosen and no server sees this request');
      return 0;
    }
    backend = outcome.backend;
    why = outcome.why;
    break;
  }
  out('');
  if (backend === undefined) {
    const d = gateway.frontends.get(fe)!.config.defaultBackend;
    if (!d) {
      out('result    no rule chose a backend and the frontend has no defaultBackend: the client gets 503');
      return 0;
    }
    backend = d;
    why = 'defaultBackend (no rule chose a backend)';
  }
  const be = gateway.backends.get(backend);
  out(`backend   ${backend}  — ${why}`);
  if (!be) {
    out('          that backend does not exist: the client gets 503');
    return 0;
  }
  if (ex.upstreamTouched) {
    const up = ex.upstream;
    out(`upstream  ${up.method} ${up.path}`);
    for (const [k, v] of Object.entries(up.headers)) out(`          ${k}: ${Array.isArray(v) ? v.join(', ') : v}`);
  }
  ex.backend = be;
  const server = gateway.selectServer(ex);
  const usable = be.servers.filter((s) => s.usable).length;
  if (server) {
    out(`server    ${server.id} (${server.host}:${server.port})  — balance ${be.config.balance} picks it now; ${usable} of ${be.servers.length} servers usable`);
  } else {
    out(`server    none — no usable server in ${backend} (${be.servers.length} servers): the request would queue or get 503`);
  }
  return 0;
}
