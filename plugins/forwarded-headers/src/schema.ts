import { Type, type Static } from '@switchyard/sdk';

/** `forwardedHeaders` on a frontend (or in `defaults`). */
export const forwardedHeadersSchema = Type.Object({
  enabled: Type.Boolean({ default: true, description: 'Set the headers at all.' }),
  xForwardedFor: Type.Boolean({ default: true, description: 'X-Forwarded-For: client address (appended after a trusted proxy\'s list).' }),
  xForwardedProto: Type.Boolean({ default: true, description: 'X-Forwarded-Proto: http or https as the client spoke to the gateway.' }),
  xForwardedHost: Type.Boolean({ default: true, description: 'X-Forwarded-Host: the Host the client asked for.' }),
  xForwardedPort: Type.Boolean({ default: false, description: 'X-Forwarded-Port: the gateway port the client connected to.' }),
  forwarded: Type.Boolean({ default: false, description: 'RFC 7239 Forwarded: for=…;host=…;proto=… (appended after a trusted proxy\'s).' }),
  xForwardedForAppend: Type.Boolean({ default: false, description: 'HAProxy\'s option forwardfor: incoming X-Forwarded-For values are always kept (whoever sent them) and the client\'s address is added as one more header line.' }),
  xForwardedForHeader: Type.String({ default: 'x-forwarded-for', pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$', description: 'Name of the header carrying the client address (option forwardfor header <name>).' }),
  xForwardedForIfNone: Type.Boolean({ default: false, description: 'Add the client address only when the request carries no such header (option forwardfor if-none).' }),
  xForwardedForExcept: Type.Array(Type.String(), { default: [], description: 'Client addresses or CIDR blocks for which no address is added (option forwardfor except <network>).' }),
  trustedProxies: Type.Array(Type.String(), { default: [], description: 'Addresses or CIDR blocks (IPv4, IPv6) of proxies in front of the gateway whose forwarding headers are believed.' }),
}, { additionalProperties: false, description: 'Headers that tell servers who the client is. From an untrusted peer, incoming values are replaced; from a trusted proxy, they are kept and appended to.' });

/** `defaultss.<name>.forwardedHeaders` */
export const defaults_forwardedHeadersSchema = Type.Object({
  enabled: Type.Boolean({ default: true, description: 'Set the headers at all.' }),
  xForwardedFor: Type.Boolean({ default: true, description: 'X-Forwarded-For: client address (appended after a trusted proxy\'s list).' }),
  xForwardedProto: Type.Boolean({ default: true, description: 'X-Forwarded-Proto: http or https as the client spoke to the gateway.' }),
  xForwardedHost: Type.Boolean({ default: true, description: 'X-Forwarded-Host: the Host the client asked for.' }),
  xForwardedPort: Type.Boolean({ default: false, description: 'X-Forwarded-Port: the gateway port the client connected to.' }),
  forwarded: Type.Boolean({ default: false, description: 'RFC 7239 Forwarded: for=…;host=…;proto=… (appended after a trusted proxy\'s).' }),
  xForwardedForAppend: Type.Boolean({ default: false, description: 'HAProxy\'s option forwardfor: incoming X-Forwarded-For values are always kept (whoever sent them) and the client\'s address is added as one more header line.' }),
  xForwardedForHeader: Type.String({ default: 'x-forwarded-for', pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$', description: 'Name of the header carrying the client address (option forwardfor header <name>).' }),
  xForwardedForIfNone: Type.Boolean({ default: false, description: 'Add the client address only when the request carries no such header (option forwardfor if-none).' }),
  xForwardedForExcept: Type.Array(Type.String(), { default: [], description: 'Client addresses or CIDR blocks for which no address is added (option forwardfor except <network>).' }),
  trustedProxies: Type.Array(Type.String(), { default: [], description: 'Addresses or CIDR blocks (IPv4, IPv6) of proxies in front of the gateway whose forwarding headers are believed.' }),
}, { additionalProperties: false, description: 'Headers that tell servers who the client is. From an untrusted peer, incoming values are replaced; from a trusted proxy, they are kept and appended to.' });

/** `forwardedHeaders` after validation (defaults filled). */
export type ForwardedHeadersConfig = Static<typeof forwardedHeadersSchema>;
