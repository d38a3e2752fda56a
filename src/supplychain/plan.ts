import { ToolMissingError, which } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { AttestInputs, BuilderName } from '../builder/index.js';
import type { Registry } from '../registry/index.js';
import { attestImage, type Attested, type ProvenanceFacts } from './images.js';
import { loadSigner, loadVerifier, type Signer, type Verifier } from './keys.js';
import { KEYLESS, keylessSigner, type IdentityVerifier, type KeylessSigner } from './keyless.js';

/**
 * What goes with every image a run pushes, read and checked before anything is built: the key
 * loaded (a cosign key opened with its password, a KMS key's public half read), so that a wrong
 * password or a missing key fails the step before the first build.
 */
export interface AttestPlan {
  sbom: boolean;
  provenance: boolean;
  signer?: Signer | KeylessSigner;
}

export const SYFT_INSTALL_HINT =
  'install syft (https://github.com/anchore/syft; on GitHub runners: uses: anchore/sbom-action/download-syft@v0), or use the docker builder (buildx makes its own SBOM)';

export async function readAttest(
  inputs: AttestInputs | undefined,
  o: { workspace: string; env?: NodeJS.ProcessEnv },
): Promise<AttestPlan | undefined> {
  if (!inputs) return undefined;
  const signer = !inputs.signKey
    ? undefined
    : inputs.signKey.value === KEYLESS
      ? keylessSigner(o.env)
      : await loadSigner({
          input: 'sign-key',
          value: inputs.signKey.value,
          workspace: o.workspace,
          ...(inputs.signKey.password !== undefined ? { password: inputs.signKey.password } : {}),
          ...(o.env ? { env: o.env } : {}),
        });
  return { sbom: inputs.sbom, provenance: inputs.provenance, ...(signer ? { signer } : {}) };
}

/** The verifier of `verify-key` (a key) or of `verify-identity` (keyless, by identity); checked now. */
export async function readVerifyKey(
  value: string | { identity: string; issuer: string } | undefined,
  o: { workspace: string; env?: NodeJS.ProcessEnv },
): Promise<Verifier | IdentityVerifier | undefined> {
  if (!value) return undefined;
  if (typeof value !== 'string')
    return { ...value, describe: `the Sigstore identity ${value.identity} (issuer ${value.issuer})` };
  const v = await loadVerifier({
    input: 'verify-key',
    value,
    workspace: o.workspace,
    ...(o.env ? { env: o.env } : {}),
  });
  await v.publicKeyDer(); // a KMS key that cannot be read fails here, before anything
  return v;
}

/**
 * For a build about to run with `builder`: syft when buildah is to make the SBOM (docker buildx makes
 * its own). Throws before the build when it is missing.
 */
export async function syftFor(
  plan: AttestPlan | undefined,
  builder: BuilderName,
  env = process.env,
): Promise<string | undefined> {
  if (!plan?.sbom || builder !== 'buildah') return undefined;
  const syft = await which('syft', env.PATH ?? '');
  if (!syft) throw new ToolMissingError('syft', SYFT_INSTALL_HINT);
  return syft;
}

/**
 * After a push: what the plan asks for. docker buildx attached the SBOM and the provenance itself
 * (`--sbom`, `--provenance`); buildah's are made here. The signature either way.
 */
export async function attestPushed(
  plan: AttestPlan | undefined,
  reg: Registry,
  repository: string,
  digest: string,
  o: {
    builder: BuilderName;
    syft?: string;
    facts: () => ProvenanceFacts;
    logger: Logger;
    env?: NodeJS.ProcessEnv;
  },
): Promise<Attested | undefined> {
  if (!plan) return undefined;
  const own = o.builder === 'buildah';
  if (!plan.signer && !own) return undefined;
  return attestImage(reg, repository, digest, {
    ...(plan.signer ? { signer: plan.signer } : {}),
    ...(own && plan.sbom && o.syft ? { sbom: { syft: o.syft } } : {}),
    ...(own && plan.provenance ? { provenance: o.facts() } : {}),
    logger: o.logger,
    ...(o.env ? { env: o.env } : {}),
  });
}
