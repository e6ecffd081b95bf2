import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const CLI = path.resolve(__dirname, '..', '..', '..', 'core', 'bin', 'switchyard.js');

function talk(file: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(file);
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('error', reject);
    s.on('close', () => resolve(out));
    s.write(text);
  });
}

describe('haproxy.cfg `stats socket` → the runtime API CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-stats-socket-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cfg = (sockets: string): string =>
    `global\n${sockets}\n  stats timeout 20s\ndefaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\n` +
    `listen px\n  bind 127.0.0.1:0\n  server s1 127.0.0.1:9 weight 4\n  server s2 127.0.0.1:10 backup\n`;

  it('adapts level, mode and the timeout; a user-level socket refuses what an admin one does', async () => {
    const admin = path.join(dir, 'admin.sock');
    const user = path.join(dir, 'user.sock');
    const file = path.join(dir, 'h.cfg');
    fs.writeFileSync(file, cfg(`  stats socket ${admin} level admin mode 600\n  stats socket unix@${user} level user mode 640 expose-fd listeners`));
    const child = spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no CLI sockets in:\n${out}`)), 20_000);
        const check = (): void => {
          if ((out.match(/runtime API CLI on unix@/g) ?? []).length === 2) {
            clearTimeout(timer);
            resolve();
          } else if (child.exitCode !== null) reject(new Error(out));
        };
        child.stdout.on('data', check);
        child.stderr.on('data', check);
        check();
      });
      expect(out).toContain('stats socket option \\"expose-fd\\" ignored');
      expect(fs.statSync(admin).mode & 0o777).toBe(0o600);
      expect(fs.statSync(user).mode & 0o777).toBe(0o640);
      expect(await talk(user, 'get weight px/s1\n')).toBe('4 (initial 4)\n\n');
      expect(await talk(user, 'set weight px/s1 50%\n')).toBe('Permission denied\n\n');
      expect(await talk(admin, 'set weight px/s1 50%; get weight px/s1\n')).toBe('\n2 (initial 4)\n\n');
      const stat = await talk(user, 'show stat\n');
      expect(stat).toMatch(/^# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,/);
      expect(stat).toMatch(/\npx,s2,(?:[^,\n]*,){17}0,1,/); // act 0, bck 1 for the backup
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    // The socket files go away with the process.
    expect(fs.existsSync(admin)).toBe(false);
  });

  it('refuses what it cannot honour, with file:line', async () => {
    const file = path.join(dir, 'bad.cfg');
    fs.writeFileSync(file, cfg('  stats socket abns@x level admin\n  stats socket /tmp/x.sock level root'));
    const child = spawn(process.execPath, [CLI, 'validate', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(out).toContain(`${file}:2: stats socket abns@x level admin — stats socket "abns@x": only unix sockets, ipv4@/ipv6@ addresses and fd@N are supported`);
    expect(out).toContain(`${file}:3: stats socket /tmp/x.sock level root — stats socket level must be user, operator or admin`);
  });
});
