import { DurationOption, Enum, Type, type Static, type TlsBindConfig } from '@switchyard/sdk';

/** The top-level `tls` key; the plugin's options type is derived from it. */
export const configSchema = Type.Object(
  { reloadInterval: DurationOption('How often certificate files and directories are checked for changes (0 = never).', '5s') },
  { default: {}, additionalProperties: false, description: 'Certificate handling shared by every TLS bind.' },
);

/** The properties this plugin adds to every `bind.tls` (the core honours strictSni/verify/ca/minVersion/ciphers/alpn). */
export const tlsOptions = {
  certificates: Type.Array(Type.String(), {
    default: [],
    description: 'More certificates served by SNI: PEM files holding the chain and the key (or the key in a .key file beside), or directories of them. The bind\'s cert/key stays the default certificate.',
  }),
  strictSni: Type.Boolean({ default: false, description: 'Refuse handshakes without SNI or for a name no certificate covers.' }),
  verify: Enum(['none', 'optional', 'required'], { default: 'none', description: 'Client certificates (mTLS): not asked, asked and checked, or required.' }),
  ca: Type.Optional(Type.String({ description: 'PEM CA bundle client certificates are verified against (needed with verify).' })),
  clientCertHeaders: Type.Boolean({
    default: true,
    description: 'With verify, send the client certificate\'s verification result, subject, issuer, serial and SHA-256 to servers as x-ssl-client-* headers (removing any the client sent).',
  }),
  minVersion: Enum(['TLSv1.2', 'TLSv1.3'], { default: 'TLSv1.2', description: 'Lowest TLS version accepted.' }),
  ciphers: Type.Optional(Type.String({ description: 'OpenSSL cipher list for TLS 1.2 (default: Mozilla intermediate, ECDHE + AEAD only).' })),
  alpn: Type.Optional(Type.Array(Type.String(), { description: 'ALPN protocols offered, in order (default h2, http/1.1 in HTTP mode). Leave out h2 to serve HTTP/1.1 only.' })),
};
/** Only for the type below: the bind.tls keys as one object (defaults filled). */
const tlsObject = Type.Object(tlsOptions);

/** A server's `tls`. */
export const serverTlsSchema = Type.Object(
  {
    verify: Type.Boolean({ default: true, description: 'Verify the server certificate (against ca, else the system CAs) and its name.' }),
    ca: Type.Optional(Type.String({ description: 'PEM CA bundle to verify the server against.' })),
    sni: Type.Optional(Type.String({ description: 'Server name for SNI and the certificate check (default: the server host when it is a name).' })),
    alpn: Type.Optional(Type.Array(Type.String(), { description: 'ALPN protocols offered; include h2 to speak HTTP/2 to this server.' })),
    cert: Type.Optional(Type.String({ description: 'Client certificate (PEM chain) presented to the server.' })),
    key: Type.Optional(Type.String({ description: 'Key of the client certificate.' })),
  },
  { additionalProperties: false, description: 'Speak TLS to this server (HTTP and TCP forwarders).' },
);

/** `tls` after validation: `reloadInterval` in ms, 0 turns reloading off. */
export type TlsPluginConfig = Static<typeof configSchema>;
/** A `bind.tls` with this plugin's keys. */
export type TlsPluginBindConfig = TlsBindConfig & Static<typeof tlsObject>;
