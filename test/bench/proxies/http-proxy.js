'use strict';
// http-proxy (node-http-proxy) balancing round-robin over the upstreams with a keep-alive agent.
// usage: node http-proxy.js <port> <upstream host:port>...
const http = require('node:http');
const httpProxy = require('http-proxy');

const [port, ...upstreams] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ agent, xfwd: false });
const targets = upstreams.map((u) => `http://${u}`);
let next = 0;
proxy.on('error', (err, req, res) => {
  if (!res.headersSent) res.writeHead(502);
  res.end();
});
const server = http.createServer((req, res) => {
  const target = targets[next];
  next = (next + 1) % targets.length;
  proxy.web(req, res, { target });
});
server.keepAliveTimeout = 60_000; // like the other targets: idle keep-alive clients stay
server.listen(Number(port), '127.0.0.1');
