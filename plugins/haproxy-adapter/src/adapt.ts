import type { AdaptResult, SlotRegistry } from '@switchyard/sdk';
import { HaproxyErrors } from './errors';
import { runContributed } from './contributed';
import { dropDangling, finish } from './finish';
import { AdaptModel } from './model';
import { parseConfig, type Section } from './parse';
import { httpErrorsSection } from './proxy/errors';
import { resolversSection } from './sections/resolvers';
import { proxy } from './proxy/proxy';
import { cache } from './sections/cache';
import { global } from './sections/global';
import { userlist } from './sections/userlist';

export { PRESET } from './model';

export interface HaproxyAdaptOptions {
  lenient: boolean;
  /** The slots of the loaded plugins: directives they contribute (`haproxy.directive`). */
  slots?: SlotRegistry;
  /** Environment for `$VAR` expansion (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The adapter itself: haproxy.cfg text → the canonical model, with warnings and a line map. */
export function adaptHaproxy(text: string, file: string, options: HaproxyAdaptOptions): AdaptResult {
  const ad = new AdaptModel(text, file, options);
    const sections = parseConfig(ad.text, ad.file, ad.contributedSections(), ad.env);
    ad.config.plugins = ad.plugins;
    ad.set(['frontends'], {}, 1);
    ad.set(['backends'], {}, 1);
    const defaults = new Map<string, Section>();
    let lastDefaults: Section | undefined;
    const seen = { frontend: new Map<string, number>(), backend: new Map<string, number>() };
    for (const s of sections) {
      // HAProxy: "frontend 'x' has the same name as frontend 'x' declared at file:line"
      const kinds = s.kind === 'listen' ? (['frontend', 'backend'] as const) : s.kind === 'frontend' || s.kind === 'backend' ? ([s.kind] as const) : [];
      for (const k of kinds) {
        const prev = seen[k].get(s.name);
        if (prev !== undefined) ad.problem(s.line, `${s.keyword} ${s.name}`, `${k} '${s.name}' has the same name as ${k} '${s.name}' declared at ${ad.file}:${prev}`);
        else seen[k].set(s.name, s.line);
      }
    }
    // Sections that proxies refer to by name are read first: HAProxy resolves references after parsing.
    for (const s of sections) {
      if (ad.contributed('section', s.keyword)) continue;
      if (s.kind === 'cache') cache(ad, s);
      else if (s.kind === 'userlist') userlist(ad, s);
      else if (s.keyword === 'http-errors') httpErrorsSection(ad, s);
      else if (s.keyword === 'resolvers') resolversSection(ad, s);
    }
    for (const s of sections) {
      const own = ad.contributed('section', s.keyword);
      if (own) {
        runContributed(ad, own, { d: { words: [s.keyword, ...(s.name ? [s.name] : []), ...s.extra], line: s.line }, section: s, lines: s.directives });
        ad.closeSection();
        continue;
      }
      switch (s.kind) {
        case 'global':
          global(ad, s);
          break;
        case 'defaults':
          if (s.name) defaults.set(s.name, s);
          lastDefaults = s;
          break;
        case 'frontend':
        case 'backend':
        case 'listen': {
          if (s.kind === 'backend' && !s.directives.some((x) => x.words[0] === 'server' || x.words[0] === 'server-template')) {
            const t = s.directives.find((x) => x.words[0] === 'stick-table');
            if (t) {
              // a backend holding a stick table (track-sc… table <name>); with nothing but the
              // table (and its mode) it is no backend: nothing is routed to it
              ad.tables.set(s.name, { words: t.words.slice(1), line: t.line });
              if (s.directives.every((x) => x === t || x.words[0] === 'mode' || x.words[0] === 'description')) {
                const own = ad.contributed('proxy', 'stick-table');
                if (own) runContributed(ad, own, { d: t, section: s });
                break;
              }
            }
          }
          let d = lastDefaults;
          if (s.from !== undefined) {
            d = defaults.get(s.from);
            if (!d) ad.problem(s.line, `${s.keyword} ${s.name} from ${s.from}`, `no defaults section named "${s.from}" before this line`);
          }
          proxy(ad, s, ad.defaultsChain(d, defaults));
          break;
        }
        case 'cache':
        case 'userlist':
          break; // read above
        case 'other':
          if (s.keyword === 'http-errors' || s.keyword === 'resolvers') break; // read above
          ad.problem(s.line, `${s.keyword} ${s.name}`.trim(), `the "${s.keyword}" section has no Switchyard equivalent yet`);
          break;
        default:
          ad.problem(s.line, `${s.keyword} ${s.name}`.trim(), `the "${s.keyword}" section has no Switchyard equivalent yet`);
      }
    }
    finish(ad);
    if (ad.lenient) dropDangling(ad);
    if (ad.problems.length > 0) {
      if (!ad.lenient) {
        // Each refusal in the words written for its directive: the first one is the message
        // (at its file:line), the others follow one a line, each with its own file:line.
        const [first, ...others] = ad.problems as [(typeof ad.problems)[number], ...typeof ad.problems];
        const rest = others.map((p) => `\n  ${ad.file}:${p.line}: ${p.directive} — ${p.why}`).join('');
        const hint = `\n  (--lenient turns ${others.length > 0 ? 'these into warnings' : 'it into a warning'})`;
        throw HaproxyErrors.UNKNOWN_DIRECTIVES.with({ location: { file: ad.file, line: first.line } }, `${first.directive} — ${first.why}`, rest + hint);
      }
      for (const p of ad.problems) ad.warnings.push(`${ad.file}:${p.line}: ignored unsupported "${p.directive}": ${p.why}`);
    }
    const lines = ad.lines;
    return {
      config: ad.config,
      warnings: ad.warnings,
      lineOf(p) {
        for (let n = p.length; n >= 1; n--) {
          const l = lines.get(JSON.stringify(p.slice(0, n)));
          if (l !== undefined) return l;
        }
        return undefined;
      },
    };
}
