#!/usr/bin/env node
// The container's HEALTHCHECK: GET the gateway's monitor URI; exit 0 on 200, 1 otherwise
// (also while draining: a gateway that is stopping answers 503). Plain Node, no curl needed.
'use strict';
const http = require('node:http');

const url = process.env.SWITCHYARD_HEALTH_URL || 'http://127.0.0.1:8080/healthz';
const req = http.get(url, { timeout: 2000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', (err) => {
  process.stderr.write(`healthcheck: ${url}: ${err.message}\n`);
  process.exit(1);
});
