// eslint-disable-next-line @typescript-eslint/no-require-imports
export const CORE_VERSION: string = (require('../package.json') as { version: string }).version;
