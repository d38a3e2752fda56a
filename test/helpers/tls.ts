import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** A self-signed RSA certificate made with the openssl CLI (argument array, no shell) in `dir`. */
export function selfSignedCert(
  dir: string,
  opts: { cn: string; san?: string; days?: number },
): { keyPath: string; certPath: string; cert: string } {
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      String(opts.days ?? 2),
      '-subj',
      `/CN=${opts.cn}`,
      ...(opts.san ? ['-addext', `subjectAltName=${opts.san}`] : []),
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'ignore' },
  );
  return { keyPath, certPath, cert: readFileSync(certPath, 'utf8') };
}
