import type { Logger } from '../core/index.js';
import {
  registerSecrets,
  resolveBuilds,
  substituteAll,
  type ImageTarget,
  type ImageWork,
} from './images/index.js';
import type { DeployOptions } from './inputs.js';
import { readAttest, readVerifyKey } from '../supplychain/index.js';
import { loadManifests, type KubeCapabilities, type Manifest } from './manifests/index.js';

/**
 * The set a deploy sends, read and checked without a cluster: the manifests read (files, globs,
 * kustomize rendered once), validated, and their images substituted (every image entry matched to
 * a container, the images to build named: the build-context one, or each service's, hashed). A caller may change the objects before deploying them
 * (feature environments rewrite their Ingress hosts); a prepared set is deployed once (the deploy
 * gives its objects their namespace and annotations).
 */
export interface PreparedSet {
  readonly manifests: Manifest[];
  /** The objects whose images were substituted, with where they came from (pinning comes later). */
  readonly targets: ImageTarget[];
  readonly work: ImageWork;
}

export async function prepareDeploy(
  opts: DeployOptions,
  ctx: { logger: Logger; capabilities?: KubeCapabilities },
): Promise<PreparedSet> {
  const { logger } = ctx;
  registerSecrets(opts, logger);
  const manifests = await logger.group('Read manifests', () =>
    loadManifests(opts.manifests, {
      workspace: opts.workspace,
      logger,
      ...(opts.chart ? { chart: opts.chart } : {}),
      ...(ctx.capabilities ? { capabilities: ctx.capabilities } : {}),
    }),
  );
  const targets = manifests.map((m) => ({ object: m.object, file: m.file, line: m.line }));
  const builds = await resolveBuilds(opts, logger);
  const work = substituteAll(opts, builds, targets, logger);
  // The keys are read now: a wrong password or an unreadable KMS key fails before anything is built.
  const attest = builds.length ? await readAttest(opts.attest, { workspace: opts.workspace }) : undefined;
  const verifier = await readVerifyKey(opts.verifyKey, { workspace: opts.workspace });
  return {
    manifests,
    targets,
    work: { ...work, ...(attest ? { attest } : {}), ...(verifier ? { verifier } : {}) },
  };
}
