import { C2CError, errorMessage } from '../core/errors.js';
import { formatDuration } from '../core/inputs.js';
import type { Logger } from '../core/logger.js';
import {
  canonicalName,
  formatReference,
  isLoopbackHost,
  parseImageReference,
  type ImageReference,
} from '../images/reference.js';
import { connectRegistry, type Registry } from '../registry/index.js';
import { buildAndPush, resolveBuilder } from '../build/index.js';
import {
  KindNotServedError,
  KubeApiError,
  KubeClient,
  eksConnection,
  loadKubeconfig,
  rollback,
  type KubeConnection,
  type KubeObject,
  type ResourceInfo,
} from '../kube/index.js';
import { loadManifests, ManifestError, type Manifest } from './manifests.js';
import { applyNamespace } from './namespaces.js';
import { describeChange, pinDigests, substituteImages, type ImageChange } from './images.js';
import { annotateObject, templateUnchanged, type AuditInfo } from './annotations.js';
import { isWatchedKind, rolloutStatus, type RolloutStatus } from './rollout-status.js';
import { diagnose, podsForWorkload, type DiagnoseInput } from './diagnose.js';
import { renderDeploySummary, type WorkloadRow } from './summary.js';
import { containersOf, kindOf, podSpecOf, podTemplateOf, type K8sObject } from './objects.js';
import { stringify as stringifyYaml } from 'yaml';
import type { DeployOptions } from './inputs.js';
import type { RetryOptions } from '../core/retry.js';

/**
 * The engine of action-deploy-k8s: validate everything (manifests, kinds, namespaces, images, a
 * server-side dry run of the whole set), then build and push, apply, watch every rollout in
 * parallel, and on failure explain it and roll back what this run changed.
 */

/** Records the deploy on GitHub (a Deployment with statuses); the action passes the GitHub layer. */
export interface DeploymentRecorder {
  start(): Promise<{ id: number | string; url?: string }>;
  finish(id: number | string, state: 'success' | 'failure', description: string): Promise<void>;
}

export interface DeployContext {
  logger: Logger;
  audit?: AuditInfo;
  recorder?: DeploymentRecorder;
  /** A connection to use instead of resolving one from the options (tests, the CLI's --server). */
  connection?: KubeConnection;
  /** Revision and source for the OCI labels of a built image. */
  revision?: string;
  source?: string;
  now?: () => number;
  /** Retry policy of the Kubernetes requests (tests shorten it). */
  kubeRetry?: RetryOptions;
}

export type DeployResultKind = 'success' | 'failed' | 'rolled-back' | 'dry-run';

export interface DeployResult {
  result: DeployResultKind;
  image: string;
  digest: string;
  applied: string[];
  rolledBack: boolean;
  deploymentId: string;
  rows: WorkloadRow[];
  changes: ImageChange[];
  /** What a dry run would do, one line per object: "created|configured|unchanged kind/ns/name". */
  plan: string[];
  summary: string;
  /** Why it failed, when it did. */
  failure?: string;
  requestCount: number;
}

interface Item {
  manifest: Manifest;
  object: KubeObject;
  info: ResourceInfo;
  key: string;
  namespace?: string;
  live?: KubeObject;
  applied?: KubeObject;
  /** The pod template differs from what runs: this run starts a rollout. */
  templateChanged: boolean;
}

/** Kinds applied first (as kubectl does): what others live in or refer to. */
const ORDER = [
  'Namespace',
  'CustomResourceDefinition',
  'ServiceAccount',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'PersistentVolumeClaim',
  'Service',
];
const rank = (kind: string) => {
  const i = ORDER.indexOf(kind);
  return i < 0 ? ORDER.length : i;
};

/** Items by collection (apiVersion, kind, namespace): one list and one watch each. */
function groupByCollection(items: Item[]): Map<string, Item[]> {
  const groups = new Map<string, Item[]>();
  for (const it of items) {
    const g = `${it.info.apiVersion}|${it.info.kind}|${it.namespace ?? ''}`;
    groups.set(g, [...(groups.get(g) ?? []), it]);
  }
  return groups;
}

