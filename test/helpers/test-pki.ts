// A test certificate authority made at test time with Debian's `openssl` CLI: the same commands
// the README gives operators (README "Running it on a real network"), so the tests exercise
// certificates as an operator would make them. EC P-256 keys: quick to make, and every client
// in the tests (Node, Mosquitto, Chromium) speaks them.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const OPENSSL = '/usr/bin/openssl';
export const haveOpenssl = existsSync(OPENSSL);

/** Says loudly, once per file, that a test is skipped for want of a Debian package. */
export function warnMissing(tool: string, pkg: string, what: string): void {
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPING ${what}: ${tool} is missing.\n!! Install Debian's ${pkg} (apt-get install -y ${pkg}; .ci/run does) to run it.\n${'!'.repeat(78)}\n`);
}

export interface CertFiles {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 of the certificate, colon-separated upper-case hex. */
  readonly fingerprint256: string;
  /** SHA-256 of its public key (SubjectPublicKeyInfo), base64: what Chromium's SPKI pin takes. */
  readonly spkiSha256Base64: string;
}

export interface IssueOptions {
  readonly cn: string;
  /** Server certificate for localhost and 127.0.0.1 (else a client certificate). */
  readonly server?: boolean;
  /** Validity in days; -1 makes a certificate that has already expired. */
  readonly days?: number;
  /** File stem; defaults to the CN. Re-issuing under the same stem overwrites the files. */
  readonly name?: string;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function describe(cert: string, key: string, cwd: string): CertFiles {
  const x509 = new X509Certificate(readFileSync(cert));
  const spki = execFileSync(OPENSSL, ['pkey', '-in', key, '-pubout', '-outform', 'DER'], { cwd });
  const digest = execFileSync(OPENSSL, ['dgst', '-sha256', '-binary'], { cwd, input: spki });
  return { cert, key, fingerprint256: x509.fingerprint256, spkiSha256Base64: digest.toString('base64') };
}

export class TestCa {
  readonly files: CertFiles;

  constructor(readonly dir: string, readonly name: string) {
    const cert = join(dir, `${name}.pem`);
    const key = join(dir, `${name}.key`);
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
    this.files = describe(cert, key, dir);
  }

  /** A certificate signed by this CA, as `openssl req` + `openssl x509 -req` make it. */
  issue(options: IssueOptions): CertFiles {
    const stem = options.name ?? options.cn;
    const key = join(this.dir, `${stem}.key`);
    const csr = join(this.dir, `${stem}.csr`);
    const cert = join(this.dir, `${stem}.pem`);
    const ext = join(this.dir, `${stem}.ext`);
    writeFileSync(ext, options.server === true
      ? 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n'
      : 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${options.cn}`], this.dir);
    openssl(['x509', '-req', '-in', csr, '-CA', this.files.cert, '-CAkey', this.files.key, '-CAcreateserial', '-days', String(options.days ?? 30), '-extfile', ext, '-out', cert], this.dir);
    return describe(cert, key, this.dir);
  }
}
