'use strict';
// The plain Node `net` pipe, the L4 bar: each client connection piped both ways (Node's
// stream pipe) to the next server, round-robin per connection. usage: node net-pipe.js <port> <host:port>...
const net = require('node:net');

const [port, ...upstreams] = process.argv.slice(2);
const servers = upstreams.map((u) => ({ host: u.slice(0, u.lastIndexOf(':')), port: Number(u.slice(u.lastIndexOf(':') + 1)) }));
let next = 0;

net
  .createServer({ noDelay: true }, (client) => {
    const srv = servers[next];
    next = (next + 1) % servers.length;
    const up = net.connect({ host: srv.host, port: srv.port, noDelay: true });
    client.pipe(up);
    up.pipe(client);
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
  })
  .listen(Number(port), '127.0.0.1');
