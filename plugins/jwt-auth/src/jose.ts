import Module from 'node:module';
import * as path from 'node:path';
import type * as Jose from 'jose';

/**
 * jose 6 is an ES module. Node ≥ 20.19 loads it with require(); Jest's CommonJS module
 * registry (used by this repository's tests) does not. Loading it through a plain Node
 * Module object uses Node's own loader in both cases, so production and tests run the same
 * code. With Jest configured to transform jose this can become `import … from 'jose'`.
 */
interface NodeModuleLike {
  filename: string;
  paths: string[];
  require(id: string): unknown;
}
const M = Module as unknown as { new (id: string): NodeModuleLike; _nodeModulePaths(dir: string): string[] };
const loader = new M(__filename);
loader.filename = __filename;
loader.paths = M._nodeModulePaths(path.dirname(__filename));

export const jose = loader.require('jose') as typeof Jose;
