import path from 'node:path';
import { C2CError, exec } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { isLoopbackHost } from '../images/index.js';
import type { Registry } from '../registry/index.js';
import {
  BUNDLE_MEDIA_TYPE,
  COSIGN_SIGN_PREDICATE,
  checkBundle,
  signStatement,
  statementFor,
  type Bundle,
} from './bundle.js';
import type { Signer, Verifier } from './keys.js';
import { keylessCheck, keylessSign, type IdentityVerifier, type KeylessSigner } from './keyless.js';
import { artifactContent, attach, referrersOf, type Subject } from './referrers.js';

/** SPDX 2.3 JSON, as syft writes it (`-o spdx-json`), and its predicate type in an attestation. */
export const SPDX_MEDIA_TYPE = 'application/spdx+json';
export const SPDX_PREDICATE = 'https://spdx.dev/Document';
/** SLSA provenance v1 (https://slsa.dev/spec/v1.0/provenance) as an in-toto statement. */
export const SLSA_PREDICATE = 'https://slsa.dev/provenance/v1';
export const IN_TOTO_MEDIA_TYPE = 'application/vnd.in-toto+json';

/** What a build was made from, for its provenance (buildDefinition and runDetails). */
export interface ProvenanceFacts {
  /** Who built it: the run's URL on GitHub, else c2c on its host. */
  builderId: string;
  invocationId?: string;
  /** The source: repository URL and commit. */
  repository?: string;
  commit?: string;
  dockerfile: string;
  context: string;
  target?: string;
  platforms?: string[];
  /** Build argument names (never values: they may be secret). */
  buildArgNames: string[];
  /** The base images, pinned (repository@sha256:…), when known. */
  baseImages?: string[];
  startedOn: string;
  finishedOn: string;
}

/**
 * The provenance facts of one build, from what the caller knows: who ran it (the run's URL, else c2c
 * on this host), the source, the build's inputs (argument names only) and its base (the BASE_IMAGE
 * argument), timed by the build's duration up to `now`.
 */
export function buildFacts(b: {
  runUrl?: string;
  source?: string;
  revision?: string;
  /** How the context is named in the provenance (`services: api`, `app`). */
  context: string;
  contextDir: string;
  dockerfile: string;
  target?: string;
  platforms: string[];
  buildArgs: Array<[string, string]>;
  durationMs: number;
  now: number;
}): ProvenanceFacts {
  return {
    builderId: b.runUrl ?? `c2c (${process.env.HOSTNAME ?? 'local'})`,
    ...(b.source ? { repository: b.source } : {}),
    ...(b.revision ? { commit: b.revision } : {}),
    dockerfile: path.relative(b.contextDir, b.dockerfile) || b.dockerfile,
    context: b.context,
    ...(b.target ? { target: b.target } : {}),
    ...(b.platforms.length ? { platforms: b.platforms } : {}),
    buildArgNames: b.buildArgs.map(([k]) => k),
    baseImages: b.buildArgs.filter(([k]) => k === 'BASE_IMAGE').map(([, v]) => v),
    startedOn: new Date(b.now - b.durationMs).toISOString(),
    finishedOn: new Date(b.now).toISOString(),
  };
}

