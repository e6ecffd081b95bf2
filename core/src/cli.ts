import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, logFormat, resolveLogFormat, setLogFormat } from './log-format';
import { CLI_COMMAND_SLOT, formatError, type CliCommand, type CliContext, type Logger } from '@switchyard/sdk';
import { DEFAULT_PLUGINS, findCommandModule } from './loader';
import type { ConfigInput } from './config/load';
import { CORE_VERSION } from './version';
import * as os from 'node:os';

/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Each command requires only what it uses: a plugin command a plugin declares in its
 * package.json (`switchyard admin`) loads neither the config driver nor the gateway nor any
 * plugin (issue 21 item 9: an answer in well under a second).
 */
const lazy = {
  config: () => require('./config/load') as typeof import('./config/load'),
  gateway: () => (require('./gateway') as typeof import('./gateway')).Gateway,
  reload: () => require('./reload') as typeof import('./reload'),
  control: () => require('./reload-control') as typeof import('./reload-control'),
  demo: () => require('./demo') as typeof import('./demo'),
  cluster: () => require('./cluster') as typeof import('./cluster'),
};
const silentLogger = (): Logger => (require('pino') as typeof import('pino')).default({ level: 'silent' }) as unknown as Logger;
/* eslint-enable @typescript-eslint/no-require-imports */

