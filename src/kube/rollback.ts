import { C2CError } from '../core/index.js';
import { FIELD_MANAGER, type KubeClient } from './client.js';
import type { KubeObject } from './types.js';

/**
 * What `kubectl rollout undo` does, for the engine's automatic rollback.
 * - Deployments: the ReplicaSets the Deployment controls carry `deployment.kubernetes.io/revision`;
 *   the one with the highest revision below the current is the previous one, and its pod template
 *   (without the pod-template-hash label) is written back with a JSON patch, as kubectl does.
 * - StatefulSets and DaemonSets: their ControllerRevisions hold the previous template as a
 *   strategic-merge patch (`data`), applied back as kubectl does.
 * A workload with no earlier revision (created by this run) cannot be rolled back: NoPreviousRevisionError.
 */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const POD_TEMPLATE_HASH = 'pod-template-hash';
const CONTROLLER_REVISION_HASH = 'controller-revision-hash';
// The annotations kubectl keeps from the Deployment instead of copying them from the ReplicaSet.
const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

export class NoPreviousRevisionError extends C2CError {
  override name = 'NoPreviousRevisionError';
}

export interface RollbackResult {
  kind: string;
  namespace: string;
  name: string;
  /** The revision that was current before the rollback. */
  fromRevision: number;
  /** The revision whose template now runs again. */
  toRevision: number;
  /** True when the current template already matched the previous revision (nothing patched). */
  skipped: boolean;
  /** The object as the server returned it after the patch (or as it was, when skipped). */
  object: KubeObject;
}

export interface RollbackOptions {
  /**
   * 'apply' (default for Deployments): a forced server-side apply, by fieldManager, of what that
   * manager owns on the live object with the previous pod template (and the previous revision's
   * values of the annotations it owns). The fields stay owned by the deploying manager, so the next
   * deploy applies without conflicts.
   * 'patch': exactly kubectl's JSON patch (spec.template and metadata.annotations replaced). The
   * changed fields then belong to the patching manager as an Update, and the next server-side apply
   * of a different image by the deploying manager conflicts unless forced.
   * StatefulSets and DaemonSets are always rolled back with kubectl's strategic patch.
   */
  mode?: 'apply' | 'patch';
  /** Field manager. Default FIELD_MANAGER ('commit-to-cloud') for 'apply', 'commit-to-cloud-rollback' for patches. */
  fieldManager?: string;
  dryRun?: boolean;
}

type Fields = Record<string, unknown>;

/**
 * The part of an object a field manager owns (its FieldsV1 set), as an applied configuration: what
 * client-go's Extract<Kind> functions give. apiVersion, kind, name and namespace are always kept.
 */
export function extractOwned(
  obj: KubeObject,
  manager: string,
  operation: 'Apply' | 'Update' = 'Apply',
): KubeObject {
  const entry = (obj.metadata.managedFields ?? []).find(
    (e) => e.manager === manager && e.operation === operation && !e.subresource,
  );
  const matches = (it: unknown, want: Record<string, unknown>) =>
    !!it &&
    typeof it === 'object' &&
    Object.entries(want).every(
      ([wk, wv]) => ((it as Record<string, unknown>)[wk] ?? (wk === 'protocol' ? 'TCP' : undefined)) === wv,
    );
  const pick = (value: unknown, fields: Fields): unknown => {
    const keys = Object.keys(fields).filter((k) => k !== '.');
    if (!keys.length) return structuredClone(value);
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (const k of keys) {
        if (!k.startsWith('k:')) continue;
        const want = JSON.parse(k.slice(2)) as Record<string, unknown>;
        const item = value.find((it) => matches(it, want));
        if (item) out.push({ ...want, ...(pick(item, fields[k] as Fields) as object) });
      }
      return out;
    }
    if (!value || typeof value !== 'object') return structuredClone(value);
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      if (!k.startsWith('f:')) continue;
      const v = (value as Record<string, unknown>)[k.slice(2)];
      if (v !== undefined) out[k.slice(2)] = pick(v, fields[k] as Fields);
    }
    return out;
  };
  const owned = (entry ? pick(obj, entry.fieldsV1) : {}) as Partial<KubeObject>;
  return {
    ...owned,
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: {
      ...(owned.metadata ?? {}),
      name: obj.metadata.name,
      ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    },
  };
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** A label selector as the query-string form the API server takes. */
export function selectorString(sel: LabelSelector | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    const vals = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${vals})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${vals})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

function controlledBy(o: KubeObject, owner: KubeObject): boolean {
  return (o.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === owner.metadata.uid);
}

function revisionOf(o: KubeObject): number {
  const v = Number(o.metadata.annotations?.[REVISION_ANNOTATION]);
  return Number.isFinite(v) ? v : 0;
}

function stripHash(template: unknown, label: string): Record<string, unknown> {
  const t = structuredClone((template ?? {}) as Record<string, unknown>);
  const meta = (t.metadata ?? {}) as { labels?: Record<string, string> };
  if (meta.labels) delete meta.labels[label];
  return t;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v as object)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** The Deployment's revision history: its ReplicaSets, newest revision first. */
