export * from './errors';
export * from './config';
export * from './state';
export * from './exchange';
export * from './hooks';
export * from './slots';
export * from './plugin';
export * from './duration';
