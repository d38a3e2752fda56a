import { liveReadVerb } from './permissions.js';
import { C2CError, ProblemsError, errorMessage, withNote } from '../core/index.js';
import type { Logger } from '../core/index.js';
import {
  FIELD_MANAGER,
  KindNotServedError,
  KubeApiError,
  KubeClient,
  type KubeObject,
  type ResourceInfo,
} from '../kube/index.js';
import { ManifestError, formatWhere, type Manifest, applyNamespace } from './manifests/index.js';
import { annotateObject, templatesEqual, type AuditInfo } from './annotations.js';
import { asNumber, asObject, containersOf, get, type JsonObject } from './objects.js';
import { comparable, groupByCollection, keyOf, type Item, type SetItem } from './items.js';
import type { DeployOptions } from './inputs.js';
import { isImmutableRefusal, isPreDeploy, probeName } from './phases.js';
import { adapterOf, podSpecOf, podTemplateOf } from './kinds/index.js';

/**
 * The preflight of a deploy, before anything changes: which resource each object is,
 * what runs now, whether each pod template changes, and a server-side dry run of the whole set.
 */

/**
 * Checks the cluster answers and serves every kind (all problems at once, each with its file and
 * line), applies the namespace input, and gives each object its resource and namespace.
 */
export async function resolveItems(
  client: KubeClient,
  manifests: Manifest[],
  opts: DeployOptions,
  logger: Logger,
): Promise<SetItem[]> {
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
  const items: SetItem[] = manifests.map((m) => {
    const info = infos.get(m)!;
    const meta = (m.object.metadata ?? {}) as Record<string, unknown>;
    const namespace = info.namespaced ? String(meta.namespace ?? defaultNamespace) : undefined;
    if (namespace) meta.namespace = namespace;
    return {
      manifest: m,
      object: m.object,
      info,
      key: keyOf(info.kind, namespace, String(meta.name)),
      ...(namespace ? { namespace } : {}),
    };
  });
  // create-namespace: the namespace input as if it were a Namespace manifest of the set.
  const ns = opts.namespace;
  if (
    opts.createNamespace &&
    ns &&
    !items.some((i) => i.info.kind === 'Namespace' && i.object.metadata.name === ns)
  ) {
    const object = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } };
    items.unshift({
      manifest: { object, file: "(input 'create-namespace')", line: 0, index: -1 },
      object: object as KubeObject,
      info: await client.resource('v1', 'Namespace'),
      key: keyOf('Namespace', undefined, ns),
    });
  }
  return items;
}

/** What runs now of each object of the set (readLive); none: it does not exist yet. */
export type LiveObjects = ReadonlyMap<SetItem, KubeObject>;

/** Namespaces of the set that do not exist yet: this run creates them. */
export function namespacesToCreate(items: SetItem[], live: LiveObjects): SetItem[] {
  return items.filter((i) => i.info.kind === 'Namespace' && !live.has(i));
}

/** How preflight sends an object to the server: its draft while the image is to be built, else itself. */
export type ObjectOf = (it: SetItem) => KubeObject;

/**
 * Creates the namespaces this run creates before the dry run of the rest: a server validates an
 * object only inside a namespace that exists (a dry-run create of the Namespace does not make it
 * exist). When one of them cannot be created, those created before it are deleted again; so are
 * all of them when the validation fails (deleteCreatedNamespaces).
 */
export async function createNamespacesFirst(
  client: KubeClient,
  items: SetItem[],
  live: LiveObjects,
  objectOf: ObjectOf,
  opts: DeployOptions,
  logger: Logger,
): Promise<Map<SetItem, KubeObject>> {
  const created = new Map<SetItem, KubeObject>();
  for (const it of namespacesToCreate(items, live)) {
    try {
      // The annotated object (a draft while an image is still to be built): applied whole, once.
      created.set(it, await client.apply(objectOf(it), { force: opts.forceConflicts }));
    } catch (e) {
      throw await deleteCreatedNamespaces(client, [...created.keys()], e, logger);
    }
    logger.info(`created ${it.key} (first, so that the server can validate what goes in it)`);
  }
  return created;
}

/**
 * Deletes namespaces createNamespacesFirst made, after a failure before anything else was written
 * (a namespace refused, a failed validation): nothing stays. Returns `e`, whose message then says
 * which were deleted again and which could not be.
 */