export async function deploymentHistory(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<{ deployment: KubeObject; replicaSets: KubeObject[] }> {
  const deployment = await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name });
  if (!deployment) throw new C2CError(`Deployment "${name}" in namespace "${namespace}" does not exist`);
  const spec = deployment.spec as { selector?: LabelSelector };
  const rsList = await client.list('apps/v1', 'ReplicaSet', {
    namespace,
    labelSelector: selectorString(spec.selector),
  });
  const replicaSets = rsList.items
    .filter((rs) => controlledBy(rs, deployment))
    .sort((a, b) => revisionOf(b) - revisionOf(a));
  return { deployment, replicaSets };
}

export async function rollbackDeployment(
  client: KubeClient,
  namespace: string,
  name: string,
  opts: RollbackOptions = {},
): Promise<RollbackResult> {
  const { deployment, replicaSets } = await deploymentHistory(client, namespace, name);
  const spec = deployment.spec as { paused?: boolean; template?: unknown };
  if (spec.paused)
    throw new C2CError(
      `Deployment "${name}" in namespace "${namespace}" is paused: resume it before rolling back`,
    );
  const current = revisionOf(deployment) || (replicaSets[0] ? revisionOf(replicaSets[0]) : 0);
  const previous = replicaSets.find((rs) => revisionOf(rs) > 0 && revisionOf(rs) < current);
  if (!previous)
    throw new NoPreviousRevisionError(
      `Deployment "${name}" in namespace "${namespace}" has no revision before ${current}: nothing to roll back to`,
    );
  const template = stripHash((previous.spec as { template?: unknown }).template, POD_TEMPLATE_HASH);
  const result = {
    kind: 'Deployment',
    namespace,
    name,
    fromRevision: current,
    toRevision: revisionOf(previous),
  };
  if (canonical(stripHash(spec.template, POD_TEMPLATE_HASH)) === canonical(template))
    return { ...result, skipped: true, object: deployment };
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(deployment.metadata.annotations ?? {}))
    if (ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
  for (const [k, v] of Object.entries(previous.metadata.annotations ?? {}))
    if (!ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
  if ((opts.mode ?? 'apply') === 'apply') {
    const manager = opts.fieldManager ?? FIELD_MANAGER;
    const config = extractOwned(deployment, manager);
    const owned = config.metadata.annotations;
    if (owned)
      for (const k of Object.keys(owned)) if (annotations[k] !== undefined) owned[k] = annotations[k]!;
    config.spec = { ...((config.spec as object) ?? {}), template };
    const object = await client.apply(config, {
      fieldManager: manager,
      force: true,
      ...(opts.dryRun ? { dryRun: true } : {}),
    });
    return { ...result, skipped: false, object };
  }
  const object = await client.patch(
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name },
    [
      { op: 'replace', path: '/spec/template', value: template },
      { op: 'replace', path: '/metadata/annotations', value: annotations },
    ],
    'json',
    {
      fieldManager: opts.fieldManager ?? 'commit-to-cloud-rollback',
      ...(opts.dryRun ? { dryRun: true } : {}),
    },
  );
  return { ...result, skipped: false, object };
}

/** StatefulSet or DaemonSet: back to the ControllerRevision before the current one. */
export async function rollbackWithControllerRevisions(
  client: KubeClient,
  kind: 'StatefulSet' | 'DaemonSet',
  namespace: string,
  name: string,
  opts: RollbackOptions = {},
): Promise<RollbackResult> {
  const obj = await client.get({ apiVersion: 'apps/v1', kind, namespace, name });
  if (!obj) throw new C2CError(`${kind} "${name}" in namespace "${namespace}" does not exist`);
  const spec = obj.spec as { selector?: LabelSelector; template?: unknown };
  const list = await client.list('apps/v1', 'ControllerRevision', {
    namespace,
    labelSelector: selectorString(spec.selector),
  });
  const history = list.items
    .filter((cr) => controlledBy(cr, obj))
    .sort((a, b) => Number(b.revision ?? 0) - Number(a.revision ?? 0));
  const current = history[0];
  const previous = history[1];
  if (!current || !previous)
    throw new NoPreviousRevisionError(
      `${kind} "${name}" in namespace "${namespace}" has no earlier revision: nothing to roll back to`,
    );
  const data = previous.data as { spec?: { template?: unknown } } | undefined;
  const result = {
    kind,
    namespace,
    name,
    fromRevision: Number(current.revision ?? 0),
    toRevision: Number(previous.revision ?? 0),
  };
  const prevTemplate = stripHash(data?.spec?.template, CONTROLLER_REVISION_HASH);
  delete prevTemplate.$patch;
  if (canonical(stripHash(spec.template, CONTROLLER_REVISION_HASH)) === canonical(prevTemplate))
    return { ...result, skipped: true, object: obj };
  const object = await client.patch(
    { apiVersion: 'apps/v1', kind, namespace, name },
    data ?? {},
    'strategic',
    {
      fieldManager: opts.fieldManager ?? 'commit-to-cloud-rollback',
      ...(opts.dryRun ? { dryRun: true } : {}),
    },
  );
  return { ...result, skipped: false, object };
}
