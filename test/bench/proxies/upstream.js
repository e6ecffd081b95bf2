'use strict';
// Fallback upstream when nginx is not installed: a fixed small body with keep-alive on each
// port; reads any request body to the end first. usage: node upstream.js <body> <port>...
const http = require('node:http');

const [body, ...ports] = process.argv.slice(2);
const payload = Buffer.from(body);
const big = Buffer.alloc(1 << 20, 120);
for (const port of ports) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 100 * big.length });
        let left = 100;
        const more = () => {
          while (left > 0) {
            left--;
            if (!res.write(big)) return res.once('drain', more);
          }
          res.end();
        };
        return more();
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': payload.length });
      res.end(payload);
    });
  });
  server.keepAliveTimeout = 120_000;
  server.listen(Number(port), '127.0.0.1');
}