function keyOf(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ? `${namespace}/` : ''}${name}`;
}

async function connect(opts: DeployOptions, ctx: DeployContext): Promise<KubeConnection> {
  if (ctx.connection) return ctx.connection;
  const c = opts.cluster;
  if (c.kind === 'kubeconfig') return loadKubeconfig({ content: c.content, input: 'kubeconfig' }, ctx.logger);
  if (c.kind === 'eks') return eksConnection({ clusterName: c.clusterName, region: c.region }, ctx.logger);
  return loadKubeconfig({}, ctx.logger);
}

/** Images of a pod template, container name -> image. */
function imagesOf(obj: KubeObject | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!obj) return out;
  for (const { container } of containersOf(podSpecOf(obj as K8sObject))) {
    const name = String(container.name ?? '');
    if (typeof container.image === 'string') out.set(name, container.image);
  }
  return out;
}

const VOLATILE = new Set(['managedFields', 'resourceVersion', 'generation', 'creationTimestamp', 'uid']);
function comparable(obj: KubeObject | undefined): string {
  if (!obj) return '';
  const { status: _s, ...rest } = obj as KubeObject & { status?: unknown };
  const meta = Object.fromEntries(Object.entries(rest.metadata ?? {}).filter(([k]) => !VOLATILE.has(k)));
  return stableJson({ ...rest, metadata: meta });
}

/** JSON with object keys sorted: two objects that differ only in key order compare equal. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** The image steps both a deploy and a render go through: substitute, build and push, pin. */
interface ImageTarget {
  object: K8sObject;
  file: string;
  line: number;
}

interface ImageWork {
  /** The image this run builds, as substituted into the manifests (repository:tag). */
  buildRef?: ImageReference;
  changes: ImageChange[];
  registryFor: (host: string) => Promise<Registry>;
  image: string;
  digest: string;
}

/** Substitutes `images` (and the image to build) into the objects: every entry must match a container. */
function substituteAll(opts: DeployOptions, targets: ImageTarget[], logger: Logger): ImageWork {
  const build = opts.build;
  const buildRef: ImageReference | undefined = build ? { ...build.image, tag: build.tag } : undefined;
  const entries = [...opts.images.map(formatReference)];
  if (buildRef && !opts.images.some((i) => canonicalName(i) === canonicalName(buildRef)))
    entries.push(formatReference(buildRef));
  const changes = entries.length
    ? substituteImages(targets, entries, {
        onSkip: (image, why) => logger.warning(`image '${image}' left as it is: ${why}`),
      })
    : [];
  // Registries: one connection per host. Credentials go only to the registry of `image`; without a
  // build, to the registry of the `images` entries when they all name one (never to several).
  const entryHosts = [...new Set(opts.images.map((i) => i.registry))];
  const credsHost = build ? build.image.registry : entryHosts.length === 1 ? entryHosts[0] : undefined;
  if (opts.username && !credsHost)
    logger.warning(
      `'registry-username' is set, but the images entries name ${entryHosts.length} registries: the credentials are sent to none of them`,
    );
  const registries = new Map<string, Promise<Registry>>();
  const registryFor = (host: string) => {
    let r = registries.get(host);
    if (!r) {
      const withCreds = credsHost === host && opts.username;
      r = connectRegistry(host, {
        logger,
        ...(withCreds ? { username: opts.username!, password: opts.password ?? '' } : {}),
      });
      registries.set(host, r);
    }
    return r;
  };
  return { ...(buildRef ? { buildRef } : {}), changes, registryFor, image: '', digest: '' };
}

/** Whether a change substitutes the image this run builds. */
function isBuilt(work: ImageWork, c: ImageChange): boolean {
  if (!work.buildRef) return false;
  const ref = parseImageReference(c.to.includes('@') ? c.to.slice(0, c.to.indexOf('@')) : c.to);
  return canonicalName(ref) === canonicalName(work.buildRef) && ref.tag === work.buildRef.tag;
}

/**
 * Resolves substituted tags to digests (pin-digests): `which` = 'others' before the build (every
 * image but the one this run builds), 'built' after it.
 */
async function pinImages(
  opts: DeployOptions,
  targets: ImageTarget[],
  work: ImageWork,
  which: 'others' | 'built',
  logger: Logger,
): Promise<void> {
  if (!opts.pinDigests) return;
  const changes = work.changes.filter((c) => (which === 'built') === isBuilt(work, c));
  if (!changes.some((c) => !c.to.includes('@'))) return;
  await logger.group(which === 'built' ? 'Pin the built image' : 'Pin images to digests', async () => {
    await pinDigests(targets, changes, async (_reference, ref) => {
      if (which === 'built') return work.digest;
      const reg = await work.registryFor(ref.registry);
      const found = await reg.head(ref.repository, ref.tag ?? 'latest');
      if (!found) throw new C2CError(`image ${formatReference(ref)} does not exist in its registry`);
      return found.digest;
    });
    for (const c of changes) logger.info(describeChange(c));
  });
}

/** Builds the app image and pushes it to `image` (a registry change: after every check). */
async function buildImage(opts: DeployOptions, ctx: DeployContext, work: ImageWork): Promise<void> {
  const build = opts.build;
  const buildRef = work.buildRef;
  if (!build || !buildRef) return;
  const { logger } = ctx;
  await logger.group(`Build and push ${formatReference(buildRef)}`, async () => {
    const builder = await resolveBuilder(build.builder, logger);
    const reg = await work.registryFor(build.image.registry);
    await reg.ensureRepository(build.image.repository);
    const creds = await reg.credentials();
    const targets = [
      {
        host: reg.endpointHost,
        insecure: reg.insecure || isLoopbackHost(reg.endpointHost),
        ...(creds ? { username: creds.username, password: creds.password } : {}),
      },
    ];
    // The base image's registry, when it is another one, is where the build pulls FROM.
    const base = build.buildArgs.find(([k]) => k === 'BASE_IMAGE')?.[1];
    if (base) {
      const baseHost = parseImageReference(base).registry;
      if (baseHost !== build.image.registry && isLoopbackHost(baseHost))
        targets.push({ host: baseHost, insecure: true });
    }
    const labels: Record<string, string> = {
      'org.opencontainers.image.created': new Date((ctx.now ?? Date.now)()).toISOString(),
    };
    if (ctx.revision) labels['org.opencontainers.image.revision'] = ctx.revision;
    if (ctx.source) labels['org.opencontainers.image.source'] = ctx.source;
    const built = await buildAndPush(
      {
        context: build.context,
        dockerfile: build.dockerfile,
        tags: [`${reg.endpointHost}/${build.image.repository}:${build.tag}`],
        buildArgs: build.buildArgs,
        labels,
        targets,
        logger,
        inputNames: { dockerfile: 'dockerfile', context: 'build-context' },
      },
      builder,
    );
    work.digest = built.digest;
    work.image = `${formatReference({ registry: build.image.registry, repository: build.image.repository })}@${built.digest}`;
    logger.info(`pushed ${work.image}`);
  });
}

function registerSecrets(opts: DeployOptions, logger: Logger): void {
  if (opts.password) logger.secret(opts.password);
  if (opts.token) logger.secret(opts.token);
}

export interface RenderResult {
  /** The objects exactly as they would be applied, as YAML documents. */
  yaml: string;
  objects: K8sObject[];
  image: string;
  digest: string;
  changes: ImageChange[];
}

/**
 * Everything of a deploy that needs no cluster: read the manifests, set the namespace, substitute
 * images, build and push (when `build-context` is set), pin digests, annotate. Returns the objects
 * as they would be applied; contacts no cluster. (Namespaced objects that name no namespace, with
 * the `namespace` input empty, stay without one: the kubeconfig's context decides at apply time.)
 */
export async function renderDeploy(opts: DeployOptions, ctx: DeployContext): Promise<RenderResult> {
  const { logger } = ctx;
  registerSecrets(opts, logger);
  const manifests = await logger.group('Read manifests', () =>
    loadManifests(opts.manifests, { workspace: opts.workspace, logger }),
  );
  applyNamespace(manifests, opts.namespace ?? '');
  const targets = manifests.map((m) => ({ object: m.object, file: m.file, line: m.line }));
  const work = substituteAll(opts, targets, logger);
  await pinImages(opts, targets, work, 'others', logger);
  await buildImage(opts, ctx, work);
  await pinImages(opts, targets, work, 'built', logger);
  if (!opts.pinDigests) for (const c of work.changes) logger.info(describeChange(c));
  if (opts.annotate && ctx.audit) for (const t of targets) annotateObject(t.object, ctx.audit);
  const ordered = [...manifests].sort(
    (a, b) => rank(kindOf(a.object)) - rank(kindOf(b.object)) || a.index - b.index,
  );
  const objects = ordered.map((m) => m.object);
  return {
    yaml: objects.map((o) => `---\n${stringifyYaml(o, { lineWidth: 0 })}`).join(''),
    objects,
    image: work.image,
    digest: work.digest,
    changes: work.changes,
  };
}

export async function runDeploy(opts: DeployOptions, ctx: DeployContext): Promise<DeployResult> {
  const { logger } = ctx;
  const now = ctx.now ?? Date.now;
  registerSecrets(opts, logger);
  const result: DeployResult = {
    result: 'success',
    image: '',
    digest: '',
    applied: [],
    rolledBack: false,
    deploymentId: '',
    rows: [],
    changes: [],
    plan: [],
    summary: '',
    requestCount: 0,
  };

  // ---------------------------------------------------------------- validate: nothing changes here
  const manifests = await logger.group('Read manifests', () =>
    loadManifests(opts.manifests, { workspace: opts.workspace, logger }),
  );

  const client = new KubeClient(await connect(opts, ctx), {
    logger,
    ...(ctx.kubeRetry ? { retry: ctx.kubeRetry } : {}),
  });
  const items = await logger.group('Check the cluster', () => resolveItems(client, manifests, opts, logger));

  // Images: every entry (and the image this run builds) must match a container; checked before any build.
  const targets: ImageTarget[] = items.map((i) => ({
    object: i.object as unknown as K8sObject,
    file: i.manifest.file,
    line: i.manifest.line,
  }));
  const work = substituteAll(opts, targets, logger);
  result.changes = work.changes;

  // What runs now: one list per kind and namespace (not one GET per object).
  // Watched kinds are listed (the list's resourceVersion is where their watch starts, so no change
  // made by this run is missed); a lone object of another kind is read with one GET.
  const startVersions = await logger.group('Read what runs now', () => readLive(client, items));

  // Every other image resolves to a digest before anything changes.
  await pinImages(opts, targets, work, 'others', logger);

  // Audit annotations, and whether each workload's template changes (a rollout). Done on copies
  // for the dry run when the image is still to be built (its digest is not known yet).
  const finalize = (objectOf: (it: Item) => KubeObject) => {
    for (const it of items) {
      const obj = objectOf(it) as unknown as K8sObject;
      if (opts.annotate && ctx.audit)
        annotateObject(obj, ctx.audit, it.live ? { live: it.live as unknown as K8sObject } : {});
      const desiredTemplate = podTemplateOf(obj);
      const liveTemplate = it.live ? podTemplateOf(it.live as unknown as K8sObject) : undefined;
      it.templateChanged =
        !!desiredTemplate && (!liveTemplate || !templateUnchanged(desiredTemplate, liveTemplate));
    }
  };
  const toBuild = !!work.buildRef;
  const drafts = new Map<Item, KubeObject>();
  if (toBuild) {
    for (const it of items) drafts.set(it, structuredClone(it.object));
    finalize((it) => drafts.get(it)!);
  } else finalize((it) => it.object);
  items.sort((a, b) => rank(a.info.kind) - rank(b.info.kind) || a.manifest.index - b.manifest.index);

  // The whole set through a server-side dry run: one rejected object means nothing is applied (and,
  // when an image is to be built, nothing is pushed).
  const dryRuns = await logger.group('Server-side dry run', () => dryRunAll(client, items, drafts, opts));

  for (const it of items) {
    const state = !it.live
      ? 'created'
      : comparable(dryRuns.get(it)) === comparable(it.live)
        ? 'unchanged'
        : 'configured';
    result.plan.push(`${state} ${it.key}`);
  }

  const rowFor = (it: Item): WorkloadRow => {
    const before = imagesOf(it.live);
    const after = imagesOf(it.object);
    return {
      kind: it.info.kind,
      ...(it.namespace ? { namespace: it.namespace } : {}),
      name: String(it.object.metadata.name),
      images: [...after].map(([container, to]) => ({
        container,
        ...(before.get(container) ? { from: before.get(container)! } : {}),
        to,
      })),
      result: 'dry-run',
    };
  };

  if (opts.dryRun) {
    await logger.group('Dry run: what would change', async () => {
      if (work.buildRef)
        logger.info(
          `would build ${opts.build!.context} and push ${formatReference(work.buildRef)} (not built in a dry run)`,
        );
      for (const line of result.plan) logger.info(line);
    });
    for (const [it, draft] of drafts) it.object = draft;
    result.result = 'dry-run';
    result.applied = items.map((i) => i.key);
    result.rows = items.filter((i) => isWatchedKind(i.info.kind)).map(rowFor);
    result.requestCount = client.requestCount;
    result.summary = renderDeploySummary({
      title: 'Deploy (dry run)',
      rows: result.rows,
      result: 'dry-run',
      notes: [
        ...(work.buildRef
          ? [`${formatReference(work.buildRef)} would be built and pushed (not in a dry run)`]
          : []),
        ...result.plan,
      ],
    });
    return result;
  }

  if (toBuild) {
    await buildImage(opts, ctx, work);
    result.image = work.image;
    result.digest = work.digest;
    await pinImages(opts, targets, work, 'built', logger);
    finalize((it) => it.object);
  }

  // ---------------------------------------------------------------- act
  let deployment: { id: number | string; url?: string } | undefined;
  if (ctx.recorder) {
    deployment = await ctx.recorder.start();
    result.deploymentId = String(deployment.id);
  }
  let finished = false;
  const finish = async (state: 'success' | 'failure', description: string) => {
    if (finished) return;
    finished = true;
    if (ctx.recorder && deployment) {
      try {
        await ctx.recorder.finish(deployment.id, state, description);
      } catch (e) {
        logger.warning(`could not record the deployment status: ${errorMessage(e)}`);
      }
    }
  };

  try {
    return await act();
  } catch (e) {
    // Whatever went wrong after the GitHub Deployment was started, it does not stay in_progress.
    await finish('failure', errorMessage(e).slice(0, 140));
    throw e;
  }

  async function act(): Promise<DeployResult> {
    await logger.group('Apply', () => applyAll(client, items, opts, result, logger));

    const watched = items.filter((i) => isWatchedKind(i.info.kind) && i.applied);
    const outcome = await logger.group(`Watch ${watched.length} rollout(s)`, () =>
      watchRollouts(client, watched, startVersions, opts.timeoutMs, logger, now),
    );
    for (const it of watched) {
      const o = outcome.get(it)!;
      result.rows.push({
        ...rowFor(it),
        durationMs: o.ms,
        result: o.status.done && !o.status.failed ? 'success' : o.timedOut ? 'timed-out' : 'failed',
        ...(o.status.done && !o.status.failed ? {} : { note: o.status.message }),
      });
    }
    const failed = watched.filter((it) => {
      const o = outcome.get(it)!;
      return !o.status.done || o.status.failed;
    });

    if (failed.length === 0) {
      result.result = 'success';
      await finish('success', `deployed ${result.applied.length} object(s)`);
    } else {
      const what = failed.map((it) => `${it.key} (${outcome.get(it)!.status.message})`).join('; ');
      await logger.group('Why the rollout failed', async () => {
        // The step's one error comes at the end (what failed and what was done about it).
        logger.info(`rollout failed: ${what}`);
        logger.info(await explain(client, failed, outcome, logger));
      });
      result.result = 'failed';
      result.failure = `Rollout failed: ${what}.`;
      if (opts.rollbackOnFailure) {
        const back = await logger.group('Roll back', () =>
          rollBack(client, watched, logger, opts.timeoutMs, now),
        );
        result.rolledBack = back.rolledBack.length > 0;
        for (const row of result.rows) {
          const k = keyOf(row.kind, row.namespace, row.name);
          if (back.rolledBack.includes(k)) row.result = 'rolled-back';
          if (back.created.includes(k))
            row.note = `${row.note ? `${row.note}; ` : ''}created by this run: not rolled back`;
        }
        if (result.rolledBack) {
          result.result = 'rolled-back';
          result.failure += back.ok
            ? ` Rolled back ${back.rolledBack.join(', ')}: the previous version runs again.`
            : ` Rolled back ${back.rolledBack.join(', ')}, but the rollback itself did not complete: ${back.problems.join('; ')}.`;
        }
        if (back.created.length)
          result.failure += ` Created by this run and left in place: ${back.created.join(', ')}.`;
      }
      await finish('failure', result.failure.slice(0, 140));
    }
    result.requestCount = client.requestCount;
    result.summary = renderDeploySummary({
      rows: result.rows,
      result: result.result,
      ...(deployment?.url
        ? {
            deployment: {
              url: deployment.url,
              id: deployment.id,
              ...(opts.environment ? { environment: opts.environment } : {}),
            },
          }
        : {}),
      ...(result.failure ? { notes: [result.failure] } : {}),
    });
    return result;
  }
}

/**
 * Checks the cluster answers and serves every kind (all problems at once, each with its file and
 * line), applies the namespace input, and gives each object its resource and namespace.
 */
async function resolveItems(
  client: KubeClient,
  manifests: Manifest[],
  opts: DeployOptions,
  logger: Logger,
): Promise<Item[]> {
  const defaultNamespace = opts.namespace || client.namespace;
  try {
    const v = await client.version();
    logger.info(`${client.connection.server}: Kubernetes ${v.gitVersion ?? 'version unknown'}`);
  } catch (e) {
    if (e instanceof KubeApiError && e.status !== 404 && e.status < 500) throw e;
    throw new C2CError(
      `Cannot reach the Kubernetes API server at ${client.connection.server}${client.connection.contextName ? ` (context '${client.connection.contextName}')` : ''}: ${errorMessage(e)}`,
      { cause: e },
    );
  }
  const problems: C2CError[] = [];
  const infos = new Map<Manifest, ResourceInfo>();
  await Promise.all(
    manifests.map(async (m) => {
      try {
        infos.set(m, await client.resource(String(m.object.apiVersion), String(m.object.kind)));
      } catch (e) {
        if (e instanceof KindNotServedError)
          problems.push(new C2CError(e.message, { where: { file: m.file, line: m.line } }));
        else throw e;
      }
    }),
  );
  if (problems.length) throw new ManifestError(problems);
  applyNamespace(manifests, opts.namespace ?? '', {
    isNamespaced: (av, kind) =>
      [...infos.values()].find((i) => i.apiVersion === av && i.kind === kind)?.namespaced,
  });
  return manifests.map((m) => {
    const info = infos.get(m)!;
    const meta = (m.object.metadata ?? {}) as Record<string, unknown>;
    const namespace = info.namespaced ? String(meta.namespace ?? defaultNamespace) : undefined;
    if (namespace) meta.namespace = namespace;
    return {
      manifest: m,
      object: m.object as unknown as KubeObject,
      info,
      key: keyOf(info.kind, namespace, String(meta.name)),
      ...(namespace ? { namespace } : {}),
      templateChanged: false,
    };
  });
}

/**
 * What runs now: one list per kind and namespace (not one GET per object). Watched kinds are always
 * listed: the list's resourceVersion is where their watch starts, so no change this run makes is
 * missed. A lone object of another kind is read with one GET. Returns the start versions.
 */
async function readLive(client: KubeClient, items: Item[]): Promise<Map<string, string>> {
  const startVersions = new Map<string, string>();
  await Promise.all(
    [...groupByCollection(items)].map(async ([key, group]) => {
      const first = group[0]!;
      if (group.length === 1 && !isWatchedKind(first.info.kind)) {
        const live = await client.get({
          apiVersion: first.info.apiVersion,
          kind: first.info.kind,
          name: String(first.object.metadata.name),
          ...(first.namespace ? { namespace: first.namespace } : {}),
        });
        if (live) first.live = live;
        return;
      }
      const list = await client.list(
        first.info.apiVersion,
        first.info.kind,
        first.namespace ? { namespace: first.namespace } : {},
      );
      if (list.metadata?.resourceVersion) startVersions.set(key, list.metadata.resourceVersion);
      const byName = new Map(list.items.map((o) => [o.metadata.name, o]));
      for (const it of group) {
        const live = byName.get(String(it.object.metadata.name));
        if (live) it.live = live;
      }
    }),
  );
  return startVersions;
}

/** The whole set through a server-side dry run: one rejected object means nothing is applied. */
async function dryRunAll(
  client: KubeClient,
  items: Item[],
  drafts: Map<Item, KubeObject>,
  opts: DeployOptions,
): Promise<Map<Item, KubeObject>> {
  const creating = new Set(
    items.filter((i) => i.info.kind === 'Namespace' && !i.live).map((i) => String(i.object.metadata.name)),
  );

  const problems: C2CError[] = [];
  const out = new Map<Item, KubeObject>();
  await Promise.all(
    items.map(async (it) => {
      try {
        out.set(
          it,
          await client.apply(drafts.get(it) ?? it.object, { dryRun: true, force: opts.forceConflicts }),
        );
      } catch (e) {
        // A namespace this same run creates does not exist yet: its objects cannot be dry-run.
        if (e instanceof KubeApiError && e.status === 404 && it.namespace && creating.has(it.namespace))
          return;
        if (e instanceof KubeApiError)
          problems.push(
            new C2CError(`${it.key}: ${e.message}`, {
              where: { file: it.manifest.file, line: it.manifest.line },
            }),
          );
        else throw e;
      }
    }),
  );
  if (problems.length) {
    const conflict = problems.some((p) => /conflicted/.test(p.message));
    throw new C2CError(
      `The cluster rejected ${problems.length} object(s) in a server-side dry run; nothing was applied:\n${problems.map((p) => `  ${p.where?.file}:${p.where?.line}: ${p.message}`).join('\n')}` +
        (conflict && !opts.forceConflicts
          ? `\nAnother field manager owns these fields. Set 'force-conflicts' to true to take them over, or remove them from the manifests.`
          : ''),
      { where: problems[0]!.where! },
    );
  }
  return out;
}

/** Applies for real: Namespaces and the like first, one rank at a time; objects of one rank in parallel. */
async function applyAll(
  client: KubeClient,
  items: Item[],
  opts: DeployOptions,
  result: DeployResult,
  logger: Logger,
): Promise<void> {
  // Namespaces and the like first, one at a time by rank; objects of one rank in parallel.
  const ranks = [...new Set(items.map((i) => rank(i.info.kind)))];
  for (const r of ranks) {
    await Promise.all(
      items
        .filter((i) => rank(i.info.kind) === r)
        .map(async (it) => {
          try {
            it.applied = await client.apply(it.object, { force: opts.forceConflicts });
          } catch (e) {
            throw new C2CError(
              `Apply failed for ${it.key}: ${errorMessage(e)}${result.applied.length ? `\nApplied before the failure: ${result.applied.join(', ')}.` : ' Nothing else was applied.'}`,
              { cause: e, where: { file: it.manifest.file, line: it.manifest.line } },
            );
          }
          result.applied.push(it.key);
          logger.info(`${it.live ? (it.templateChanged ? 'configured' : 'applied') : 'created'} ${it.key}`);
        }),
    );
  }
}

interface Outcome {
  status: RolloutStatus;
  ms: number;
  timedOut: boolean;
  /** The workload as last seen (the watch's latest version, else the apply's answer). */
  object: KubeObject;
}

/**
 * Watches every workload until its rollout is done, has failed, or the deadline passes: one watch
 * stream per kind and namespace (not per object), starting from the version the apply returned.
 */
async function watchRollouts(
  client: KubeClient,
  items: Item[],
  startVersions: Map<string, string>,
  timeoutMs: number,
  logger: Logger,
  now: () => number,
): Promise<Map<Item, Outcome>> {
  const start = now();
  const deadline = start + timeoutMs;
  const out = new Map<Item, Outcome>();
  const pending = new Set<Item>();
  for (const it of items) {
    const st = rolloutStatus(it.applied as unknown as K8sObject) ?? {
      done: true,
      failed: false,
      message: 'not watched',
    };
    // Done already (nothing to roll out, or the controller was quicker than the response) or failed.
    if (st.done || st.failed)
      out.set(it, { status: st, ms: now() - start, timedOut: false, object: it.applied ?? it.object });
    else pending.add(it);
  }
  const groups = groupByCollection([...pending]);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - now()));
  try {
    await Promise.all(
      [...groups].map(async ([key, group]) => {
        const first = group[0]!;
        const byName = new Map(group.map((it) => [String(it.object.metadata.name), it]));
        // From the collection's version read before this run changed anything: nothing is missed.
        const rv = startVersions.get(key);
        const last = new Map<Item, { status: RolloutStatus; object: KubeObject }>();
        try {
          for await (const ev of client.watch(first.info.apiVersion, first.info.kind, {
            ...(first.namespace ? { namespace: first.namespace } : {}),
            ...(rv ? { resourceVersion: rv } : {}),
            signal: controller.signal,
          })) {
            if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED') continue;
            const it = byName.get(ev.object.metadata.name ?? '');
            if (!it || !pending.has(it)) continue;
            const st = rolloutStatus(ev.object as unknown as K8sObject);
            if (!st) continue;
            last.set(it, { status: st, object: ev.object });
            if (st.done || st.failed) {
              pending.delete(it);
              out.set(it, { status: st, ms: now() - start, timedOut: false, object: ev.object });
              logger.info(`${it.key}: ${st.message}`);
            }
            if (group.every((g) => !pending.has(g))) break;
          }
        } catch (e) {
          if (!controller.signal.aborted) throw e;
        }
        for (const it of group) {
          if (!out.has(it)) {
            const seen = last.get(it);
            out.set(it, {
              status: {
                done: false,
                failed: true,
                message: `timed out after ${formatDuration(timeoutMs)}${seen ? `: ${seen.status.message}` : ''}`,
              },
              ms: now() - start,
              timedOut: true,
              object: seen?.object ?? it.applied ?? it.object,
            });
          }
        }
      }),
    );
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return out;
}

/** The failure report: pod phases, waiting reasons, recent events, last log lines. */
async function explain(
  client: KubeClient,
  failed: Item[],
  outcome: Map<Item, Outcome>,
  logger: Logger,
): Promise<string> {
  try {
    const byNs = new Map<string, { pods: K8sObject[]; events: K8sObject[] }>();
    for (const ns of new Set(failed.map((f) => f.namespace ?? ''))) {
      const [pods, events] = await Promise.all([
        client.list('v1', 'Pod', { namespace: ns }),
        client.list('v1', 'Event', { namespace: ns }),
      ]);
      byNs.set(ns, {
        pods: pods.items as unknown as K8sObject[],
        events: events.items as unknown as K8sObject[],
      });
    }
    const inputs: DiagnoseInput[] = failed.map((f) => {
      const { pods, events } = byNs.get(f.namespace ?? '')!;
      const o = outcome.get(f);
      const workload = (o?.object ?? f.applied ?? f.object) as unknown as K8sObject;
      return {
        workload,
        reason: o?.status.message ?? rolloutStatus(workload)?.message ?? 'failed',
        pods: podsForWorkload(workload, pods),
        events,
        fetchLogs: (req) =>
          client.podLogs(req.namespace, req.pod, {
            container: req.container,
            tailLines: req.tailLines,
            previous: req.previous,
          }),
      };
    });
    return await diagnose(inputs);
  } catch (e) {
    logger.warning(`could not gather the failure details: ${errorMessage(e)}`);
    return '';
  }
}

/**
 * Restores every workload this run changed to its previous revision (what `kubectl rollout undo`
 * does) and waits for that rollout; workloads this run created have no previous revision and are
 * reported, not deleted.
 */
async function rollBack(
  client: KubeClient,
  watched: Item[],
  logger: Logger,
  timeoutMs: number,
  now: () => number,
): Promise<{ rolledBack: string[]; created: string[]; ok: boolean; problems: string[] }> {
  const rolledBack: string[] = [];
  const created: string[] = [];
  const problems: string[] = [];
  const again: Item[] = [];
  const startVersions = new Map<string, string>();
  for (const [key, group] of groupByCollection(
    watched.filter((i) => i.live && i.templateChanged && i.info.kind !== 'Job'),
  )) {
    const first = group[0]!;
    const list = await client.list(first.info.apiVersion, first.info.kind, {
      ...(first.namespace ? { namespace: first.namespace } : {}),
      limit: 1,
    });
    if (list.metadata?.resourceVersion) startVersions.set(key, list.metadata.resourceVersion);
  }
  for (const it of watched) {
    if (!it.live) {
      created.push(it.key);
      continue;
    }
    if (!it.templateChanged || it.info.kind === 'Job') continue;
    try {
      const r = await rollback(client, it.info.kind, it.namespace ?? '', String(it.object.metadata.name));
      logger.info(`${it.key}: back to revision ${r.toRevision} (from ${r.fromRevision})`);
      rolledBack.push(it.key);
      again.push({ ...it, applied: r.object, templateChanged: true });
    } catch (e) {
      problems.push(`${it.key}: ${errorMessage(e)}`);
      logger.error(`could not roll back ${it.key}: ${errorMessage(e)}`);
    }
  }
  if (again.length) {
    const out = await watchRollouts(client, again, startVersions, timeoutMs, logger, now);
    for (const [it, o] of out)
      if (!o.status.done || o.status.failed) problems.push(`${it.key}: ${o.status.message}`);
  }
  return { rolledBack, created, ok: problems.length === 0, problems };
}
