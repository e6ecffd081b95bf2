'use strict';
// Config files for the upstreams and for each proxy under test, all loopback, all keep-alive.
const fs = require('node:fs');
const path = require('node:path');

const BODY = 'hello from the benchmark upstream: a small fixed keep-alive body\n'; // 64 bytes

function nginxCommon(dir, name) {
  const tmp = path.join(dir, `${name}-tmp`);
  fs.mkdirSync(tmp, { recursive: true });
  fs.chmodSync(tmp, 0o777); // written by the workers, which may run as an unprivileged user
  return `
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 30000;
pid ${path.join(dir, `${name}.pid`)};
error_log stderr warn;
events { worker_connections 25000; multi_accept on; }
`.trimStart() + `
http {
  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_max_body_size 0;
  default_type text/plain;
`;
}

/** The upstreams: nginx, one worker, a fixed small body on each port; /big is a 100 MB file, /big20 a 20 MB one. */
function nginxUpstream(dir, ports, bigFile, big20File) {
  const servers = ports
    .map(
      (p) => `
  server {
    listen 127.0.0.1:${p} backlog=4096;
    location = /big { alias ${bigFile}; }
    location = /big20 { alias ${big20File}; }
    # Reads the whole request body (to a temp file) before answering, then drains it.
    location = /upload { proxy_pass http://127.0.0.1:${p}/drain; }
    location = /drain { return 200 ${JSON.stringify(BODY)}; }
    location / { return 200 ${JSON.stringify(BODY)}; }
  }`,
    )
    .join('');
  const file = path.join(dir, 'nginx-upstream.conf');
  fs.writeFileSync(file, `${nginxCommon(dir, 'nginx-upstream')}${servers}\n}\n`);
  return file;
}

/** nginx as the reverse proxy under test: one worker, an upstream keep-alive pool. */
function nginxProxy(dir, port, upstreams) {
  const file = path.join(dir, 'nginx-proxy.conf');
  fs.writeFileSync(
    file,
    `${nginxCommon(dir, 'nginx-proxy')}
  upstream app {
${upstreams.map((u) => `    server ${u};`).join('\n')}
    keepalive 256;
    keepalive_requests 10000000;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
`,
  );
  return file;
}

/**
 * HAProxy: one thread, HTTP keep-alive both sides with connection reuse, or TCP mode; with
 * `tls`, the frontend terminates TLS (ALPN h2 and http/1.1). Switchyard reads this same file
 * through its haproxy.cfg adapter (so no `log stderr` line: the adapter has no such target).
 */
function haproxy(dir, port, upstreams, mode, maxconn, { tls = null, name = mode } = {}) {
  const file = path.join(dir, `haproxy-${name}.cfg`);
  fs.writeFileSync(
    file,
    `global
  nbthread 1
  maxconn ${maxconn}

defaults
  mode ${mode}
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout tunnel 60s
${mode === 'http' ? '  timeout http-keep-alive 60s\n  timeout http-request 5s\n  option http-keep-alive\n  http-reuse always\n' : ''}
frontend web
  bind 127.0.0.1:${port}${tls ? ` ssl crt ${tls} alpn h2,http/1.1` : ''}
  default_backend app

backend app
  balance roundrobin
${upstreams.map((u, i) => `  server s${i + 1} ${u}`).join('\n')}
`,
  );
  return file;
}

/** Switchyard's YAML config; `plugins` (paths or package names) replaces the default preset. */
function switchyard(dir, name, port, upstreams, { mode = 'http', plugins, top = [], server = '' } = {}) {
  const file = path.join(dir, `switchyard-${name}.yaml`);
  const modeLine = mode === 'tcp' ? '\n    mode: tcp' : '';
  const lines = [
    'global:',
    '  logLevel: warn',
    ...(plugins ? ['plugins:', ...plugins.map((p) => `  - ${JSON.stringify(p)}`)] : []),
    ...top,
    'frontends:',
    '  web:',
    `    bind: '127.0.0.1:${port}'`,
    `    defaultBackend: app${modeLine}`,
    '    timeouts: { keepAlive: 60s }',
    'backends:',
    '  app:',
    '    servers:',
    ...upstreams.map((u) => `      - { address: '${u}'${server ? `, ${server}` : ''} }`),
  ];
  if (mode === 'tcp') lines.splice(lines.indexOf('  app:') + 1, 0, '    mode: tcp');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

module.exports = { BODY, nginxUpstream, nginxProxy, haproxy, switchyard };
