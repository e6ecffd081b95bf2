/**
 * `switchyard validate` means what `run` does: every probe that `run` refuses (unknown fetch,
 * converter, predefined ACL, missing ACL, bad regex, missing backend) is refused by validate
 * first, with the haproxy.cfg line; and what validate accepts, run starts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpDir } from './helpers';

const exec = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'core/bin/switchyard.js');
const dir = tmpDir('validate');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const BASE = (lines: string) => `defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:0
${lines}
    default_backend be
backend be
    server s1 127.0.0.1:9
`;

async function cli(cmd: 'validate' | 'run', text: string, name: string): Promise<{ code: number; err: string }> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  try {
    // run: a valid config keeps running; give it a moment and stop it (exit 124 from timeout means it ran)
    const args = cmd === 'run' ? ['-s', 'TERM', '10', process.execPath, CLI, 'run', '--config', file] : [CLI, 'validate', '--config', file];
    const r = await exec(cmd === 'run' ? 'timeout' : process.execPath, args, { cwd: ROOT });
    return { code: 0, err: r.stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, err: e.stderr };
  }
}

const PROBES: Array<[string, string, RegExp]> = [
  ['unknown fetch', '    acl bad req.nosuchfetch -m found\n    http-request deny if bad', /:8: .*unknown fetch "req\.nosuchfetch"/],
  ['unknown converter', '    http-request set-header X-A %[req.hdr(host),nosuchconv]', /:8: .*nosuchconv/],
  ['unknown predefined ACL', '    http-request deny if NO_SUCH_ACL', /:8: .*NO_SUCH_ACL/],
  ['missing ACL', '    use_backend be if missing_acl', /:8: .*missing_acl/],
  ['bad regex', '    acl r path_reg ^/(unclosed\n    http-request deny if r', /:8: .*(regex|regular expression)/i],
  // a fetch compiled by another plugin than the ACL one: the access log's format
  ['unknown fetch in a track-sc key', '    stick-table type string size 1k store http_req_rate(10s)\n    http-request track-sc0 nosuchfetch', /:9: .*nosuchfetch/],
  ['unknown fetch in log-format', '    log stderr local0\n    log-format "%[nosuchfetch]"', /:9: .*nosuchfetch/],
];

describe('validate refuses what run refuses, at the haproxy.cfg line', () => {
  for (const [name, lines, expected] of PROBES) {
    it(name, async () => {
      const text = BASE(lines);
      const v = await cli('validate', text, `${name.replace(/ /g, '-')}.cfg`);
      const r = await cli('run', text, `${name.replace(/ /g, '-')}-run.cfg`);
      expect(r.code).toBe(1);
      expect(v.code).toBe(1);
      expect(v.err).toMatch(expected);
    }, 40000);
  }

  it('a config validate accepts, run starts', async () => {
    const text = BASE('    acl api path_beg /api\n    http-request set-header X-Api yes if api');
    expect((await cli('validate', text, 'ok.cfg')).code).toBe(0);
    expect((await cli('run', text, 'ok-run.cfg')).code).toBe(124); // still running when timeout stopped it
  }, 40000);
});

describe('--lenient never leaves a dangling reference', () => {
  it('drops the rules that need a dropped ACL or a missing backend, and keeps a server without its one unknown option', async () => {
    const text = `defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:0
    http-request deny if !is_ok
    use_backend gone if { path_beg /x }
    default_backend be
    acl is_ok
backend be
    server s1 127.0.0.1:9 frobnicate
`;
    const file = path.join(dir, 'lenient.cfg');
    fs.writeFileSync(file, text);
    const strict = await exec(process.execPath, [CLI, 'validate', '--config', file], { cwd: ROOT }).catch((e: { code: number; stderr: string }) => e);
    expect((strict as { code: number }).code).toBe(1);
    const r = await exec(process.execPath, [CLI, 'validate', '--lenient', '--config', file], { cwd: ROOT });
    expect(r.stdout).toContain('valid');
    expect(r.stderr).toMatch(/lenient\.cfg:8: dropped httpRequest\[0\] of frontend fe: ACL is_ok \(line 11\) was not taken/);
    expect(r.stderr).toMatch(/lenient\.cfg:9: dropped useBackend\[0\] of frontend fe: backend gone is not there/);
    expect(r.stderr).not.toMatch(/has no servers/);
  }, 40000);
});
