import type { KubeObject, ResourceInfo } from '../kube/index.js';
import type { Manifest } from './manifests/index.js';
import { AUDIT_KEYS, AUDIT_PREFIX } from './annotations.js';
import { asObject, containersOf, stableJson, type JsonObject } from './objects.js';
import type { WorkloadRow } from './summary.js';
import { podSpecOf, podTemplateOf } from './kinds/index.js';

/**
 * One object of the set as resolveItems makes it: its manifest, its object, the resource the
 * cluster serves it as, its key and namespace. Nothing about what runs yet; nothing is written into
 * it later (the object is the set's own: pinning and the audit annotations write there).
 */
export interface SetItem {
  readonly manifest: Manifest;
  readonly object: KubeObject;
  readonly info: ResourceInfo;
  readonly key: string;
  readonly namespace?: string;
}

/**
 * An object of the set as preflight gives it (what runs now, what the dry run says the apply does
 * to it) and, after the apply, with what was written. Each phase makes new ones from the last
 * phase's: none is changed once made.
 */
export interface Item extends SetItem {
  readonly live?: KubeObject;
  /** What this run wrote: a namespace created before the dry run, or the object the apply returned. */
  readonly applied?: KubeObject;
  /** The pod template differs from what runs: this run starts a rollout. */
  readonly templateChanged: boolean;
  /**
   * An HPA scales this workload and this run stops applying `replicas`, which it owned: the current
   * count, handed over to another field manager first so that the field is not removed (and the
   * workload not scaled to 1) when this run's apply leaves it out.
   */
  readonly replicasHandover?: number;
  /** What the apply does to it, as the server-side dry run shows: unchanged objects are not written. */
  readonly state: 'created' | 'configured' | 'unchanged';
  /** What the server-side dry run gave back (none: not validated, in a namespace a dry run would create). */
  readonly dryRun?: KubeObject;
  /** The annotated copy the dry run was sent while the image was still to be built (its digest unknown). */
  readonly draft?: KubeObject;
}

/** The key of a collection (apiVersion, kind, namespace): of groupByCollection, of the start versions. */
export const collectionKey = (apiVersion: string, kind: string, namespace: string | undefined) =>
  `${apiVersion}|${kind}|${namespace ?? ''}`;

/** Items by collection (apiVersion, kind, namespace): one list and one watch each. */
export function groupByCollection<T extends SetItem>(items: T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const g = collectionKey(it.info.apiVersion, it.info.kind, it.namespace);
    groups.set(g, [...(groups.get(g) ?? []), it]);
  }
  return groups;
}

/** kind/namespace/name (kind/name when cluster-scoped): the `applied` output's format. */
export function keyOf(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ? `${namespace}/` : ''}${name}`;
}

/** Images of a pod template, container name -> image. */
export function imagesOf(obj: KubeObject | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!obj) return out;
  for (const { container } of containersOf(podSpecOf(obj as JsonObject))) {
    const name = String(container.name ?? '');
    if (typeof container.image === 'string') out.set(name, container.image);
  }
  return out;
}

/** The summary row of a workload: its images before and after. */
export function rowFor(it: SetItem & { readonly live?: KubeObject }): WorkloadRow {
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
}

const VOLATILE = new Set(['managedFields', 'resourceVersion', 'generation', 'creationTimestamp', 'uid']);
/** Audit annotations that say which run wrote an object, not what it is (the commit stays). */
const RUN_ANNOTATIONS = [AUDIT_KEYS.ref, AUDIT_KEYS.runUrl, AUDIT_KEYS.actor, AUDIT_KEYS.approvedBy];

/**
 * An object as stable JSON without status, server bookkeeping, the audit annotations that only name
 * the run (a re-run of the same commit is no change) and the pod template's audit annotations
 * (whether the template changes is decided apart): equal when applying one over the other changes
 * nothing that matters.
 */
export function comparable(obj: KubeObject | undefined): string {
  if (!obj) return '';
  const { status: _s, ...rest } = structuredClone(obj) as KubeObject & { status?: unknown };
  const meta = Object.fromEntries(Object.entries(rest.metadata ?? {}).filter(([k]) => !VOLATILE.has(k)));
  const ann = meta.annotations as Record<string, string> | undefined;
  if (ann) {
    for (const k of RUN_ANNOTATIONS) delete ann[k];
    if (Object.keys(ann).length === 0) delete meta.annotations;
  }
  const template = podTemplateOf(rest);
  const tAnn = template?.metadata ? asObject((template.metadata as JsonObject).annotations) : undefined;
  if (template && tAnn) {
    for (const k of Object.keys(tAnn)) if (k.startsWith(AUDIT_PREFIX)) delete tAnn[k];
    if (Object.keys(tAnn).length === 0) delete (template.metadata as JsonObject).annotations;
  }
  return stableJson({ ...rest, metadata: meta });
}
