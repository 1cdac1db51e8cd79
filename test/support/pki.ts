/**
 * A throwaway PKI made with the system's openssl at test time: a trusted CA
 * (in a hashed -CApath directory), certificates it issues, and a second,
 * untrusted CA. Nothing here is checked in; the directory is removed after.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './tmp.ts';

export interface Issued {
  certificate: string;
  key: string;
  dn: string;
}

export interface TestPki {
  dir: string;
  /** The hashed directory holding only the trusted CA. */
  trustedCaDir: string;
  /** A certificate issued by the trusted CA for `subject` (`/C=../O=../CN=..`). */
  issue(name: string, subject: string): Issued;
  /** A certificate for `subject` issued by a CA that is not in `trustedCaDir`. */
  issueUntrusted(name: string, subject: string): Issued;
  /** Revokes certificates of the trusted CA and puts its CRL (listing them) into `trustedCaDir`, as fetch-crl does. */
  publishCrl(revoked: readonly Issued[]): void;
  cleanup(): void;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });

function makeCa(dir: string, name: string): { certificate: string; key: string } {
  const key = path.join(dir, `${name}.key`);
  const certificate = path.join(dir, `${name}.pem`);
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', certificate, '-days', '2'].concat([
      '-subj',
      `/DC=org/DC=example/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]),
  );
  return { certificate, key };
}

function issueWith(dir: string, ca: { certificate: string; key: string }, name: string, subject: string): Issued {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const certificate = path.join(dir, `${name}.pem`);
  const ext = path.join(dir, `${name}.ext`);
  // A host certificate, as SSM publishers have: TLS purposes, no S/MIME one.
  writeFileSync(
    ext,
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.certificate,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    certificate,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return { certificate, key, dn: subject };
}

export function makeTestPki(): TestPki {
  const { dir, cleanup } = tempDir('fedledger-pki-');
  const trustedCaDir = path.join(dir, 'trusted');
  mkdirSync(trustedCaDir);
  const ca = makeCa(trustedCaDir, 'test-ca');
  openssl(['rehash', trustedCaDir]);
  const rogue = makeCa(dir, 'rogue-ca');
  return {
    dir,
    trustedCaDir,
    issue: (name, subject) => issueWith(dir, ca, name, subject),
    issueUntrusted: (name, subject) => issueWith(dir, rogue, name, subject),
    publishCrl(revoked) {
      const db = path.join(dir, 'ca-db');
      mkdirSync(db, { recursive: true });
      writeFileSync(path.join(db, 'index.txt'), '');
      writeFileSync(path.join(db, 'crlnumber'), '01\n');
      const config = path.join(db, 'ca.cnf');
      writeFileSync(
        config,
        `[ca]\ndefault_ca = test\n[test]\ndatabase = ${path.join(db, 'index.txt')}\ncrlnumber = ${path.join(db, 'crlnumber')}\n` +
          `certificate = ${ca.certificate}\nprivate_key = ${ca.key}\ndefault_md = sha256\ndefault_crl_days = 2\n`,
      );
      for (const cert of revoked) openssl(['ca', '-config', config, '-revoke', cert.certificate]);
      openssl(['ca', '-config', config, '-gencrl', '-out', path.join(trustedCaDir, 'test-ca.crl.pem')]);
      openssl(['rehash', trustedCaDir]);
    },
    cleanup,
  };
}
