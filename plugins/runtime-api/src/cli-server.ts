import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { endConnections, SwitchyardError, type GatewayApi, type PluginListenAddress, type PluginListener, type RuntimeCommand } from '@switchyard/sdk';
import { RequestReader, type CliRequest } from './cli-protocol';
import { RuntimeErrors } from './errors';
import { CliError, findCliCommand, HAPROXY_CLI_COMMANDS } from './haproxy-commands';
import { levelAtLeast, levelOf, LEVELS, type Level } from './levels';
import type { CliSocketConfig } from './schema';
import { commandTable, splitListen } from './server';

/** One HAProxy CLI socket (`stats socket`): a unix socket, a TCP address or an inherited fd. */
export type { CliSocketConfig };

export function describeCliSocket(c: Pick<CliSocketConfig, 'path' | 'address' | 'fd'>): string {
  if (c.path !== undefined) return `unix@${c.path}`;
  if (c.fd !== undefined) return `fd@${c.fd}`;
  return `ipv4@${c.address}`;
}

/** Looks a user or group name up in /etc/passwd or /etc/group (Node has no getpwnam). */
function idOf(value: string | number, file: '/etc/passwd' | '/etc/group'): number {
  if (typeof value === 'number' || /^\d+$/.test(value)) return Number(value);
  const line = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === value);
  if (!line) throw new Error(`no ${file === '/etc/passwd' ? 'user' : 'group'} "${value}" in ${file}`);
  return Number(line.split(':')[2]);
}

interface Session {
  level: Level;
  interactive: boolean;
  authed: boolean;
  done: boolean;
}

/**
 * HAProxy's CLI on a socket: the line protocol of cli-protocol.ts, HAProxy's commands
 * (haproxy-commands.ts), then every runtime API command by name, each checked against the
 * session's level. Refusals answer "Permission denied".
 */
export class CliSocketServer {
  readonly #gateway: GatewayApi;
  readonly #sockets = new Set<net.Socket>();
  readonly #token: Buffer | null;
  readonly #startedAt = Date.now();
  #table: Map<string, RuntimeCommand & { source: string }> | null = null;
  #unixPath: string | null = null;
  #listener: PluginListener | null = null;

  constructor(
    gateway: GatewayApi,
    readonly config: CliSocketConfig,
  ) {
    this.#gateway = gateway;
    this.#token = config.token ? crypto.createHash('sha256').update(config.token).digest() : null;
  }

  get label(): string {
    return describeCliSocket(this.config);
  }

