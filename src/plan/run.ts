import path from 'node:path';
import { C2CError, errorMessage } from '../core/index.js';
import {
  renderDeploy,
  runDeploy,
  type DeployContext,
  containersOf,
  kindOf,
  nameOf,
  namespaceOf,
  podSpecOf,
} from '../deploy/index.js';
import type { DeployOptions, EngineContext, ImageChange } from '../deploy/index.js';
import type { HashBaseOptions } from '../baseimage/index.js';
import { runHashBase, type HashBaseResult } from '../baseimage/index.js';
import { formatReference } from '../images/index.js';
import { KubeApiError, KubeClient, connect, type KubeConnection, type KubeObject } from '../kube/index.js';

/**
 * The engine of `c2c plan`: what a pipeline run (hash-base, then deploy) would do, changing nothing
 * anywhere. Its steps:
 * 1. the base image: the hash of the dependency files and whether the registry has that base
 *    (hash-base with build false: one HEAD, and which files changed since the previous base);
 * 2. the images and the manifests as the deploy would apply them, pinned to digests (renderDeploy
 *    without a build: the image a deploy would build stays at its tag unless it exists already);
 *    with `services`, each service's content tag and whether the registry has it (built or reused);
 * 3. the server-side diff when a cluster answers: the deploy engine's own dry run, whose plan lines
 *    say for each object created, configured or unchanged. No cluster: said, and skipped.
 */
export interface PlanOptions {
  /** hash-base's options (its `build` is ignored: a plan builds nothing); none: no base image. */
  hashBase?: HashBaseOptions;
  deploy: DeployOptions;
}

/** A plan's own: where hash-base's dry run writes its hash manifest. */
export interface PlanContext extends EngineContext {
  /** Where hash-base writes its hash manifest. */
  manifestDir: string;
}

export interface PlannedBase {
  hash: string;
  tag: string;
  imageRef: string;
  /** The registry has it: the pipeline skips the base build. */
  exists: boolean;
  digest: string;
  /** Why it exists or is to be built, in words. */
  reason: string;
  /** Files added, removed or changed since the previous base, when one was found. */
  changed: string[];
  previous?: string;
  filesCount: number;
  mode: string;
  /** hash-base's `build`: whether the pipeline would build it when it is missing. */
  wouldBuild: boolean;
}

export interface PlannedBuild {
  /** The service's name (for `build-context`, its directory's). */
  name: string;
  /** The build context, relative to the workspace. */
  context: string;
  /** repository:tag the deploy builds and pushes. */
  image: string;
  /** It exists for this revision (a service: for its content tag) already: the deploy reuses it (digest set). */
  exists: boolean;
  digest: string;
  /** BASE_IMAGE of the build: `base-image`, else the base of step 1. */
  baseImage?: string;
}

export interface PlannedImage {
  /** kind/namespace/name of the workload. */
  workload: string;
  container: string;
  /** The image as it would be applied. */
  image: string;
  /** What the manifest names, when the deploy replaces it. */
  from?: string;
}

export type PlannedDiff =
  | { status: 'done'; server: string; lines: string[] }
  | { status: 'skipped'; reason: string }
  | { status: 'refused'; server: string; reason: string }
  /** The cluster answers, and refuses the credentials (401) or even reading its version (403). */
  | { status: 'denied'; server: string; reason: string };

export interface PlanResult {
  base?: PlannedBase;
  /** The `build-context` build. */
  build?: PlannedBuild;
  /** With `services`: one per service. */
  services?: PlannedBuild[];
  images: PlannedImage[];
  changes: ImageChange[];
  /** The objects as they would be applied, in apply order, and as YAML documents. */
  objects: KubeObject[];
  yaml: string;
  diff: PlannedDiff;
}

export async function runPlan(opts: PlanOptions, ctx: PlanContext): Promise<PlanResult> {
  const { logger } = ctx;
  const base = opts.hashBase ? await planBase(opts.hashBase, ctx) : undefined;
  const deployCtx: DeployContext = {
    logger,
    ...(ctx.audit ? { audit: ctx.audit } : {}),
    ...(ctx.revision ? { revision: ctx.revision } : {}),
    ...(ctx.source ? { source: ctx.source } : {}),
    ...(ctx.kubeRetry ? { kubeRetry: ctx.kubeRetry } : {}),
  };
  const deploy = withPlannedBase(opts.deploy, base);
  const rendered = await renderDeploy(deploy, deployCtx, { build: false });
  const build = deploy.build;
  const plannedBuild: PlannedBuild | undefined = build
    ? {
        name: path.basename(build.context),
        context: path.relative(deploy.workspace, build.context) || '.',
        image: formatReference({ ...build.image, tag: build.tag }),
        exists: !!rendered.digest,
        digest: rendered.digest,
        ...baseImageOf(build.buildArgs, base),
      }
    : undefined;
  const services = deploy.services
    ? rendered.builds.map((b): PlannedBuild => ({
        name: b.name,
        context: path.relative(deploy.workspace, b.context) || '.',
        image: b.ref,
        exists: !!b.digest,
        digest: b.digest,
        ...baseImageOf(deploy.services!.buildArgs, base),
      }))
    : undefined;
  const diff = await planDiff(deploy, deployCtx, ctx.connection);
  return {
    ...(base ? { base } : {}),
    ...(plannedBuild ? { build: plannedBuild } : {}),
    ...(services ? { services } : {}),
    images: imagesOf(rendered.objects, rendered.changes),
    changes: rendered.changes,
    objects: rendered.objects,
    yaml: rendered.yaml,
    diff,
  };
}

