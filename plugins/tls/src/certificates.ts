import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { TLS_DEFAULTS, type Logger, type TlsBindConfig } from '@switchyard/sdk';
import { TlsErrors } from './errors';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_KEY = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;
const CERT_EXTENSIONS = new Set(['.pem', '.crt', '.cer']);

/** One certificate (leaf + chain) with its key, and the names it serves. */
export interface LoadedCertificate {
  readonly file: string;
  readonly names: string[];
  readonly subject: string;
  readonly validTo: string;
  readonly context: tls.SecureContext;
}

/** Names in a certificate: DNS subjectAltNames, else the subject CN. Lower-case. */
export function certificateNames(cert: X509Certificate): string[] {
  const names: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(',')) {
    const p = part.trim();
    if (p.startsWith('DNS:')) names.push(p.slice(4).toLowerCase());
  }
  if (names.length === 0) {
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject);
    if (cn) names.push(cn[1]!.trim().toLowerCase());
  }
  return names;
}

/** The files a `certificates` entry stands for: itself, or the certificate files in a directory. */
export function expandEntry(entry: string): string[] {
  const st = fs.statSync(entry);
  if (!st.isDirectory()) return [entry];
  return fs
    .readdirSync(entry)
    .filter((f) => CERT_EXTENSIONS.has(path.extname(f).toLowerCase()))
    .sort()
    .map((f) => path.join(entry, f))
    .filter((f) => /-----BEGIN CERTIFICATE-----/.test(fs.readFileSync(f, 'latin1')));
}

/** `site.pem` → key in the same file, else `site.key`, else `site.pem.key`. */
function keyFileFor(file: string): string[] {
  const ext = path.extname(file);
  return [file.slice(0, file.length - ext.length) + '.key', file + '.key'];
}

export function loadCertificate(file: string, options: tls.SecureContextOptions): LoadedCertificate {
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch (err) {
    throw TlsErrors.CERT_LOAD.with({ cause: err }, file, (err as Error).message);
  }
  const certs = text.match(PEM_CERT);
  if (!certs || certs.length === 0) throw TlsErrors.NO_CERTIFICATE(file);
  let key = PEM_KEY.exec(text)?.[0];
  if (key === undefined) {
    const candidates = keyFileFor(file);
    for (const k of candidates) {
      if (fs.existsSync(k)) {
        key = fs.readFileSync(k, 'latin1');
        break;
      }
    }
    if (key === undefined) throw TlsErrors.NO_KEY(file, candidates[0]!);
  }
  try {
    const leaf = new X509Certificate(certs[0]!);
    const context = tls.createSecureContext({ ...options, cert: certs.join('\n'), key });
    return { file, names: certificateNames(leaf), subject: leaf.subject.replace(/\n/g, ', '), validTo: leaf.validTo, context };
  } catch (err) {
    throw TlsErrors.CERT_LOAD.with({ cause: err }, file, (err as Error).message);
  }
}

/** Exact names and wildcard suffixes (`*.example.com` → `example.com`) to contexts. */
export class CertificateIndex {
  readonly exact = new Map<string, LoadedCertificate>();
  readonly wildcard = new Map<string, LoadedCertificate>();
  readonly certificates: LoadedCertificate[] = [];

  add(cert: LoadedCertificate): void {
    this.certificates.push(cert);
    for (const name of cert.names) {
      // First one listed wins a name, as in HAProxy's crt-list.
      if (name.startsWith('*.')) {
        if (!this.wildcard.has(name.slice(2))) this.wildcard.set(name.slice(2), cert);
      } else if (!this.exact.has(name)) this.exact.set(name, cert);
    }
  }

  /** Exact name first, then a wildcard for the name's parent (one label, RFC 6125 §6.4.3). */
  find(servername: string): LoadedCertificate | undefined {
    const name = servername.toLowerCase();
    const hit = this.exact.get(name);
    if (hit) return hit;
    const dot = name.indexOf('.');
    return dot === -1 ? undefined : this.wildcard.get(name.slice(dot + 1));
  }
}

