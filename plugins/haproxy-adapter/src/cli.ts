import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { formatError, type CliCommand, type CliContext, type SlotRegistry } from '@switchyard/sdk';
import { adaptHaproxy } from './adapt';

const USAGE = 'switchyard adapt --config haproxy.cfg [--lenient] [--output file.yaml]';

/** `switchyard adapt`: prints the native YAML equivalent of a haproxy.cfg (with the directives of the plugins in `slots`). */
export function adaptCommandWith(slots: SlotRegistry | undefined): CliCommand {
  return {
  summary: 'Print the native Switchyard YAML equivalent of a haproxy.cfg',
  usage: USAGE,
  async run(ctx: CliContext): Promise<number> {
    let file: string | undefined;
    let output: string | undefined;
    let lenient = false;
    const argv = ctx.argv;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '--config' || a === '-c') file = argv[++i];
      else if (a.startsWith('--config=')) file = a.slice('--config='.length);
      else if (a === '--lenient') lenient = true;
      else if (a === '--output' || a === '-o') output = argv[++i];
      else if (a === '--adapter') i++;
      else if (a === '--log-level') i++;
      else {
        ctx.err(`error: unknown argument "${a}"\nusage: ${USAGE}\n`);
        return 2;
      }
    }
    if (!file) {
      ctx.err(`error: adapt needs --config <haproxy.cfg>\nusage: ${USAGE}\n`);
      return 2;
    }
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      ctx.err(`error: cannot read ${file}: ${(err as Error).message}\n`);
      return 1;
    }
    try {
      const result = adaptHaproxy(text, path.resolve(file), { lenient, slots });
      for (const w of result.warnings) ctx.err(`warning: ${w}\n`);
      const yaml = `# Adapted from ${path.basename(file)} by switchyard adapt\n` + stringify(result.config, { lineWidth: 0 });
      if (output) fs.writeFileSync(output, yaml);
      else ctx.out(yaml);
      return 0;
    } catch (err) {
      ctx.err(`error: ${formatError(err)}\n`);
      return 1;
    }
  },
};
}

export const adaptCommand: CliCommand = adaptCommandWith(undefined);
