/**
 * The canonical configuration model, after validation: defaults filled in,
 * durations turned into milliseconds and sizes into bytes.
 *
 * Plugins add properties to frontends, backends and servers through their schema;
 * those arrive here as extra keys (read them with the index signature, typed by the
 * plugin's own config interface).
 */
export type JsonSchema = Record<string, unknown>;

export type Mode = 'http' | 'tcp';

export interface Timeouts {
  /** Time to establish the TCP connection to a server. */
  connect: number;
  /** Inactivity on the client side (HAProxy's `timeout client`). */
  client: number;
  /** Time for a server to send response headers, and between body chunks (`timeout server`). */
  server: number;
  /** Time for a client to send the whole request head (`timeout http-request`). */
  httpRequest: number;
  /** Idle time a client keep-alive connection is kept open (`timeout http-keep-alive`). */
  keepAlive: number;
  /** Inactivity on an upgraded (WebSocket) or TCP tunnel (`timeout tunnel`). */
  tunnel: number;
  /** How long a request may wait in a backend queue for a server slot (`timeout queue`). */
  queue: number;
}

export interface TlsBindConfig {
  /** PEM certificate chain file (the default certificate). */
  cert: string;
  /** PEM private key file. */
  key: string;
  /*
   * Optional listener settings the core honours when present. The core's schema does not
   * declare them: a plugin that offers them declares them in its `schema.tls` (the tls
   * plugin does), so without such a plugin they keep their defaults.
   */
  /** Lowest protocol version accepted. Default 'TLSv1.2'. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are always the modern defaults). Default: Mozilla "intermediate". */
  ciphers?: string;
  /** ALPN protocols offered, in preference order. Default ['h2', 'http/1.1'] in HTTP mode, none in TCP mode. */
  alpn?: string[];
  /** Client certificates: 'none' (default), 'optional' (asked, checked, not required) or 'required'. */
  verify?: 'none' | 'optional' | 'required';
  /** PEM CA bundle file client certificates are verified against (needed with verify). */
  ca?: string;
  /** Refuse handshakes without SNI, or whose name no `tls` tap answers. Default false. */
  strictSni?: boolean;
  [pluginKey: string]: unknown;
}

/**
 * TLS defaults the core applies to client-facing binds, shared so plugins that build their
 * own SecureContexts (several certificates, SNI) match them. TLS 1.2 suites are Mozilla's
 * "intermediate" profile: ECDHE key exchange with AEAD ciphers only; TLS 1.3 suites are
 * OpenSSL's defaults.
 */
export const TLS_DEFAULTS = Object.freeze({
  minVersion: 'TLSv1.2' as const,
  ciphers: [
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
});

export interface BindConfig {
  host: string;
  port: number;
  /**
   * Listen on an inherited, already bound socket instead of host:port: a descriptor number
   * (HAProxy's `fd@N`), `systemd` or `systemd:<name>` (socket activation, LISTEN_FDS).
   */
  fd?: number | string;
  tls?: TlsBindConfig;
  /** Expect a PROXY protocol header on each connection (schema from the proxy-protocol plugin). */
  acceptProxy?: boolean;
  [pluginKey: string]: unknown;
}

export interface FrontendConfig {
  mode: Mode;
  bind: BindConfig[];
  defaultBackend?: string;
  /** Concurrent connections on this frontend; 0 = unlimited. Above it the listener pauses. */
  maxconn: number;
  timeouts: Timeouts;
  /** As written: status → page file. */
  errorFiles?: Record<string, string>;
  /** Loaded pages by status (the core fills it from errorFiles, with defaults.errorFiles for frontends). */
  errorPages: Record<string, Buffer>;
  [pluginKey: string]: unknown;
}

/**
 * TLS to a server (`servers[].tls`). The schema for it comes from the tls plugin; the HTTP
 * and TCP forwarders honour it. File paths are resolved from the config file's directory.
 */
export interface ServerTlsConfig {
  /** Verify the server's certificate (default true) against `ca`, or the system CAs without one. */
  verify?: boolean;
  /** PEM CA bundle file to verify the server against. */
  ca?: string;
  /** Server name sent in SNI and checked in the certificate; default the server's host when it is a name. */
  sni?: string;
  /** ALPN protocols offered; include 'h2' to speak HTTP/2 to this server (HTTP mode). */
  alpn?: string[];
  /** Client certificate (PEM chain file) and key presented to the server. */
  cert?: string;
  key?: string;
}

export interface ServerConfig {
  name: string;
  /** As written, `host:port`. */
  address: string;
  host: string;
  port: number;
  /** 0–256; 0 takes no balanced traffic. */
  weight: number;
  /** Concurrent requests (HTTP) or connections (TCP); 0 = unlimited. */
  maxconn: number;
  backup: boolean;
  /** Send a PROXY protocol header first on each connection (schema from the proxy-protocol plugin). */
  sendProxy?: 'v1' | 'v2';
  /** TLS to this server (schema from the tls plugin). */
  tls?: ServerTlsConfig;
  [pluginKey: string]: unknown;
}

export interface BackendConfig {
  mode: Mode;
  /** Name of the balancing policy (a `balance` slot). */
  balance: string;
  /** With backups: use every available backup instead of only the first. */
  allBackups: boolean;
  /** Queue length limit when every server is at maxconn; 0 = unlimited. */
  maxqueue: number;
  servers: ServerConfig[];
  timeouts: Timeouts;
  /** As written: status → page file. */
  errorFiles?: Record<string, string>;
  /** Loaded pages by status (the core fills it from errorFiles, with defaults.errorFiles for frontends). */
  errorPages: Record<string, Buffer>;
  [pluginKey: string]: unknown;
}

export interface GlobalConfig {
  /** How long in-flight work may take to finish on stop or reload. */
  gracePeriod: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  [pluginKey: string]: unknown;
}

export interface SwitchyardConfig {
  plugins: string[];
  global: GlobalConfig;
  defaults: { timeouts: Timeouts; [pluginKey: string]: unknown };
  frontends: Record<string, FrontendConfig>;
  backends: Record<string, BackendConfig>;
  [pluginKey: string]: unknown;
}

/** Where a config came from, to turn key paths into file lines in errors. */
export interface ConfigSource {
  file: string;
  /** Line (1-based) of the value at a key path, if known. */
  lineOf(path: ReadonlyArray<string | number>): number | undefined;
}
