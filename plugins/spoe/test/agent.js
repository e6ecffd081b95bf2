#!/usr/bin/env node
'use strict';
/**
 * A small SPOP agent written from HAProxy's doc/SPOE.txt (SPOP 2.0), independent of the
 * plugin's own encoder: `node agent.js [port]` listens on 127.0.0.1 (port 0 by default) and
 * prints one JSON line per event on stdout: {"listening":port}, {"hello":{…}},
 * {"notify":[{name,args:[{name,type,value}]}]}, {"disconnect":{…}}.
 *
 * What it answers (an "IP reputation" service for the tests):
 * - message `check-client` (args ip, path): sess.ip_score = the N of `score=N` in the path
 *   (int, 0 without), txn.seen_ip = ip (typed IPv4/IPv6), txn.unregistered = "x" (a name
 *   the configs never mention, which the gateway must ignore); a path containing `/slow`
 *   delays the ACK by 1.5 s; `/drop` closes the connection without an ACK.
 * - message `tag-request` (arg method): txn.tag = "m-<method>"; a path arg with `untag`
 *   unsets it instead.
 */
const net = require('node:net');

const T = { NULL: 0, BOOL: 1, INT32: 2, UINT32: 3, INT64: 4, UINT64: 5, IPV4: 6, IPV6: 7, STRING: 8, BINARY: 9 };

function readVarint(buf, pos) {
  let b = buf[pos.i++];
  let v = b;
  if (b < 240) return v;
  let shift = 4;
  do {
    b = buf[pos.i++];
    v += b * 2 ** shift;
    shift += 7;
  } while (b >= 128);
  return v;
}

function writeVarint(out, v) {
  if (v < 240) return out.push(v);
  out.push((v % 256) | 240);
  v = Math.floor((v - 240) / 16);
  while (v >= 128) {
    out.push((v % 256) | 128);
    v = Math.floor((v - 128) / 128);
  }
  out.push(v);
}

function readString(buf, pos) {
  const n = readVarint(buf, pos);
  const s = buf.subarray(pos.i, pos.i + n).toString('utf8');
  pos.i += n;
  return s;
}

function writeString(out, s) {
  const b = Buffer.from(s, 'utf8');
  writeVarint(out, b.length);
  for (const x of b) out.push(x);
}

function readTyped(buf, pos) {
  const t = buf[pos.i++];
  switch (t & 15) {
    case T.NULL: return { type: 'null', value: null };
    case T.BOOL: return { type: 'bool', value: (t & 16) !== 0 };
    case T.INT32: case T.UINT32: case T.INT64: case T.UINT64:
      return { type: ['', '', 'int32', 'uint32', 'int64', 'uint64'][t & 15], value: readVarint(buf, pos) };
    case T.IPV4: {
      const v = [...buf.subarray(pos.i, pos.i + 4)].join('.');
      pos.i += 4;
      return { type: 'ipv4', value: v };
    }
    case T.IPV6: {
      const parts = [];
      for (let k = 0; k < 16; k += 2) parts.push(buf.readUInt16BE(pos.i + k).toString(16));
      pos.i += 16;
      return { type: 'ipv6', value: parts.join(':') };
    }
    case T.STRING: return { type: 'string', value: readString(buf, pos) };
    case T.BINARY: {
      const n = readVarint(buf, pos);
      const v = buf.subarray(pos.i, pos.i + n).toString('hex');
      pos.i += n;
      return { type: 'binary', value: v };
    }
    default: throw new Error(`bad type ${t}`);
  }
}

function kvList(buf, pos) {
  const out = {};
  while (pos.i < buf.length) {
    const k = readString(buf, pos);
    out[k] = readTyped(buf, pos).value;
  }
  return out;
}