  /** Listens; resolves with what it listens on ("unix@/run/x.sock", "127.0.0.1:9999", "fd@3"). */
  async listen(): Promise<string> {
    const c = this.config;
    let options: PluginListenAddress;
    if (c.path !== undefined) {
      // The core replaces a socket file left by a previous run (HAProxy does the same), never another file.
      const file = path.resolve(this.#gateway.baseDir, c.path);
      this.#unixPath = file;
      options = { path: file };
    } else if (c.fd !== undefined) {
      options = { fd: c.fd };
    } else {
      const { host, port } = splitListen(String(c.address ?? ''));
      options = { host, port };
    }
    // The core owns the socket: a reload hands it to the next generation without closing it.
    try {
      this.#listener = await this.#gateway.openListener('@switchyard/plugin-runtime-api', options, (s) => this.#accept(s));
    } catch (err) {
      throw RuntimeErrors.LISTEN.with({ cause: err }, this.label, (err as Error).message);
    }
    if (this.#unixPath) {
      try {
        fs.chmodSync(this.#unixPath, parseInt(c.mode ?? '600', 8));
        if (c.user !== undefined || c.group !== undefined) {
          const st = fs.statSync(this.#unixPath);
          fs.chownSync(this.#unixPath, c.user !== undefined ? idOf(c.user, '/etc/passwd') : st.uid, c.group !== undefined ? idOf(c.group, '/etc/group') : st.gid);
        }
      } catch (err) {
        await this.close();
        throw RuntimeErrors.LISTEN.with({ cause: err }, this.label, (err as Error).message);
      }
      return `unix@${this.#unixPath}`;
    }
    const a = this.#listener.address;
    if ('port' in a) return `${a.family === 'IPv6' ? `[${a.host}]` : a.host}:${a.port}`;
    return this.label;
  }

  async close(): Promise<void> {
    // Closes the socket (libuv removes its file) unless the next generation took it over.
    await this.#listener?.close();
    this.#listener = null;
    // A command in flight is answered (a session ends after its command unless interactive).
    await endConnections(this.#sockets, 2000);
  }

  get #commands(): Map<string, RuntimeCommand & { source: string }> {
    return (this.#table ??= commandTable(this.#gateway));
  }

  #accept(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    const session: Session = { level: this.config.level, interactive: false, authed: this.#token === null, done: false };
    const reader = new RequestReader();
    let chain = Promise.resolve();
    const idle = (): void => {
      socket.setTimeout(this.config.timeout, () => socket.destroy());
    };
    idle();
    socket.on('data', (data: string) => {
      const { requests, overflow } = reader.push(data);
      if (overflow) {
        socket.end('Request too long.\n\n');
        return;
      }
      for (const req of requests) {
        chain = chain.then(async () => {
          if (session.done || socket.destroyed) return;
          const out = await this.#request(req, session);
          if (socket.destroyed) return;
          socket.write(out);
          if (!session.interactive || session.done) {
            session.done = true;
            socket.end();
          }
        });
      }
    });
  }

  /** Runs the commands of one request line; returns every answer with its terminator. */
  async #request(req: CliRequest, session: Session): Promise<string> {
    let out = '';
    if (req.commands.length === 0) return session.interactive ? '\n> ' : '\n';
    for (let i = 0; i < req.commands.length; i++) {
      const words = req.commands[i]!;
      const payload = i === req.commands.length - 1 ? req.payload : undefined;
      let answer = await this.#one(words, payload, session);
      if (session.done) return out + answer;
      if (answer !== '' && !answer.endsWith('\n')) answer += '\n';
      out += answer + (session.interactive ? '\n> ' : '\n');
    }
    return out;
  }

  async #one(words: string[], payload: string | undefined, session: Session): Promise<string> {
    const [first] = words;
    if (first === 'quit') {
      session.done = true;
      return '';
    }
    if (first === 'auth') {
      if (!this.#token) return 'This socket needs no token.';
      const given = crypto.createHash('sha256').update(words[1] ?? '').digest();
      if (!crypto.timingSafeEqual(given, this.#token)) {
        this.#gateway.logger.warn({ socket: this.label }, 'runtime API CLI: wrong token');
        session.done = true;
        return 'Permission denied: wrong token.\n';
      }
      session.authed = true;
      return '';
    }
    if (!session.authed) return 'Permission denied: this socket needs `auth <token>` first.';
    if (first === 'prompt') {
      session.interactive = !session.interactive;
      return '';
    }
    if (first === 'help') return this.#help(session.level);
    if (first === 'user' || first === 'operator' || first === 'admin') {
      // HAProxy lets a session lower its level, never raise it.
      if (!levelAtLeast(session.level, first)) return 'Permission denied';
      session.level = first;
      return '';
    }
    const cli = findCliCommand(words);
    try {
      if (cli) {
        if (!levelAtLeast(session.level, cli.level)) return this.#denied(words, cli.level, session.level);
        const answer = await cli.run({ gateway: this.#gateway, words, payload, startedAt: this.#startedAt });
        if (cli.level !== 'user') this.#gateway.logger.info({ command: words.join(' '), socket: this.label }, `runtime API CLI: ${words.join(' ')}`);
        return answer;
      }
      // Then every runtime API command (built-ins and the runtime.command slot), by its longest name.
      for (let n = words.length; n > 0; n--) {
        const name = words.slice(0, n).join(' ');
        const c = this.#commands.get(name);
        if (!c) continue;
        const need = levelOf(name, c);
        if (!levelAtLeast(session.level, need)) return this.#denied(words, need, session.level);
        const args: Record<string, string> = {};
        const rest = words.slice(n);
        // A command declaring the one argument `words` reads the rest of the line itself (show table …).
        if (c.args[0] === 'words') {
          args.words = rest.join(' ');
          if (c.args.includes('payload') && payload !== undefined) args.payload = payload;
        } else for (let k = 0; k < rest.length; k++) {
          const w = rest[k]!;
          const eq = w.indexOf('=');
          if (eq > 0 && c.args.includes(w.slice(0, eq))) args[w.slice(0, eq)] = w.slice(eq + 1);
          else if (c.args[k] !== undefined) args[c.args[k]!] = w;
        }
        const result = await c.run(this.#gateway, args);
        if (need !== 'user') this.#gateway.logger.info({ command: name, args, socket: this.label }, `runtime API CLI: ${name}`);
        return result === undefined || result === null ? '' : typeof result === 'string' ? result : JSON.stringify(result, null, 2);
      }
    } catch (err) {
      if (err instanceof CliError) return err.message;
      if (err instanceof SwitchyardError) return `${err.message} (${err.code})`;
      return `${err instanceof Error ? err.message : String(err)}`;
    }
    return `Unknown command: '${words.join(' ')}'\n` + this.#help(session.level);
  }

  #denied(words: string[], need: Level, have: Level): string {
    this.#gateway.logger.warn({ command: words.join(' '), need, have, socket: this.label }, 'runtime API CLI: permission denied');
    return 'Permission denied';
  }

  #help(level: Level): string {
    const lines = ['The following commands are valid at this level:'];
    const add = (usage: string, help: string): void => {
      lines.push(`  ${usage.padEnd(44)}: ${help}`);
    };
    add('help', 'this message');
    add('prompt', 'toggle interactive mode with prompt');
    add('quit', 'disconnect');
    if (this.#token) add('auth <token>', 'authenticate (TCP sockets with a token)');
    for (const l of LEVELS) if (levelAtLeast(level, l)) add(l, `lower the level of the current CLI session to ${l}`);
    for (const c of HAPROXY_CLI_COMMANDS) if (levelAtLeast(level, c.level)) add(c.usage, c.help);
    for (const [name, c] of this.#commands) {
      if (!levelAtLeast(level, levelOf(name, c))) continue;
      if (findCliCommand(name.split(' '))) continue;
      add(`${name}${c.args.length ? ' ' + c.args.map((a) => `<${a}>`).join(' ') : ''}`, c.summary);
    }
    return lines.join('\n');
  }
}
