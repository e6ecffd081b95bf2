export { Gateway, TOKENS, type GatewayOptions } from './gateway';
export { loadConfig, ConfigErrors, type ConfigInput, type LoadedConfig } from './config/load';
export { composeSchema, BUILTIN_TIMEOUTS } from './config/schema';
export { loadPlugins, resolvePlugin, isActive, DEFAULT_PLUGINS, type LoadedPlugin, type Activation, type PluginSelection } from './loader';
export { CoreErrors } from './errors';
export { CORE_VERSION } from './version';
export { startGateway, type StartOptions } from './start';
export { ServiceRegistry } from './services';
export { SlotTable } from './slots';
