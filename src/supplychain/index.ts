// The face of src/supplychain: signing, SBOMs and provenance of pushed images, and the check of
// signatures before a deploy (Sigstore bundles as OCI referrers, as cosign v3 writes them).
export { loadSigner, loadVerifier, keyHint, type Signer, type Verifier, type KeySource } from './keys.js';
export {
  BUNDLE_MEDIA_TYPE,
  COSIGN_SIGN_PREDICATE,
  checkBundle,
  signStatement,
  statementFor,
  type Bundle,
  type Statement,
} from './bundle.js';
export { attach, referrersOf, referrersTag, artifactContent } from './referrers.js';
export {
  attestImage,
  buildFacts,
  checkSignature,
  signatureProblem,
  SPDX_MEDIA_TYPE,
  SPDX_PREDICATE,
  SLSA_PREDICATE,
  IN_TOTO_MEDIA_TYPE,
  type AttestOptions,
  type Attested,
  type ProvenanceFacts,
} from './images.js';
export {
  readAttest,
  readVerifyKey,
  syftFor,
  attestPushed,
  SYFT_INSTALL_HINT,
  type AttestPlan,
} from './plan.js';
export { KEYLESS, GITHUB_ISSUER, type IdentityVerifier, type KeylessSigner } from './keyless.js';