/**
 * The certificates of one TLS bind: the bind's own (cert/key) and every `certificates`
 * entry, indexed by name, re-read when a file or directory changes (checked every
 * `interval` ms by stat). A failed reload keeps the previous set and logs why.
 */
export class CertificateStore {
  readonly #entries: string[];
  readonly #defaultPair: { cert: string; key: string };
  readonly #options: tls.SecureContextOptions;
  readonly #logger: Logger;
  #index: CertificateIndex = new CertificateIndex();
  #signature = '';
  #timer: NodeJS.Timeout | null = null;
  /** Reloads that took effect, for observability and tests. */
  reloads = 0;

  constructor(bind: TlsBindConfig, entries: string[], defaultPair: { cert: string; key: string }, ca: Buffer | null, logger: Logger) {
    this.#entries = entries;
    this.#defaultPair = defaultPair;
    this.#logger = logger;
    this.#options = {
      minVersion: bind.minVersion ?? TLS_DEFAULTS.minVersion,
      ciphers: bind.ciphers ?? TLS_DEFAULTS.ciphers,
      honorCipherOrder: true,
      ...(ca ? { ca } : {}),
    };
  }

  get index(): CertificateIndex {
    return this.#index;
  }

  /** Loads everything now; throws a coded error (start-up must fail loudly). */
  load(): void {
    const files = this.#files();
    this.#signature = this.#signatureOf(files);
    this.#index = this.#build(files);
  }

  #files(): string[] {
    const files: string[] = [];
    for (const e of this.#entries) {
      try {
        files.push(...expandEntry(e));
      } catch (err) {
        throw TlsErrors.CERT_LOAD.with({ cause: err }, e, (err as Error).message);
      }
    }
    return files;
  }

  #build(files: string[]): CertificateIndex {
    const index = new CertificateIndex();
    for (const f of files) index.add(loadCertificate(f, this.#options));
    const { cert, key } = this.#defaultPair;
    try {
      const pem = fs.readFileSync(cert, 'latin1');
      const leaf = new X509Certificate(pem);
      index.add({
        file: cert,
        names: certificateNames(leaf),
        subject: leaf.subject.replace(/\n/g, ', '),
        validTo: leaf.validTo,
        context: tls.createSecureContext({ ...this.#options, cert: pem, key: fs.readFileSync(key) }),
      });
    } catch (err) {
      throw TlsErrors.CERT_LOAD.with({ cause: err }, cert, (err as Error).message);
    }
    return index;
  }

  /** Every file and directory that matters, with what stat says about it. */
  #signatureOf(files: string[]): string {
    const parts: string[] = [];
    const stamp = (f: string): void => {
      try {
        const st = fs.statSync(f);
        parts.push(`${f}:${st.mtimeMs}:${st.size}:${st.ino}`);
      } catch {
        parts.push(`${f}:missing`);
      }
    };
    for (const e of this.#entries) stamp(e);
    for (const f of files) {
      stamp(f);
      for (const k of keyFileFor(f)) if (fs.existsSync(k)) stamp(k);
    }
    stamp(this.#defaultPair.cert);
    stamp(this.#defaultPair.key);
    return parts.join('|');
  }

  /** Re-reads when anything changed; returns true when a new set took effect. */
  check(): boolean {
    let files: string[];
    try {
      files = this.#files();
    } catch (err) {
      this.#logger.warn({ err }, 'certificate reload failed; keeping the current certificates');
      return false;
    }
    const sig = this.#signatureOf(files);
    if (sig === this.#signature) return false;
    try {
      const index = this.#build(files);
      this.#index = index;
      this.#signature = sig;
      this.reloads++;
      this.#logger.info({ certificates: index.certificates.map((c) => ({ file: c.file, names: c.names, validTo: c.validTo })) }, 'certificates reloaded');
      return true;
    } catch (err) {
      // A half-written file (key and cert renewed one after the other) fails now and loads next time.
      this.#logger.warn({ err }, 'certificate reload failed; keeping the current certificates');
      return false;
    }
  }

  watch(interval: number): void {
    if (interval <= 0 || this.#timer) return;
    this.#timer = setInterval(() => this.check(), interval);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
