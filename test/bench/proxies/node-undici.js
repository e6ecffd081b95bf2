'use strict';
// The 40-line Node proxy: node:http in front, an undici Pool per upstream behind, round-robin.
// usage: node node-undici.js <port> <upstream host:port>...
const http = require('node:http');
const { pipeline } = require('node:stream');
const { Pool } = require('undici');

const [port, ...upstreams] = process.argv.slice(2);
const pools = upstreams.map((u) => new Pool(`http://${u}`, { connections: 128, keepAliveTimeout: 60_000 }));
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer']);
let next = 0;

const server = http.createServer((req, res) => {
  const pool = pools[next];
  next = (next + 1) % pools.length;
  const headers = {};
  for (const name in req.headers) if (!HOP.has(name)) headers[name] = req.headers[name];
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.request({ method: req.method, path: req.url, headers, body: hasBody ? req : null }).then(
    (up) => {
      const out = {};
      for (const name in up.headers) if (!HOP.has(name)) out[name] = up.headers[name];
      res.writeHead(up.statusCode, out);
      pipeline(up.body, res, () => {});
    },
    () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    },
  );
});
server.keepAliveTimeout = 60_000; // like the other targets: idle keep-alive clients stay
server.listen(Number(port), '127.0.0.1');
