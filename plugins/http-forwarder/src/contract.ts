/**
 * What other plugins import from this one without loading it: `@switchyard/plugin-http-forwarder/contract`
 * (declare this package a peer dependency).
 */

/**
 * `connection.data` key for a per-connection dispatcher, `(server) => Dispatcher | undefined`
 * (the proxy-protocol plugin's send-proxy needs upstream connections of one client only).
 */
export const UPSTREAM_DISPATCHER: unique symbol = Symbol.for('switchyard.http-forwarder.dispatcher');