async function planBase(opts: HashBaseOptions, ctx: PlanContext): Promise<PlannedBase> {
  const r: HashBaseResult = await runHashBase(
    { ...opts, build: false },
    {
      logger: ctx.logger,
      manifestDir: ctx.manifestDir,
      ...(ctx.revision ? { revision: ctx.revision } : {}),
    },
  );
  return {
    hash: r.hash,
    tag: r.tag,
    imageRef: r.imageRef,
    exists: !r.needsBuild,
    digest: r.digest,
    reason: r.reason,
    changed: r.changed,
    ...(r.previous ? { previous: r.previous } : {}),
    filesCount: r.filesCount,
    mode: r.mode,
    wouldBuild: opts.build,
  };
}

/**
 * The deploy as the pipeline runs it: a services build with no BASE_IMAGE of its own gets the
 * planned base's image-ref (what `--base-image "$BASE_IMAGE"` passes after hash-base), so that each
 * service's content tag, which hashes BASE_IMAGE, is the one the deploy will look for.
 */
function withPlannedBase(deploy: DeployOptions, base: PlannedBase | undefined): DeployOptions {
  const s = deploy.services;
  if (!s || !base?.imageRef || s.buildArgs.some(([k]) => k === 'BASE_IMAGE')) return deploy;
  return { ...deploy, services: { ...s, buildArgs: [...s.buildArgs, ['BASE_IMAGE', base.imageRef]] } };
}

function baseImageOf(buildArgs: Array<[string, string]>, base: PlannedBase | undefined) {
  const given = buildArgs.find(([k]) => k === 'BASE_IMAGE')?.[1];
  const baseImage = given || base?.imageRef;
  return baseImage ? { baseImage } : {};
}

/** Every container of every workload with the image it would run. */
function imagesOf(objects: KubeObject[], changes: ImageChange[]): PlannedImage[] {
  const out: PlannedImage[] = [];
  for (const o of objects) {
    const [kind, name, namespace] = [kindOf(o), nameOf(o), namespaceOf(o)];
    const workload = `${kind}/${namespace ? `${namespace}/` : ''}${name}`;
    for (const { list, container } of containersOf(podSpecOf(o))) {
      if (typeof container.image !== 'string') continue;
      const cname = String(container.name ?? '');
      const change = changes.find(
        (c) =>
          c.kind === kind &&
          c.name === name &&
          (c.namespace ?? '') === (namespace ?? '') &&
          c.container === cname &&
          c.list === list,
      );
      out.push({
        workload,
        container: cname,
        image: container.image,
        ...(change && change.from !== container.image ? { from: change.from } : {}),
      });
    }
  }
  return out;
}

/**
 * The server-side diff: the deploy engine's dry run (nothing is created, not even a namespace).
 * Skipped, and said why, when there is no cluster or it does not answer; `denied` when it answers
 * and refuses the credentials (a deploy with them would fail: not a cluster that is away);
 * `refused` when it rejects the set (the deploy would fail the same way).
 */
async function planDiff(
  opts: DeployOptions,
  ctx: DeployContext,
  given: KubeConnection | undefined,
): Promise<PlannedDiff> {
  const { logger } = ctx;
  let connection: KubeConnection;
  try {
    connection = given ?? (await connect(opts.cluster, { logger }));
  } catch (e) {
    return { status: 'skipped', reason: `no cluster: ${errorMessage(e)}` };
  }
  try {
    // A quick probe: a cluster that does not answer is a skipped diff, not a minute of retries.
    const probe = new KubeClient(connection, {
      logger,
      retry: { attempts: 2, baseDelayMs: 200, deadlineMs: 10_000 },
      timeoutMs: 10_000,
    });
    await probe.version();
  } catch (e) {
    if (e instanceof KubeApiError && (e.status === 401 || e.status === 403))
      return { status: 'denied', server: connection.server, reason: credentialsProblem(e, connection) };
    return {
      status: 'skipped',
      reason: `the cluster at ${connection.server} did not answer: ${errorMessage(e).split('\n')[0]}`,
    };
  }
  try {
    const r = await runDeploy({ ...opts, dryRun: true }, { ...ctx, connection });
    return { status: 'done', server: connection.server, lines: r.preflight };
  } catch (e) {
    if (!(e instanceof C2CError)) throw e;
    return { status: 'refused', server: connection.server, reason: errorMessage(e) };
  }
}

/** What a 401 or 403 of the probe says about the credentials, and where to look. */
function credentialsProblem(e: KubeApiError, c: KubeConnection): string {
  const where = `the cluster at ${c.server}${c.contextName ? ` (context '${c.contextName}')` : ''}`;
  return e.status === 401
    ? `${where} does not accept the credentials (HTTP 401 Unauthorized): the kubeconfig's token, client certificate or exec plugin is wrong or expired (${e.message})`
    : `${where} refuses these credentials even its version (HTTP 403 Forbidden): they may not use this cluster (${e.message})`;
}