/** yaml only where a command reads YAML itself (the demo, a broken config's pidFile). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parseYaml = (text: string): unknown => (require('yaml') as typeof import('yaml')).parse(text);

const HELP = `switchyard ${CORE_VERSION} — a TCP/HTTP load balancer and reverse proxy

Usage:
  switchyard run --config <file>        run a gateway (YAML, JSON, or a format an adapter reads);
                                        SIGHUP (or \`switchyard reload\`) reloads without dropping a connection
  switchyard run --config <file> --workers N|auto
                                        a master and N worker processes (reloads the same way)
  switchyard reload --config <file> | --pid <pid> [--wait]
                                        ask a running switchyard to reload (PID from global.pidFile);
                                        --wait: wait for the outcome, exit 1 if the new config was refused
  switchyard run --demo [--port N]      the quick start: demo upstreams + an embedded config
  switchyard validate --config <file>   check a config; print every problem and exit 1
  switchyard plugins --config <file>    list loaded plugins with their versions, hooks and slots
  switchyard schema [--config <file>]   print the composed JSON Schema (core + loaded plugins)
  switchyard <command> ...              a command a plugin provides (see \`switchyard commands\`)

Options:
  -c, --config <file>   config file
      --adapter <name>  read the config with this adapter (default: by file extension)
      --lenient         adapters warn about unsupported directives instead of failing
      --log-level <l>   fatal, error, warn, info, debug, trace or silent
      --log-format <f>  json or pretty (default: pretty on a terminal, JSON otherwise)
      --port <n>        with --demo: the gateway's port (default 8080)
      --workers <n>     run a master and n workers (auto = one per core)
      --pid <pid>       with reload: the PID of the running switchyard (master or single process)
      --wait            with reload: wait for the outcome and print it (exit 1 on failure)
  -h, --help            this help
  -v, --version         the core's version
`;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const CORE_COMMANDS = new Set(['run', 'validate', 'plugins', 'schema', 'reload', 'help']);

const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

function printErrors(io: Io, err: unknown): void {
  // ConfigErrors (config/load.ts), recognised without loading the config driver.
  const many = err instanceof Error && err.name === 'ConfigErrors' && Array.isArray((err as { errors?: unknown }).errors);
  const list = many ? (err as unknown as { errors: unknown[] }).errors : [err];
  for (const e of list) {
    io.err(`error: ${formatError(e)}\n`);
    let cause = (e as { cause?: unknown }).cause;
    for (let depth = 0; cause && depth < 3; depth++) {
      io.err(`  caused by: ${cause instanceof Error ? cause.message : String(cause)}\n`);
      cause = (cause as { cause?: unknown }).cause;
    }
  }
}

/** Runs the CLI; returns the exit code (run keeps going until a signal stops it). */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const first = argv.find((a) => !a.startsWith('-'));
  const coreCommand = first === undefined || CORE_COMMANDS.has(first);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      // A plugin's command has options of its own: only pick out the core's here.
      strict: coreCommand,
      options: {
        config: { type: 'string', short: 'c' },
        adapter: { type: 'string' },
        lenient: { type: 'boolean' },
        demo: { type: 'boolean' },
        port: { type: 'string' },
        workers: { type: 'string' },
        pid: { type: 'string' },
        wait: { type: 'boolean' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    io.err(`error: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const values = parsed.values as {
    config?: string; adapter?: string; lenient?: boolean; demo?: boolean; port?: string; 'log-level'?: string; 'log-format'?: string; help?: boolean; version?: boolean;
    workers?: string; pid?: string; wait?: boolean;
  };
  const positionals = parsed.positionals;
  if (values.version) {
    io.out(`${CORE_VERSION}\n`);
    return 0;
  }
  const command = positionals[0];
  if (values.help || command === undefined || command === 'help') {
    io.out(HELP);
    return values.help || command === 'help' ? 0 : 2;
  }
  const logLevel = values['log-level'];
  try {
    setLogFormat(resolveLogFormat(values['log-format']));
  } catch (err) {
    io.err(`error: ${(err as Error).message}\n`);
    return 2;
  }
  let made: Logger | undefined;
  // Created on first use: a plugin command that logs nothing does not load pino.
  const logger = (): Logger => (made ??= createLogger(logLevel ?? 'info'));
  const input: ConfigInput = { file: values.config, adapter: values.adapter, lenient: values.lenient };
  const needConfig = (): boolean => {
    if (values.config) return true;
    io.err(`error: ${command} needs --config <file>\n`);
    return false;
  };

  try {
    switch (command) {
      case 'validate': {
        if (!needConfig()) return 2;
        const loaded = lazy.config().loadConfig(input, { logger: logger() });
        // Everything `run` does but starting: every plugin's provision and validate steps.
        const quiet = silentLogger();
        await (await lazy.gateway().provision(loaded, { logger: quiet })).stop(0);
        for (const w of loaded.warnings) io.err(`warning: ${w}\n`);
        io.out(`${values.config}: valid (${loaded.plugins.length} plugins, ${Object.keys(loaded.config.frontends).length} frontends, ${Object.keys(loaded.config.backends).length} backends)\n`);
        return 0;
      }
      case 'schema': {
        // Every preset member, used by the config or not: the schema is for editors to complete with.
        const loaded = values.config
          ? lazy.config().loadConfig({ ...input, presets: 'all' }, { logger: logger() })
          : lazy.config().loadConfig({ object: { frontends: {}, backends: {} }, baseDir: process.cwd(), presets: 'all' }, { logger: logger() });
        io.out(JSON.stringify(loaded.schema, null, 2) + '\n');
        return 0;
      }
      case 'plugins': {
        if (!needConfig()) return 2;
        const loaded = lazy.config().loadConfig(input, { logger: logger() });
        const gw = await lazy.gateway().prepare(loaded, { logger: silentLogger() });
        const taps = gw.taps();
        for (const p of loaded.plugins) {
          const d = p.definition;
          const slots = loaded.slots.entries.filter((e) => e.owner === d.name).map((e) => `${e.slot}:${e.name}`);
          io.out(`${d.name}@${d.version}  (core ${d.core})${p.via ? `  via ${p.via}` : ''}\n`);
          io.out(`  hooks: ${(taps[d.name] ?? []).join(', ') || '-'}\n`);
          io.out(`  slots: ${slots.join(', ') || '-'}\n`);
          if (d.configKey) io.out(`  config key: ${d.configKey}\n`);
        }
        await gw.stop(0);
        return 0;
      }
      case 'run':
        if (lazy.cluster().isWorkerProcess()) return await lazy.cluster().runWorker(logger());
        if (values.workers !== undefined) return await runMaster(values, input, logger(), io);
        return await run(values, input, logger(), io);
      case 'reload':
        return await reloadCommand(values, input, io);
      default:
        return await pluginCommand(command, argv, input, logger, io);
    }
  } catch (err) {
    printErrors(io, err);
    return 1;
  }
}

/**
 * The plugin specs a config lists, read without the config driver: `plugins:` of a YAML/JSON
 * file, else the default preset (what a config without `plugins:` and an adapted haproxy.cfg
 * get). Undefined when the file cannot be read as YAML: the full path then reports why.
 */
function listedPlugins(input: ConfigInput): ReadonlyArray<string> | undefined {
  if (!input.file) return DEFAULT_PLUGINS;
  const ext = path.extname(input.file).toLowerCase();
  if (input.adapter || !['.yaml', '.yml', '.json', ''].includes(ext)) return DEFAULT_PLUGINS;
  try {
    const raw = parseYaml(fs.readFileSync(input.file, 'utf8')) as { plugins?: unknown } | null;
    if (raw?.plugins === undefined) return DEFAULT_PLUGINS;
    return Array.isArray(raw.plugins) && raw.plugins.every((p) => typeof p === 'string') ? (raw.plugins as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** A subcommand from the `cli.command` slot of the config's plugins (or the standard preset). */
async function pluginCommand(name: string, argv: string[], input: ConfigInput, logger: () => Logger, io: Io): Promise<number> {
  const configFile = input.file ? path.resolve(input.file) : undefined;
  const prepare: CliContext['prepare'] = async (i) => {
    const quiet = silentLogger();
    return lazy.gateway().prepare(lazy.config().loadConfig(i, { logger: quiet }), { logger: quiet });
  };
  // A command its package declares in package.json runs from its own module: no plugin is
  // loaded and the config is not validated (the command reads what it needs from the file).
  const specs = name === 'commands' ? undefined : listedPlugins(input);
  const light = specs && findCommandModule(name, specs, configFile ? path.dirname(configFile) : process.cwd());
  if (light) {
    const ctx: CliContext = { argv: argv.slice(argv.indexOf(name) + 1), configFile, config: undefined, out: io.out, err: io.err, prepare };
    return (light.command as unknown as CliCommand).run(ctx);
  }
  // Commands come from every member of the config's presets, whether the config uses them or not.
  const loaded = input.file
    ? lazy.config().loadConfig({ ...input, presets: 'all' }, { logger: logger() })
    : lazy.config().loadConfig({ object: { plugins: [...DEFAULT_PLUGINS] }, baseDir: process.cwd(), presets: 'all' }, { logger: logger() });
  if (name === 'commands') {
    for (const e of loaded.slots.entries.filter((x) => x.slot === CLI_COMMAND_SLOT)) {
      const c = loaded.slots.get<CliCommand>(CLI_COMMAND_SLOT, e.name)!;
      io.out(`${e.name.padEnd(12)} ${c.summary}  (${e.owner})\n    ${c.usage}\n`);
    }
    return 0;
  }
  const command = loaded.slots.get<CliCommand>(CLI_COMMAND_SLOT, name);
  if (!command) {
    io.err(`error: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  return command.run({
    argv: argv.slice(argv.indexOf(name) + 1),
    configFile,
    config: input.file ? loaded.config : undefined,
    out: io.out,
    err: io.err,
    prepare,
  });
}

async function run(
  values: { demo?: boolean; port?: string; config?: string; 'log-level'?: string },
  input: ConfigInput,
  logger: Logger,
  io: Io,
): Promise<number> {
  let stopDemo: (() => void) | undefined;
  if (values.demo) {
    const file = path.resolve(__dirname, '..', 'demo', 'quickstart.yaml');
    const object = parseYaml(fs.readFileSync(file, 'utf8')) as {
      frontends: { web: { bind: string } };
      backends: { demo: { servers: Array<{ name: string; address: string }> } };
    };
    const names = object.backends.demo.servers.map((s) => s.name);
    const demo = await lazy.demo().startDemoUpstreams(names);
    object.backends.demo.servers.forEach((s, i) => (s.address = `127.0.0.1:${demo.ports[i]}`));
    const port = values.port ?? process.env.PORT ?? '8080';
    object.frontends.web.bind = `127.0.0.1:${port}`;
    input = { object, baseDir: path.dirname(file) };
    stopDemo = () => demo.servers.forEach((s) => s.close());
  } else if (!values.config) {
    io.err('error: run needs --config <file> (or --demo)\n');
    return 2;
  }
  const reloader = await lazy.reload().Reloader.start({ input, logger: values['log-level'] ? logger : undefined, baseLogger: logger });
  const gw = reloader.gateway;
  const runLogger = gw.logger;
  for (const fe of gw.frontends.values()) {
    for (const a of fe.addresses) runLogger.info({ frontend: fe.name, address: a.host, port: a.port, tls: a.tls }, `frontend ${fe.name} listening on ${a.host}:${a.port}`);
  }
  const pidFile = gw.config.global.pidFile as string | undefined;
  const pidPath = pidFile ? path.resolve(gw.baseDir, pidFile) : undefined;
  if (pidPath) fs.writeFileSync(pidPath, `${process.pid}\n`);
  const control = await lazy.control().serveControl(() => reloader.reload(), runLogger).catch((err: unknown) => {
    runLogger.warn({ err }, 'no control socket: `switchyard reload --wait` cannot reach this process');
    return null;
  });
  if (values.demo) {
    const a = gw.address('web');
    // A banner for people: stderr, so stdout stays log lines only.
    io.err(`\nSwitchyard is balancing over three demo upstreams. Try:\n\n  curl -si http://127.0.0.1:${a.port}/\n  curl -si http://127.0.0.1:${a.port}/\n\nEach answer names the upstream that served it (x-served-by). Ctrl-C stops.\n\n`);
  }
  return await new Promise<number>((resolve) => {
    const done = (code: number): void => {
      control?.close();
      if (pidPath) fs.rmSync(pidPath, { force: true });
      stopDemo?.();
      resolve(code);
    };
    const stop = (signal: string, graceMs?: number): void => {
      const current = reloader.gateway;
      current.logger.info({ signal }, `${signal}: stopping gracefully (grace ${graceMs ?? current.config.global.gracePeriod} ms)`);
      reloader.stop(graceMs).then(
        () => done(0),
        (err) => {
          current.logger.error({ err }, 'stop failed');
          done(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // Soft stop: stop listening and let everything in flight finish, however long.
    process.once('SIGUSR1', () => stop('SIGUSR1 (soft stop)', 24 * 3_600_000));
    process.on('SIGUSR2', () => reloader.gateway.events.emit('reopen-logs'));
    process.on('SIGHUP', () => {
      reloader.gateway.logger.info({ signal: 'SIGHUP' }, `SIGHUP: reloading ${values.config ?? 'the config'}`);
      void reloader.reload();
    });
    // Only now: a supervisor that signals as soon as it reads this line must find the handlers in place.
    runLogger.info(`switchyard ${process.pid} serving (single process; SIGHUP reloads)`);
  });
}

async function runMaster(values: { workers?: string; config?: string; demo?: boolean; 'log-level'?: string }, input: ConfigInput, logger: Logger, io: Io): Promise<number> {
  if (values.demo) {
    io.err('error: --demo runs one process; drop --workers (or run --config <file> --workers N)\n');
    return 2;
  }
  if (!values.config) {
    io.err('error: run --workers needs --config <file>\n');
    return 2;
  }
  const n = values.workers === 'auto' ? os.availableParallelism() : Number(values.workers);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    io.err(`error: --workers must be a whole number from 1 to 256, or auto (got ${values.workers})\n`);
    return 2;
  }
  const master = new (lazy.cluster().Master)({
    file: path.resolve(values.config),
    workers: n,
    logger,
    flags: { adapter: input.adapter, lenient: input.lenient, logLevel: values['log-level'], logFormat: logFormat() },
    workerArgs: [],
    onReady: (addresses) => {
      for (const a of addresses) logger.info({ frontend: a.frontend, address: a.host, port: a.port }, `frontend ${a.frontend} listening on ${a.host}:${a.port}`);
    },
  });
  return master.run();
}

/**
 * Asks a running switchyard (master or single process), found by --pid or the config's
 * global.pidFile, to reload: SIGHUP, or with --wait the control socket, which answers with
 * the outcome.
 */
async function reloadCommand(values: { pid?: string; config?: string; wait?: boolean }, input: ConfigInput, io: Io): Promise<number> {
  let pid = values.pid ? Number(values.pid) : NaN;
  if (!values.pid) {
    if (!values.config) {
      io.err('error: reload needs --config <file> (with global.pidFile) or --pid <pid>\n');
      return 2;
    }
    const pidFile = pidFileOf(input);
    if (!pidFile) {
      io.err(`error: ${values.config} has no global.pidFile; pass --pid <pid>\n`);
      return 2;
    }
    const full = path.resolve(path.dirname(path.resolve(values.config)), pidFile);
    try {
      pid = Number(fs.readFileSync(full, 'utf8').trim());
    } catch (err) {
      io.err(`error: cannot read ${full}: ${(err as Error).message} (is switchyard running?)\n`);
      return 1;
    }
  }
  if (!Number.isInteger(pid) || pid <= 0) {
    io.err('error: not a PID\n');
    return 2;
  }
  if (values.wait) {
    try {
      const result = await lazy.control().requestReload(pid, 120_000);
      if (result.ok) {
        io.out(`${pid}: ${result.message}\n`);
        return 0;
      }
      io.err(`error: ${pid}: ${result.message}\n`);
      for (const e of result.errors) io.err(`error: ${e}\n`);
      return 1;
    } catch (err) {
      io.err(`error: ${(err as Error).message}\n`);
      return 1;
    }
  }
  try {
    process.kill(pid, 'SIGHUP');
  } catch (err) {
    io.err(`error: cannot signal ${pid}: ${(err as Error).message}\n`);
    return 1;
  }
  io.out(`sent SIGHUP to ${pid}: it validates the config, then serves it from a new generation (see its log; --wait waits for the outcome)\n`);
  return 0;
}

/**
 * The config's global.pidFile. The config being reloaded may be the broken one, so when it
 * does not load, the PID file is read from the raw text (YAML/JSON, or haproxy.cfg's pidfile).
 */
function pidFileOf(input: ConfigInput): string | undefined {
  try {
    return lazy.config().loadConfig(input, { logger: silentLogger() }).config.global.pidFile as string | undefined;
  } catch {
    let text: string;
    try {
      text = fs.readFileSync(input.file!, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const raw = parseYaml(text) as { global?: { pidFile?: unknown } } | null;
      if (typeof raw?.global?.pidFile === 'string') return raw.global.pidFile;
    } catch {
      // not YAML: an adapter's format
    }
    return /^\s*pidfile\s+(\S+)/m.exec(text)?.[1];
  }
}
