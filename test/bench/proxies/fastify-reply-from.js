'use strict';
// fastify + @fastify/reply-from (undici BalancedPool over the upstreams, keep-alive).
// usage: node fastify-reply-from.js <port> <upstream host:port>...
const fastify = require('fastify')({ logger: false, keepAliveTimeout: 60_000, bodyLimit: 1 << 30 });

const [port, ...upstreams] = process.argv.slice(2);
fastify.register(require('@fastify/reply-from'), {
  base: upstreams.length > 1 ? upstreams.map((u) => `http://${u}`) : `http://${upstreams[0]}`,
  undici: { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 },
});
// Any method, any path; the body is streamed, not parsed.
fastify.removeAllContentTypeParsers();
fastify.addContentTypeParser('*', (req, payload, done) => done(null, payload));
fastify.all('/*', (request, reply) => {
  reply.from(request.url);
});
fastify.listen({ port: Number(port), host: '127.0.0.1' });
