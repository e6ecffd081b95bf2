'use strict';
// The TLS + HTTP/2 baseline: node:http2 (TLS, ALPN h2) in front, an undici Pool per upstream
// behind (HTTP/1.1 keep-alive), round-robin per request.
// usage: node node-h2-undici.js <port> <cert.pem> <key.pem> <upstream host:port>...
const fs = require('node:fs');
const http2 = require('node:http2');
const { Pool } = require('undici');

const [port, cert, key, ...upstreams] = process.argv.slice(2);
const pools = upstreams.map((u) => new Pool(`http://${u}`, { connections: 128, keepAliveTimeout: 60_000 }));
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer']);
let next = 0;

const server = http2.createSecureServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
server.on('stream', (stream, h) => {
  const pool = pools[next];
  next = (next + 1) % pools.length;
  const headers = { host: h[':authority'] ?? 'localhost' };
  for (const name in h) if (name[0] !== ':' && !HOP.has(name)) headers[name] = h[name];
  const hasBody = h['content-length'] !== undefined || !stream.endAfterHeaders;
  pool.stream({ method: h[':method'], path: h[':path'], headers, body: hasBody ? stream : null }, ({ statusCode, headers: up }) => {
    const out = { ':status': statusCode };
    for (const name in up) if (!HOP.has(name)) out[name] = up[name];
    stream.respond(out);
    return stream;
  }).catch(() => {
    if (!stream.headersSent && !stream.destroyed) stream.respond({ ':status': 502 });
    if (!stream.destroyed) stream.end();
  });
});
server.on('sessionError', () => {});
server.listen(Number(port), '127.0.0.1');
