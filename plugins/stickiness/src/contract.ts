/**
 * What other plugins import from this one without loading it: `@switchyard/plugin-stickiness/contract`
 * (declare this package a peer dependency). A store plugin provides a StickStoreProvider in STICK_STORE_SLOT.
 */
export { STICK_STORE_SLOT, STICK_TABLE, type StickStore, type StickStoreProvider } from './store';
