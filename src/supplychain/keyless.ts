import { InputError, errorMessage } from '../core/index.js';
import { IN_TOTO_PAYLOAD_TYPE, statementOf, type Bundle, type Statement } from './bundle.js';

/**
 * Keyless signing and verification by identity, against Sigstore's public instance, with
 * sigstore-js (the Sigstore project's own client, loaded only when asked for):
 * - `sign-key: sigstore`: the job's GitHub OIDC token (permissions `id-token: write`) is exchanged at
 *   Fulcio (fulcio.sigstore.dev) for a short-lived certificate naming the workflow, the statement is
 *   signed with an ephemeral key, and the signature is logged in Rekor (rekor.sigstore.dev): the
 *   bundle carries the certificate and the log entry, as `cosign sign` (keyless) writes it.
 * - `verify-identity` (+ `verify-issuer`): the bundle's certificate must chain to Sigstore's root
 *   (fetched through TUF), its log entry must verify, and its identity (the workflow's URI, e.g.
 *   https://github.com/acme/shop/.github/workflows/deploy.yml@refs/heads/main) and issuer must be
 *   the ones given.
 * The tests cannot reach Sigstore: they run the key-based path; the README says so.
 */
export const KEYLESS = 'sigstore';
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

export interface KeylessSigner {
  keyless: true;
  describe: string;
}

export interface IdentityVerifier {
  identity: string;
  issuer: string;
  describe: string;
}

/** `sign-key: sigstore`: checked before anything is built (the OIDC token must be obtainable). */
export function keylessSigner(env: NodeJS.ProcessEnv = process.env): KeylessSigner {
  if (!env.ACTIONS_ID_TOKEN_REQUEST_URL || !env.ACTIONS_ID_TOKEN_REQUEST_TOKEN)
    throw new InputError(
      'sign-key',
      "is 'sigstore' (keyless), but this job has no GitHub OIDC token to sign with",
      "'permissions: id-token: write' in the workflow (and a run on GitHub Actions), or a key",
    );
  return { keyless: true, describe: 'Sigstore keyless (GitHub OIDC, Fulcio, Rekor)' };
}

export async function keylessSign(statement: Statement): Promise<Bundle> {
  const { attest } = await import('sigstore');
  return (await attest(
    Buffer.from(JSON.stringify(statement), 'utf8'),
    IN_TOTO_PAYLOAD_TYPE,
  )) as unknown as Bundle;
}

/** Undefined when the bundle verifies for the identity and is about `digest` with this predicate. */
export async function keylessCheck(
  bundle: Bundle,
  v: IdentityVerifier,
  digest: string,
  predicateType: string,
): Promise<string | undefined> {
  const { verify } = await import('sigstore');
  try {
    await verify(bundle as never, { certificateIdentityURI: v.identity, certificateIssuer: v.issuer });
  } catch (e) {
    return `not by ${v.describe}: ${errorMessage(e)}`;
  }
  return statementOf(bundle, digest, predicateType);
}