export interface AttestOptions {
  /** `sign-key`: the image digest is signed (a Sigstore bundle, as `cosign sign` writes it). */
  signer?: Signer | KeylessSigner;
  /** `sbom`: an SPDX SBOM made by syft (`syft` on PATH, or this path) is attached. */
  sbom?: { syft: string };
  /** `provenance`: a SLSA v1 provenance statement is attached. */
  provenance?: ProvenanceFacts;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

export interface Attested {
  signature?: string;
  sbom?: string;
  provenance?: string;
}

async function subjectOf(reg: Registry, repository: string, digest: string): Promise<Subject> {
  const info = await reg.head(repository, digest);
  if (!info)
    throw new C2CError(`${reg.host}/${repository}@${digest} is not in the registry: nothing to sign`);
  return { repository, digest, mediaType: info.mediaType, size: info.size };
}

/**
 * After a push: attaches the SBOM and the provenance (signed as attestations when there is a key,
 * else as plain statements) and the signature, each an OCI referrer of the image digest.
 */
export async function attestImage(
  reg: Registry,
  repository: string,
  digest: string,
  o: AttestOptions,
): Promise<Attested> {
  const subject = await subjectOf(reg, repository, digest);
  const ref = `${reg.host}/${repository}@${digest}`;
  const out: Attested = {};
  const signer = o.signer;
  const bundleOf = (predicateType: string, predicate: unknown = {}) => {
    const statement = statementFor(digest, predicateType, predicate);
    return 'keyless' in signer! ? keylessSign(statement) : signStatement(statement, signer!);
  };
  const put = async (predicateType: string, predicate: unknown, plainType: string, plain: Buffer) => {
    if (signer) {
      const bundle = await bundleOf(predicateType, predicate);
      return attach(reg, subject, BUNDLE_MEDIA_TYPE, Buffer.from(JSON.stringify(bundle), 'utf8'), {
        'dev.sigstore.bundle.content': 'dsse-envelope',
        'dev.sigstore.bundle.predicateType': predicateType,
      });
    }
    return attach(reg, subject, plainType, plain);
  };
  if (o.sbom) {
    const spdx = await syftSbom(reg, ref, o.sbom, o.logger, o.env);
    out.sbom = await put(SPDX_PREDICATE, JSON.parse(spdx.toString('utf8')), SPDX_MEDIA_TYPE, spdx);
    o.logger.info(`${ref}: SBOM (SPDX, by syft) attached as ${out.sbom}${signer ? ', signed' : ''}`);
  }
  if (o.provenance) {
    const predicate = slsaPredicate(o.provenance, ref);
    const plain = Buffer.from(JSON.stringify(statementFor(digest, SLSA_PREDICATE, predicate)), 'utf8');
    out.provenance = await put(SLSA_PREDICATE, predicate, IN_TOTO_MEDIA_TYPE, plain);
    o.logger.info(`${ref}: SLSA provenance attached as ${out.provenance}${signer ? ', signed' : ''}`);
  }
  if (signer) {
    const bundle = await bundleOf(COSIGN_SIGN_PREDICATE);
    out.signature = await attach(
      reg,
      subject,
      BUNDLE_MEDIA_TYPE,
      Buffer.from(JSON.stringify(bundle), 'utf8'),
      {
        'dev.sigstore.bundle.content': 'dsse-envelope',
        'dev.sigstore.bundle.predicateType': COSIGN_SIGN_PREDICATE,
      },
    );
    o.logger.info(`${ref}: signed with ${signer.describe} (Sigstore bundle ${out.signature})`);
  }
  return out;
}

function slsaPredicate(f: ProvenanceFacts, ref: string): unknown {
  return {
    buildDefinition: {
      buildType: 'https://commit-to-cloud.dev/build/container/v1',
      externalParameters: {
        ...(f.repository
          ? { source: { uri: f.repository, ...(f.commit ? { digest: { gitCommit: f.commit } } : {}) } }
          : {}),
        dockerfile: f.dockerfile,
        context: f.context,
        ...(f.target ? { target: f.target } : {}),
        ...(f.platforms?.length ? { platforms: f.platforms } : {}),
        buildArgs: f.buildArgNames,
      },
      resolvedDependencies: [
        ...(f.repository && f.commit
          ? [{ uri: `git+${f.repository}`, digest: { gitCommit: f.commit } }]
          : []),
        ...(f.baseImages ?? []).map((b) => {
          const at = b.indexOf('@sha256:');
          return at > 0
            ? { uri: `oci://${b.slice(0, at)}`, digest: { sha256: b.slice(at + 8) } }
            : { uri: `oci://${b}` };
        }),
      ],
    },
    runDetails: {
      builder: { id: f.builderId },
      metadata: {
        ...(f.invocationId ? { invocationId: f.invocationId } : {}),
        startedOn: f.startedOn,
        finishedOn: f.finishedOn,
      },
      byproducts: [{ name: 'image', uri: `oci://${ref}` }],
    },
  };
}

/** syft's SPDX document of the pushed image, read from the registry. */
async function syftSbom(
  reg: Registry,
  ref: string,
  o: NonNullable<AttestOptions['sbom']>,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Buffer> {
  const creds = await reg.credentials();
  const r = await exec(o.syft, ['scan', `registry:${ref}`, '-o', 'spdx-json', '-q'], {
    logger,
    env: {
      ...env,
      SYFT_CHECK_FOR_APP_UPDATE: 'false',
      ...(reg.insecure && isLoopbackHost(reg.host) ? { SYFT_REGISTRY_INSECURE_USE_HTTP: 'true' } : {}),
      ...(creds
        ? {
            SYFT_REGISTRY_AUTH_AUTHORITY: reg.endpointHost,
            SYFT_REGISTRY_AUTH_USERNAME: creds.username,
            SYFT_REGISTRY_AUTH_PASSWORD: creds.password,
          }
        : {}),
    },
    installHint:
      'install syft (https://github.com/anchore/syft; on GitHub runners: uses: anchore/sbom-action/download-syft@v0)',
    timeoutMs: 15 * 60_000,
  });
  try {
    JSON.parse(r.stdout);
  } catch {
    throw new C2CError(
      `syft gave no SPDX JSON for ${ref}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`,
    );
  }
  return Buffer.from(r.stdout, 'utf8');
}

/** cosign v2's signatures: the tag sha256-<hex>.sig, one simple-signing layer per signature. */
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

/**
 * Whether the image digest carries a valid signature by the key: a Sigstore bundle among its
 * referrers (cosign v3, this suite), or a cosign v2 signature under its `.sig` tag. Undefined when it
 * does, else what was found and why none counts.
 */
export async function checkSignature(
  reg: Registry,
  repository: string,
  digest: string,
  verifier: Verifier | IdentityVerifier,
): Promise<string | undefined> {
  const why: string[] = [];
  const byIdentity = 'identity' in verifier;
  for (const m of await referrersOf(reg, repository, digest, BUNDLE_MEDIA_TYPE)) {
    const predicate = m.annotations?.['dev.sigstore.bundle.predicateType'];
    if (predicate && predicate !== COSIGN_SIGN_PREDICATE) continue; // an attestation, not a signature
    let bundle: Bundle;
    try {
      bundle = JSON.parse((await artifactContent(reg, repository, m.digest)).toString('utf8')) as Bundle;
    } catch {
      why.push(`${m.digest}: not a bundle`);
      continue;
    }
    const bad = byIdentity
      ? await keylessCheck(bundle, verifier, digest, COSIGN_SIGN_PREDICATE)
      : await checkBundle(bundle, verifier, digest);
    if (!bad) return undefined;
    why.push(`bundle ${m.digest}: ${bad}`);
  }
  const legacy = `${digest.replace(':', '-')}.sig`;
  if (!byIdentity && (await reg.head(repository, legacy))) {
    const { json } = await reg.getManifest(repository, legacy);
    for (const layer of (json?.layers ?? []) as {
      mediaType?: string;
      digest: string;
      annotations?: Record<string, string>;
    }[]) {
      const sig = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
      if (layer.mediaType !== SIMPLE_SIGNING || !sig) continue;
      const payload = await reg.getBlob(repository, layer.digest);
      if (!(await verifier.verify(payload, Buffer.from(sig, 'base64')))) {
        why.push(`cosign signature ${layer.digest}: does not verify with ${verifier.describe}`);
        continue;
      }
      try {
        const claims = JSON.parse(payload.toString('utf8')) as {
          critical?: { image?: Record<string, string> };
        };
        if (claims.critical?.image?.['docker-manifest-digest'] === digest) return undefined;
        why.push(
          `cosign signature ${layer.digest}: signed for ${claims.critical?.image?.['docker-manifest-digest']}`,
        );
      } catch {
        why.push(`cosign signature ${layer.digest}: its payload is not JSON`);
      }
    }
  }
  return why.length
    ? why.join('; ')
    : 'no signature at all (no Sigstore bundle among its referrers, no cosign .sig tag)';
}

/** The message of a failed check, for a caller that wraps several. */
export function signatureProblem(image: string, why: string): string {
  return `${image}: not signed by the verify-key: ${why}`;
}