export async function deleteCreatedNamespaces(
  client: KubeClient,
  created: SetItem[],
  e: unknown,
  logger: Logger,
): Promise<unknown> {
  const deleted: string[] = [];
  const problems: string[] = [];
  for (const it of created) {
    try {
      await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: String(it.object.metadata.name) });
      deleted.push(it.key);
      logger.info(`deleted ${it.key} again: ${errorMessage(e).split('\n')[0]}`);
    } catch (d) {
      problems.push(`${it.key}: ${errorMessage(d)}`);
    }
  }
  const notes = [
    ...(deleted.length ? [`Created by this run, deleted again: ${deleted.join(', ')}.`] : []),
    ...(problems.length
      ? [`Namespaces created for the validation could not be deleted again: ${problems.join('; ')}.`]
      : []),
  ];
  return notes.length ? withNote(e, notes.join('\n')) : e;
}

/**
 * What runs now: one list per kind and namespace (not one GET per object). Watched kinds are always
 * listed: the list's resourceVersion is where their watch starts, so no change this run makes is
 * missed. A lone object of another kind is read with one GET. Returns the start versions.
 */
export async function readLive(
  client: KubeClient,
  items: SetItem[],
): Promise<{ live: LiveObjects; startVersions: Map<string, string> }> {
  const startVersions = new Map<string, string>();
  const live = new Map<SetItem, KubeObject>();
  await Promise.all(
    [...groupByCollection(items)].map(async ([key, group]) => {
      const first = group[0]!;
      if (liveReadVerb(group) === 'get') {
        const found = await client.get({
          apiVersion: first.info.apiVersion,
          kind: first.info.kind,
          name: String(first.object.metadata.name),
          ...(first.namespace ? { namespace: first.namespace } : {}),
        });
        if (found) live.set(first, found);
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
        const found = byName.get(String(it.object.metadata.name));
        if (found) live.set(it, found);
      }
    }),
  );
  return { live, startVersions };
}

export const HANDOVER_MANAGER = 'commit-to-cloud-replicas-handover';

/**
 * The deploy does not fight an HPA over `replicas`: a workload that a HorizontalPodAutoscaler
 * targets (one in the cluster, or one in the set) is applied without `spec.replicas`, so the HPA's
 * count stays. One list of HPAs per namespace of scalable workloads; a cluster that serves no
 * autoscaling/v2, or RBAC that forbids listing them, leaves the manifests as they are (a warning).
 * When this field manager owned `replicas`, the current count is handed over (replicasHandover) so
 * that leaving the field out does not reset it. Returns those counts.
 */
export async function leaveReplicasToAutoscalers(
  client: KubeClient,
  items: SetItem[],
  live: LiveObjects,
  logger: Logger,
): Promise<Map<SetItem, number>> {
  const handovers = new Map<SetItem, number>();
  const scalable = items.filter(
    (i) => !!adapterOf(i.info.kind)?.scalable && get(i.object, 'spec', 'replicas') !== undefined,
  );
  if (scalable.length === 0) return handovers;
  const hpas: KubeObject[] = items
    .filter((i) => i.info.kind === 'HorizontalPodAutoscaler')
    .map((i) => i.object);
  let served = true;
  try {
    await client.resource('autoscaling/v2', 'HorizontalPodAutoscaler');
  } catch (e) {
    if (!(e instanceof KindNotServedError)) throw e;
    served = false;
  }
  if (served)
    await Promise.all(
      [...new Set(scalable.map((i) => i.namespace ?? ''))].map(async (ns) => {
        try {
          hpas.push(
            ...(await client.list('autoscaling/v2', 'HorizontalPodAutoscaler', { namespace: ns })).items,
          );
        } catch (e) {
          if (!(e instanceof KubeApiError) || e.status !== 403) throw e;
          logger.warning(
            `cannot list HorizontalPodAutoscalers in namespace '${ns}' (${e.message}): replicas are applied as the manifests say`,
          );
        }
      }),
    );
  for (const it of scalable) {
    const hpa = hpas.find((h) => {
      return (
        (h.metadata.namespace ?? it.namespace) === it.namespace &&
        get(h, 'spec', 'scaleTargetRef', 'kind') === it.info.kind &&
        get(h, 'spec', 'scaleTargetRef', 'name') === it.object.metadata.name
      );
    });
    if (!hpa) continue;
    delete asObject(it.object.spec)!.replicas; // set: the filter above read it
    const now = live.get(it);
    const owned = (now?.metadata.managedFields ?? []).some(
      (e) =>
        e.manager === FIELD_MANAGER &&
        e.operation === 'Apply' &&
        !!(e.fieldsV1 as { 'f:spec'?: { 'f:replicas'?: unknown } } | undefined)?.['f:spec']?.['f:replicas'],
    );
    const current = asNumber(get(now, 'spec', 'replicas'));
    if (owned && current !== undefined) handovers.set(it, current);
    logger.info(
      `${it.key}: replicas left out, the HorizontalPodAutoscaler ${hpa.metadata.namespace ?? it.namespace}/${hpa.metadata.name} sets them`,
    );
  }
  return handovers;
}

