import { stringify as stringifyYaml } from 'yaml';
import { formatReference } from '../images/index.js';
import { applyNamespace } from './manifests/index.js';
import { prepareDeploy } from './prepare.js';
import { annotateObject } from './annotations.js';
import {
  describeChange,
  type ImageChange,
  buildImages,
  pinImages,
  reuseBuiltImages,
  theImage,
} from './images/index.js';
import type { KubeObject } from '../kube/index.js';
import { kindOf } from './objects.js';
import type { DeployOptions } from './inputs.js';
import type { DeployContext } from './types.js';
import { rank } from './kinds/index.js';

export interface RenderResult {
  /** The objects exactly as they would be applied, as YAML documents. */
  yaml: string;
  objects: KubeObject[];
  image: string;
  digest: string;
  changes: ImageChange[];
  /** With `build: false`: the image a deploy would build and push (repository:tag), left unpinned (the first, with several). */
  toBuild?: string;
  /** Every image to build: its name, where it goes (repository:tag), and its digest when known. */
  builds: Array<{ name: string; context: string; ref: string; digest: string }>;
}

/**
 * Everything of a deploy that needs no cluster: read the manifests, set the namespace, substitute
 * images, build and push (when `build-context` is set), pin digests, annotate. Returns the objects
 * as they would be applied; contacts no cluster. (Namespaced objects that name no namespace, with
 * the `namespace` input empty, stay without one: the kubeconfig's context decides at apply time.)
 * With `build: false` nothing is built or pushed either (a preview): the image to build stays at its
 * tag, unless it exists already for this revision (then it is pinned, as a deploy would reuse it).
 */
export async function renderDeploy(
  opts: DeployOptions,
  ctx: DeployContext,
  o: { build?: boolean } = {},
): Promise<RenderResult> {
  const { logger } = ctx;
  const { manifests, targets, work } = await prepareDeploy(opts, ctx);
  applyNamespace(manifests, opts.namespace ?? '');
  await pinImages(opts, targets, work, 'others', logger);
  const toBuild = await reuseBuiltImages(ctx, work);
  if (o.build !== false) await buildImages(ctx, work, toBuild, opts.services?.parallel ?? 1);
  if (work.builds.some((b) => b.digest)) await pinImages(opts, targets, work, 'built', logger);
  if (!opts.pinDigests) for (const c of work.changes) logger.info(describeChange(c));
  if (opts.annotate && ctx.audit) for (const t of targets) annotateObject(t.object, ctx.audit);
  const ordered = [...manifests].sort(
    (a, b) => rank(kindOf(a.object)) - rank(kindOf(b.object)) || a.index - b.index,
  );
  const objects = ordered.map((m) => m.object);
  const unbuilt = work.builds.find((b) => !b.digest);
  return {
    yaml: objects.map((o) => `---\n${stringifyYaml(o, { lineWidth: 0 })}`).join(''),
    objects,
    ...theImage(work),
    changes: work.changes,
    ...(unbuilt ? { toBuild: formatReference(unbuilt.ref) } : {}),
    builds: work.builds.map((b) => ({
      name: b.spec.name,
      context: b.spec.context,
      ref: formatReference(b.ref),
      digest: b.digest,
    })),
  };
}
