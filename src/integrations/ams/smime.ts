/**
 * S/MIME as SSM does it, through the system's `openssl` (SSM shells out to the
 * same commands): sign with `-text` (multipart/signed), encrypt to a recipient
 * certificate, decrypt with fedledger's own, and verify a signature against a
 * directory of trusted CAs, returning the content and the signer's DN in the
 * slash form GOCDB's HOSTDN uses (`/C=../O=../CN=..`).
 */
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../errors.ts';

/** A certificate and its private key, as PEM files. */
export interface Credentials {
  certificate: string;
  key: string;
}

export type SmimeFailure =
  'SMIME_SIGN_FAILED' | 'SMIME_ENCRYPT_FAILED' | 'SMIME_DECRYPT_FAILED' | 'SMIME_BAD_SIGNATURE';

export class SmimeError extends UserError {
  constructor(
    code: SmimeFailure | 'OPENSSL_MISSING',
    readonly detail: string,
  ) {
    super(code, detail);
  }
}

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function openssl(args: readonly string[], input: string | Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new SmimeError('OPENSSL_MISSING', 'the openssl command is not installed (S/MIME needs it)')
          : error,
      ),
    );
    child.on('close', (code) =>
      resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }),
    );
    // openssl may exit before reading all of a bad input; that shows in its exit code, not as EPIPE here.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/**
 * What OpenSSL said went wrong: its summary line and the reason of each error-stack entry
 * (`…:error:code:library:function:reason:file:line:detail`), e.g. `Verification failure (certificate verify
 * error: Verify error: unable to get local issuer certificate)`.
 */
export function opensslReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const reasons = lines.flatMap((l) => {
    const m = /:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):[^:]*:\d+:(.*)$/.exec(l);
    return m ? [`${m[1]}${m[2] ? `: ${m[2]}` : ''}`] : [];
  });
  const summary = lines.find((l) => !/:error:/.test(l)) ?? 'openssl failed';
  return reasons.length ? `${summary} (${reasons.join('; ')})` : summary;
}

async function run(code: SmimeFailure, args: readonly string[], input: string | Buffer): Promise<Buffer> {
  const result = await openssl(args, input);
  if (result.code !== 0) throw new SmimeError(code, opensslReason(result.stderr));
  return result.stdout;
}

/** Signs `text` with fedledger's certificate as SSM does (`openssl smime -sign -text`). */
export async function signSmime(text: string, own: Credentials): Promise<string> {
  const out = await run(
    'SMIME_SIGN_FAILED',
    ['smime', '-sign', '-inkey', own.key, '-signer', own.certificate, '-text'],
    text,
  );
  return out.toString('utf8');
}

/** Encrypts a (signed) message to a recipient's certificate, AES-128 as SSM's default. */
export async function encryptSmime(text: string, recipientCertificate: string): Promise<string> {
  const out = await run('SMIME_ENCRYPT_FAILED', ['smime', '-encrypt', '-aes128', recipientCertificate], text);
  return out.toString('utf8');
}

/** SSM's own test for an encrypted message. */
export const isEncrypted = (text: string) => /application\/(x-)?pkcs7-mime/.test(text);

export async function decryptSmime(text: string, own: Credentials): Promise<string> {
  const out = await run(
    'SMIME_DECRYPT_FAILED',
    ['smime', '-decrypt', '-recip', own.certificate, '-inkey', own.key],
    `${text}\n\n`,
  );
  return out.toString('utf8');
}

/**
 * A certificate's subject as `/C=../O=../CN=..`, the form SSM and GOCDB's HOSTDN use: values as they are, without
 * the RFC 2253 escapes (`\,`) Node's one-entry-a-line form puts in.
 */
export function slashDn(pem: string): string {
  return new X509Certificate(pem).subject
    .split('\n')
    .filter((rdn) => rdn !== '')
    .map((rdn) => `/${rdn.replace(/\\(.)/g, '$1')}`)
    .join('');
}

export interface VerifiedMessage {
  /** The signed content, its MIME header removed and line ends made LF. */
  content: string;
  signerDn: string;
}

/** The content of `openssl smime -verify`'s output: the MIME part's body, decoded as its header says. */
function mimeBody(output: string): string {
  const text = output.replaceAll('\r\n', '\n');
  const blank = text.indexOf('\n\n');
  // `-text` signing adds a `Content-Type: text/plain` header; a sender without it signs the bare content.
  if (blank < 0 || !/^content-/i.test(text)) return text;
  const header = text.slice(0, blank);
  const body = text.slice(blank + 2);
  if (/content-transfer-encoding:\s*base64/i.test(header)) return Buffer.from(body, 'base64').toString('utf8');
  if (/content-transfer-encoding:\s*quoted-printable/i.test(header))
    return Buffer.from(
      body
        .replace(/=\n/g, '')
        .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      'latin1',
    ).toString('utf8');
  return body;
}

/**
 * Verifies a signed message against the CAs in `trustedCaDir` (OpenSSL's hashed `-CApath` layout, as
 * /etc/grid-security/certificates) and nothing else. Any certificate purpose is accepted: SSM publishers sign
 * with host certificates, which are not S/MIME certificates. With `checkCrls`, a CA without a CRL in the directory
 * fails every signature it issued, as in SSM.
 */
export async function verifySmime(
  text: string,
  trustedCaDir: string,
  options: { checkCrls?: boolean } = {},
): Promise<VerifiedMessage> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-smime-'));
  try {
    const signer = path.join(dir, 'signer.pem');
    const out = await run(
      'SMIME_BAD_SIGNATURE',
      [
        ...[
          'smime',
          '-verify',
          '-CApath',
          trustedCaDir,
          '-no-CAfile',
          '-no-CAstore',
          '-purpose',
          'any',
          '-signer',
          signer,
        ],
        // The CRLs in the same directory (fetch-crl's `<hash>.r0`), for every certificate of the chain, as SSM's check_crls.
        ...(options.checkCrls ? ['-crl_check_all'] : []),
      ],
      `${text}\n\n`,
    );
    return { content: mimeBody(out.toString('utf8')), signerDn: slashDn(readFileSync(signer, 'utf8')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The DN a message claims to be signed by, whether or not the signature holds (for the quarantine's record). */
export async function claimedSigner(text: string): Promise<string | null> {
  const pkcs7 = await openssl(['smime', '-pk7out'], `${text}\n\n`);
  if (pkcs7.code !== 0) return null;
  const certs = await openssl(['pkcs7', '-print_certs'], pkcs7.stdout);
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(certs.stdout.toString('utf8'));
  if (certs.code !== 0 || !pem) return null;
  try {
    return slashDn(pem[0]);
  } catch {
    return null;
  }
}

/** The installed OpenSSL's version line; throws OPENSSL_MISSING when there is none. */
export async function opensslVersion(): Promise<string> {
  const result = await openssl(['version'], '');
  return result.stdout.toString('utf8').trim();
}
