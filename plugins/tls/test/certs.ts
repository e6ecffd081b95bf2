import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Test PKI made with the openssl CLI in a temp dir: a CA and certificates it signs. */
export class TestPki {
  readonly dir: string;

  constructor(prefix = 'swy-tls-') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.#openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/O=Switchyard Test/CN=Test CA']);
  }

  #openssl(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'ignore' });
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  /**
   * A certificate for `names` (subjectAltName DNS entries; the first is the CN) signed by
   * the CA, written as `<file>.pem` (chain: leaf + CA) and `<file>.key`, or as one
   * combined PEM when `combined`. Returns the certificate file's path.
   */
  issue(file: string, names: string[], options: { combined?: boolean; subject?: string; client?: boolean; dir?: string } = {}): string {
    const outDir = options.dir ?? this.dir;
    fs.mkdirSync(outDir, { recursive: true });
    const tmp = `tmp-${file}`;
    const subject = options.subject ?? `/CN=${names[0]}`;
    this.#openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${tmp}.key`, '-out', `${tmp}.csr`, '-subj', subject]);
    const ext = options.client ? 'extendedKeyUsage=clientAuth' : `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`;
    fs.writeFileSync(this.path(`${tmp}.ext`), ext + '\n');
    this.#openssl(['x509', '-req', '-in', `${tmp}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${tmp}.crt`, '-days', '2', '-extfile', `${tmp}.ext`]);
    const leaf = fs.readFileSync(this.path(`${tmp}.crt`), 'latin1');
    const ca = fs.readFileSync(this.path('ca.pem'), 'latin1');
    const key = fs.readFileSync(this.path(`${tmp}.key`), 'latin1');
    const certFile = path.join(outDir, `${file}.pem`);
    if (options.combined) {
      fs.writeFileSync(certFile, leaf + ca + key);
    } else {
      fs.writeFileSync(certFile, leaf + ca);
      fs.writeFileSync(path.join(outDir, `${file}.key`), key);
    }
    for (const x of ['key', 'csr', 'ext', 'crt']) fs.rmSync(this.path(`${tmp}.${x}`), { force: true });
    return certFile;
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