function frame(type, streamId, frameId, payload) {
  const head = [type, 0, 0, 0, 1];
  writeVarint(head, streamId);
  writeVarint(head, frameId);
  const body = Buffer.concat([Buffer.from(head), Buffer.from(payload)]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function setVar(out, scope, name, typed) {
  out.push(1, 3, scope);
  writeString(out, name);
  if (typed.type === 'int') {
    out.push(T.INT64);
    writeVarint(out, typed.value);
  } else if (typed.type === 'ipv4') {
    out.push(T.IPV4, ...typed.value.split('.').map(Number));
  } else {
    out.push(T.STRING);
    writeString(out, String(typed.value));
  }
}

function unsetVar(out, scope, name) {
  out.push(2, 2, scope);
  writeString(out, name);
}

const SCOPE = { proc: 0, sess: 1, txn: 2, req: 3, res: 4 };
const log = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const server = net.createServer((sock) => {
  let pending = Buffer.alloc(0);
  let maxFrame = 16380;
  sock.on('error', () => undefined);
  sock.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const len = pending.readUInt32BE(0);
      if (pending.length < 4 + len) break;
      const body = pending.subarray(4, 4 + len);
      pending = pending.subarray(4 + len);
      const pos = { i: 0 };
      const type = body[pos.i++];
      pos.i += 4; // flags
      const streamId = readVarint(body, pos);
      const frameId = readVarint(body, pos);
      if (type === 1) {
        const kv = kvList(body, pos);
        log({ hello: kv });
        maxFrame = Math.min(16380, Number(kv['max-frame-size']));
        const p = [];
        writeString(p, 'version'); p.push(T.STRING); writeString(p, '2.0');
        writeString(p, 'max-frame-size'); p.push(T.UINT32); writeVarint(p, maxFrame);
        writeString(p, 'capabilities'); p.push(T.STRING); writeString(p, String(kv.capabilities).includes('pipelining') ? 'pipelining' : '');
        sock.write(frame(101, 0, 0, p));
        if (kv.healthcheck === true) sock.end();
      } else if (type === 2) {
        log({ disconnect: kvList(body, pos) });
        const p = [];
        writeString(p, 'status-code'); p.push(T.UINT32); writeVarint(p, 0);
        writeString(p, 'message'); p.push(T.STRING); writeString(p, 'bye');
        sock.end(frame(102, 0, 0, p));
      } else if (type === 3) {
        const messages = [];
        while (pos.i < body.length) {
          const name = readString(body, pos);
          const n = body[pos.i++];
          const args = [];
          for (let k = 0; k < n; k++) {
            const an = readString(body, pos);
            const v = readTyped(body, pos);
            args.push({ name: an, type: v.type, value: v.value });
          }
          messages.push({ name, args });
        }
        log({ notify: messages });
        const out = [];
        let delay = 0;
        let drop = false;
        for (const m of messages) {
          const arg = (n) => m.args.find((a) => a.name === n);
          if (m.name === 'check-client') {
            const p = String(arg('path')?.value ?? '');
            const score = /score=(\d+)/.exec(p);
            setVar(out, SCOPE.sess, 'ip_score', { type: 'int', value: score ? Number(score[1]) : 0 });
            const ip = arg('ip');
            if (ip && ip.type === 'ipv4') setVar(out, SCOPE.txn, 'seen_ip', { type: 'ipv4', value: ip.value });
            setVar(out, SCOPE.txn, 'unregistered', { type: 'string', value: 'x' });
            if (p.includes('/slow')) delay = 1500;
            if (p.includes('/drop')) drop = true;
          } else if (m.name === 'tag-request') {
            if (String(arg('path')?.value ?? '').includes('untag')) unsetVar(out, SCOPE.txn, 'tag');
            else setVar(out, SCOPE.txn, 'tag', { type: 'string', value: `m-${arg('method')?.value}` });
          }
        }
        if (drop) {
          sock.destroy();
          return;
        }
        const ack = frame(103, streamId, frameId, out);
        if (delay > 0) setTimeout(() => !sock.destroyed && sock.write(ack), delay);
        else sock.write(ack);
      }
    }
  });
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => log({ listening: server.address().port }));
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