/**
 * The audit annotations on an object before the dry run: a workload that runs already is taken to
 * keep its template (its live audit annotations carried over) unless `changes` says otherwise;
 * changeOf corrects that from the dry run. Returns whether the template is taken to change.
 */
export function annotateAssumed(
  obj: KubeObject,
  live: KubeObject | undefined,
  changes: boolean,
  audit: AuditInfo | undefined,
): boolean {
  const templateChanged = !!podTemplateOf(obj) && (!live || changes);
  if (audit) annotateObject(obj, audit, { ...(live ? { live } : {}), templateChanges: templateChanged });
  return templateChanged;
}

/**
 * What the apply does to an object, as the server says. `state`: the dry run's object (with the
 * images the object carries now: the built image's digest is known only after the build) against the
 * live one: created, configured, or unchanged (then it is not written). `templateChanged`: the same
 * for the pod template alone: a dropped field, a changed value, a new container is a change and a
 * rollout. A template that changes gets the new commit annotation on `obj`.
 */
export function changeOf(
  obj: KubeObject,
  live: KubeObject | undefined,
  dry: KubeObject | undefined,
  audit: AuditInfo | undefined,
): Pick<Item, 'state' | 'templateChanged'> {
  const desired = podTemplateOf(obj);
  // New, or not validated (an object in a namespace this run would create, in a dry run).
  if (!live || !dry) return { state: live ? 'configured' : 'created', templateChanged: !!desired };
  const after = withImagesOf(dry, obj);
  const templateChanged = !!desired && !templatesEqual(podTemplateOf(after), podTemplateOf(live));
  if (audit && desired) annotateObject(obj, audit, { live, templateChanges: templateChanged });
  return { state: comparable(after) === comparable(live) ? 'unchanged' : 'configured', templateChanged };
}

/** What preflight learnt of the set, each a map from the object to its fact. */
export interface PreflightFacts {
  live: LiveObjects;
  handovers: ReadonlyMap<SetItem, number>;
  /** Namespaces created before the dry run. */
  created: ReadonlyMap<SetItem, KubeObject>;
  dryRuns: ReadonlyMap<SetItem, KubeObject>;
  drafts: ReadonlyMap<SetItem, KubeObject>;
}

/** The items as preflight gives them: each made once, from the set's object and what was learnt of it. */
export function checkedItems(items: SetItem[], facts: PreflightFacts, audit: AuditInfo | undefined): Item[] {
  return items.map((it) => {
    const live = facts.live.get(it);
    const dryRun = facts.dryRuns.get(it);
    const draft = facts.drafts.get(it);
    const applied = facts.created.get(it);
    const handover = facts.handovers.get(it);
    return {
      ...it,
      ...(live ? { live } : {}),
      ...(applied ? { applied } : {}),
      ...(handover !== undefined ? { replicasHandover: handover } : {}),
      ...(dryRun ? { dryRun } : {}),
      ...(draft ? { draft } : {}),
      ...changeOf(draft ?? it.object, live, dryRun, audit),
    };
  });
}

/**
 * After the build: the objects carry the built image now. Their annotations and what the apply does
 * are worked out again from the same dry run, as new items.
 */
export function withBuiltImage(items: Item[], audit: AuditInfo | undefined): Item[] {
  return items.map((it) => {
    annotateAssumed(it.object, it.live, it.templateChanged, audit);
    return { ...it, ...changeOf(it.object, it.live, it.dryRun, audit) };
  });
}

