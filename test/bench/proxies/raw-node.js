'use strict';
// The raw Node floor: `net` sockets both ways, Node's own llhttp binding (strict), the head
// re-serialised, hop-by-hop headers dropped, an idle upstream pool per server, round-robin per
// request, no features. usage: node raw-node.js <port> <upstream host:port>...
const net = require('node:net');
const { HTTPParser, methods } = require('_http_common');

const [port, ...upstreams] = process.argv.slice(2);
const servers = upstreams.map((u) => ({ host: u.slice(0, u.lastIndexOf(':')), port: Number(u.slice(u.lastIndexOf(':') + 1)), idle: [] }));
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer', 'content-length']);
const { kOnHeaders, kOnHeadersComplete, kOnBody, kOnMessageComplete } = HTTPParser;
let next = 0;

function head(first, raw, len, chunked) {
  let h = first;
  for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i].toLowerCase())) h += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${h}${chunked ? 'transfer-encoding: chunked\r\n' : len >= 0 ? `content-length: ${len}\r\n` : ''}\r\n`;
}
const lengthOf = (raw) => { for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 14 && raw[i].toLowerCase() === 'content-length') return Number(raw[i + 1]); return -1; };
const frame = (out, b, chunked) => (chunked ? out.write(`${b.length.toString(16)}\r\n`) && out.write(b) && out.write('\r\n') : out.write(b));

/** An upstream connection, kept in its server's idle pool between requests. */
function upstreamConn(srv) {
  const sock = net.connect({ host: srv.host, port: srv.port, noDelay: true });
  const p = new HTTPParser();
  p.initialize(HTTPParser.RESPONSE, {}, 0, HTTPParser.kLenientNone);
  const up = { sock, p, ex: null, raw: [], chunked: false, keep: true, srv };
  p[kOnHeaders] = (h) => up.raw.push(...h);
  p[kOnHeadersComplete] = (maj, min, h, _m, _u, status, msg, _upg, keep) => {
    const raw = h ? up.raw.concat(h) : up.raw;
    up.raw = [];
    up.keep = keep;
    const ex = up.ex;
    const len = lengthOf(raw);
    up.info = status < 200; // 100 Continue and friends: the final response follows on the same exchange
    up.chunked = len < 0 && !up.info && !ex.head && status !== 204 && status !== 304;
    ex.client.write(head(`HTTP/1.1 ${status} ${msg}\r\n`, raw, len, up.chunked));
    return ex.head ? 1 : 0; // a response to HEAD has no body
  };
  p[kOnBody] = (b) => { if (!frame(up.ex.client, b, up.chunked)) { sock.pause(); up.ex.client.once('drain', () => sock.resume()); } };
  p[kOnMessageComplete] = () => {
    const ex = up.ex;
    if (up.info) return;
    if (up.chunked) ex.client.write('0\r\n\r\n');
    up.ex = null;
    sock.resume(); // paused by this client's backpressure: the next exchange must not inherit it
    if (up.keep && !sock.destroyed) srv.idle.push(up); else sock.destroy();
    ex.done();
  };
  sock.on('data', (d) => { if (p.execute(d) instanceof Error) sock.destroy(); });
  sock.on('end', () => p.finish()); // a body delimited by the server closing ends here
  sock.on('error', () => {});
  sock.on('close', () => {
    const i = srv.idle.indexOf(up);
    if (i !== -1) srv.idle.splice(i, 1);
    if (up.ex && !up.ex.client.destroyed) up.ex.client.destroy(); // mid-response: the client cannot be answered
  });
  return up;
}

net.createServer({ noDelay: true }, (client) => {
  const p = new HTTPParser();
  p.initialize(HTTPParser.REQUEST, {}, 0, HTTPParser.kLenientNone);
  const queue = []; // pipelined requests wait here, answered in order
  let raw = [];
  let cur = null; // the request being read from the client
  const start = (ex) => {
    const srv = servers[next];
    next = (next + 1) % servers.length;
    let up = srv.idle.pop();
    while (up && up.sock.destroyed) up = srv.idle.pop(); // closed by the server, its 'close' not yet run
    up ??= upstreamConn(srv);
    up.ex = ex;
    ex.up = up;
    for (const c of ex.pending) up.sock.write(c);
    ex.pending = null;
  };
  p[kOnHeaders] = (h) => raw.push(...h);
  p[kOnHeadersComplete] = (maj, min, h, method, url, _s, _m, _upg, keep) => {
    const all = h ? raw.concat(h) : raw;
    raw = [];
    const len = lengthOf(all);
    const chunked = len < 0 && all.some((x, i) => i % 2 === 0 && x.toLowerCase() === 'transfer-encoding');
    const ex = { client, head: methods[method] === 'HEAD', chunked, up: null, pending: [head(`${methods[method]} ${url} HTTP/1.1\r\n`, all, len, chunked)] };
    ex.send = (c) => (ex.pending ? (ex.pending.push(c), true) : ex.up.sock.write(c));
    ex.done = () => { queue.shift(); if (!keep) client.end(); else if (queue.length > 0) start(queue[0]); };
    cur = ex;
    queue.push(ex);
    if (queue.length === 1) start(ex);
    return 0;
  };
  p[kOnBody] = (b) => { if (!frame({ write: cur.send }, b, cur.chunked) && cur.up) { client.pause(); cur.up.sock.once('drain', () => client.resume()); } };
  p[kOnMessageComplete] = () => { if (cur.chunked) cur.send('0\r\n\r\n'); };
  client.on('data', (d) => {
    if (p.execute(d) instanceof Error) client.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  });
  client.on('error', () => {});
  client.on('close', () => { for (const ex of queue) ex.up?.sock.destroy(); });
}).listen(Number(port), '127.0.0.1');