/** A copy of `obj` whose containers carry the images of the same-named containers of `from`. */
function withImagesOf<T extends JsonObject>(obj: T, from: JsonObject): T {
  const copy = structuredClone(obj);
  const images = new Map(
    containersOf(podSpecOf(from)).map(({ list, container }) => [
      `${list}/${String(container.name)}`,
      container.image,
    ]),
  );
  for (const { list, container } of containersOf(podSpecOf(copy))) {
    const image = images.get(`${list}/${String(container.name)}`);
    if (image !== undefined) container.image = image;
  }
  return copy;
}

const MISSING_NAMESPACE = /namespaces "([^"]+)" not found/;

/**
 * The whole set through a server-side dry run: one rejected object means nothing is applied. Every
 * rejection is reported, each on its file and line; objects whose namespace does not exist make one
 * error per namespace that says how to fix it. Only in a dry run of the action (`dry-run: true`)
 * are objects in a namespace the set creates left unvalidated: that namespace is not created then.
 */
export async function dryRunAll(
  client: KubeClient,
  items: SetItem[],
  live: LiveObjects,
  created: ReadonlyMap<SetItem, KubeObject>,
  objectOf: ObjectOf,
  opts: DeployOptions,
  /** Filled with the pre-deploy Jobs whose template changed: validated under a probe name, run again. */
  recreate?: Set<string>,
): Promise<Map<SetItem, KubeObject>> {
  const creating = new Set(namespacesToCreate(items, live).map((i) => String(i.object.metadata.name)));
  const problems: C2CError[] = [];
  const missing = new Map<string, C2CError[]>();
  const out = new Map<SetItem, KubeObject>();
  await Promise.all(
    items.map(async (it) => {
      const made = created.get(it);
      if (made) return out.set(it, made); // created for real already (a namespace)
      try {
        try {
          out.set(it, await client.apply(objectOf(it), { dryRun: true, force: opts.forceConflicts }));
        } catch (e) {
          // A pre-deploy Job whose template changed is run again as a new Job: validated as one.
          if (!(recreate && live.has(it) && isPreDeploy(it.object) && isImmutableRefusal(e))) throw e;
          const probe = structuredClone(objectOf(it));
          probe.metadata.name = probeName(String(probe.metadata.name));
          const checked = await client.apply(probe, { dryRun: true, force: opts.forceConflicts });
          out.set(it, {
            ...checked,
            metadata: { ...checked.metadata, name: String(it.object.metadata.name) },
          });
          recreate.add(it.key);
        }
      } catch (e) {
        if (!(e instanceof KubeApiError)) throw e;
        const where = { file: it.manifest.file, line: it.manifest.line };
        const ns = e.status === 404 ? MISSING_NAMESPACE.exec(e.message)?.[1] : undefined;
        if (ns && opts.dryRun && creating.has(ns)) return; // would be created first: not validated
        if (ns) {
          const list = missing.get(ns) ?? [];
          list.push(new C2CError(`${it.key}: namespace '${ns}' does not exist`, { where }));
          missing.set(ns, list);
        } else problems.push(new C2CError(`${it.key}: ${e.message}`, { where }));
      }
    }),
  );
  if (problems.length === 0 && missing.size === 0) return out;
  const lines: string[] = [];
  if (problems.length)
    lines.push(
      `The cluster rejected ${problems.length} object(s) in a server-side dry run; nothing was applied:`,
      ...problems.map((p) => `  ${formatWhere(p.where)}${p.message}`),
    );
  for (const [ns, objs] of missing)
    lines.push(
      `The namespace '${ns}' does not exist, and ${objs.length} object(s) go there: ${objs.map((o) => o.message.split(':')[0]).join(', ')}. Add a Namespace manifest for it to the set, or set 'create-namespace: true' (with 'namespace: ${ns}'). Nothing was applied.`,
    );
  const conflict = problems.some((p) => /conflicted/.test(p.message));
  if (conflict && !opts.forceConflicts)
    lines.push(
      "Another field manager owns these fields. Set 'force-conflicts' to true to take them over, or remove them from the manifests.",
    );
  throw new ProblemsError(lines.join('\n'), [...problems, ...[...missing.values()].flat()]);
}

/** One line per object: "created|configured|unchanged kind/ns/name". */
export function preflightLines(items: Item[]): string[] {
  return items.map((it) => `${it.state} ${it.key}`);
}
