import { createHash } from 'node:crypto';
import { C2CError, errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { KubeClient, KubeObject, ResourceInfo } from '../kube/index.js';
import { groupOf, kindOf, nameOf, namespaceOf } from './objects.js';
import { keyOf, type SetItem } from './items.js';

/**
 * Prune as an ApplySet, the way kubectl defines it (KEP-3659), so that `kubectl` and this suite see
 * the same set:
 * - the parent is a ConfigMap `<prune-set>` in the set's namespace, labelled
 *   `applyset.kubernetes.io/id: applyset-<base64url(sha256(name.namespace.ConfigMap.))>-v1`, and
 *   annotated with the tooling and `applyset.kubernetes.io/contains-group-kinds` (every kind the set
 *   has held), and the other namespaces (`additional-namespaces`);
 * - every member carries the label `applyset.kubernetes.io/part-of: <id>`.
 * Before the apply the parent records the union of the kinds before and now (a run that dies
 * half-way leaves nothing unlisted); after a successful rollout, the objects of those kinds that
 * carry the set's label and are no longer in the manifests are deleted, and the parent records the
 * kinds of now. An object without the label (one the set never applied) is never a candidate.
 * Namespaces and PersistentVolumeClaims are removed only with prune-namespaces / prune-volumes.
 */
export const APPLYSET_ID = 'applyset.kubernetes.io/id';
export const PART_OF = 'applyset.kubernetes.io/part-of';
export const CONTAINS = 'applyset.kubernetes.io/contains-group-kinds';
export const ADDITIONAL_NAMESPACES = 'applyset.kubernetes.io/additional-namespaces';
export const TOOLING = 'applyset.kubernetes.io/tooling';
export const TOOLING_VALUE = 'commit-to-cloud/v1';

export interface PruneOptions {
  /** The ApplySet's name: the parent ConfigMap's. */
  set: string;
  volumes: boolean;
  namespaces: boolean;
}

/** The ApplySet id of a ConfigMap parent, as kubectl computes it. */
export function applySetId(name: string, namespace: string): string {
  const digest = createHash('sha256').update(`${name}.${namespace}.ConfigMap.`).digest('base64url');
  return `applyset-${digest}-v1`;
}

/** A group-kind as the annotation writes it: `Deployment.apps`, `Service` (core). */
export function groupKindOf(apiVersion: string, kind: string): string {
  const group = groupOf(apiVersion);
  return group ? `${kind}.${group}` : kind;
}

export interface PrunePlan {
  parentNamespace: string;
  id: string;
  /** The kinds of the set now, and those the parent recorded before. */
  now: string[];
  before: string[];
  namespaces: string[];
  /** What would be deleted, kind/namespace/name. */
  candidates: KubeObject[];
  /** Left alone: Namespaces and PersistentVolumeClaims without their flag. */
  kept: string[];
  /** Their kinds: still members, so the parent keeps listing them. */
  keptKinds: string[];
}

/** The set as its parent records it and as the manifests make it, each kind resolved (readSet). */
export interface SetKinds {
  parentNamespace: string;
  id: string;
  /** The kinds of the set now, and those the parent recorded before. */
  now: string[];
  before: string[];
  namespaces: string[];
  /** Where members may be: the parent's namespace, the set's, and those the parent recorded. */
  lookIn: string[];
  /** Every kind of before and now that the cluster still serves, with its group-kind. */
  kinds: { gk: string; info: ResourceInfo }[];
}

/**
 * Labels every member with the set's id, reads the parent (refusing a ConfigMap of that name that is
 * not this set's) and resolves every kind the set holds or held. Changes nothing on the cluster.
 */
export async function readSet(
  client: KubeClient,
  items: SetItem[],
  o: { set: string; namespace?: string },
): Promise<SetKinds> {
  const namespaces = [...new Set(items.map((i) => i.namespace).filter((n): n is string => !!n))].sort();
  const parentNamespace = o.namespace || namespaces[0];
  if (!parentNamespace)
    throw new C2CError(
      "Input 'prune': the set has no namespaced object, and 'namespace' is empty: there is no namespace for its ApplySet parent",
    );
  const id = applySetId(o.set, parentNamespace);
  for (const it of items) {
    const labels = (it.object.metadata.labels ??= {});
    labels[PART_OF] = id;
  }
  const parent = await client.get({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: parentNamespace,
    name: o.set,
  });
  if (parent) {
    const own = parent.metadata.labels?.[APPLYSET_ID];
    if (own !== id)
      throw new C2CError(
        `Input 'prune-set': ConfigMap ${parentNamespace}/${o.set} exists and is not this ApplySet's parent (its ${APPLYSET_ID} is ${own ? `'${own}'` : 'missing'}): nothing is pruned or changed; choose another 'prune-set'`,
      );
  }
  const before = (parent?.metadata.annotations?.[CONTAINS] ?? '').split(',').filter(Boolean);
  const beforeNs = (parent?.metadata.annotations?.[ADDITIONAL_NAMESPACES] ?? '').split(',').filter(Boolean);
  const now = [...new Set(items.map((i) => groupKindOf(i.info.apiVersion, i.info.kind)))].sort();
  // Discovery only for a kind the set no longer holds (its version is not in the manifests).
  let versions: string[] | undefined;
  const kinds: SetKinds['kinds'] = [];
  for (const gk of [...new Set([...before, ...now])].sort()) {
    const dot = gk.indexOf('.');
    const [kind, group] = dot < 0 ? [gk, ''] : [gk.slice(0, dot), gk.slice(dot + 1)];
    const apiVersion =
      items.find((i) => i.info.kind === kind && groupOf(i.info.apiVersion) === group)?.info.apiVersion ??
      (versions ??= await client.apiVersions()).find((v) =>
        group ? v.startsWith(`${group}/`) : !v.includes('/'),
      );
    if (!apiVersion) continue; // the kind is not served any more: nothing of it can be left
    kinds.push({ gk, info: await client.resource(apiVersion, kind) });
  }
  const lookIn = [...new Set([parentNamespace, ...namespaces, ...beforeNs])].sort();
  return { parentNamespace, id, now, before, namespaces, lookIn, kinds };
}

/**
 * The set (readSet), and the members of earlier runs that are no longer in it. Changes nothing on
 * the cluster. That the identity may delete them was checked before the run took its lock
 * (permissions.ts, from the same kinds).
 */
export async function planPrune(
  client: KubeClient,
  items: SetItem[],
  o: PruneOptions & { namespace?: string; logger: Logger },
): Promise<PrunePlan> {
  const set = await readSet(client, items, o);
  const { parentNamespace, id } = set;
  const current = new Set(items.map((i) => i.key));
  const candidates: KubeObject[] = [];
  const kept: string[] = [];
  const keptKinds = new Set<string>();
  for (const { gk, info } of set.kinds) {
    const { apiVersion, kind } = info;
    for (const ns of info.namespaced ? set.lookIn : [undefined]) {
      const found = await client.list(apiVersion, kind, {
        ...(ns ? { namespace: ns } : {}),
        labelSelector: `${PART_OF}=${id}`,
      });
      for (const obj of found.items) {
        const key = keyOf(kindOf(obj), namespaceOf(obj), nameOf(obj));
        if (current.has(key) || obj.metadata.deletionTimestamp) continue;
        if ((kind === 'Namespace' && !o.namespaces) || (kind === 'PersistentVolumeClaim' && !o.volumes)) {
          kept.push(`${key} (${kind === 'Namespace' ? 'prune-namespaces' : 'prune-volumes'} is false)`);
          keptKinds.add(gk);
          continue;
        }
        candidates.push({ ...obj, apiVersion, kind });
      }
    }
  }
  o.logger.info(
    `ApplySet ${parentNamespace}/${o.set} (${id}): ${candidates.length ? `${candidates.length} object(s) no longer in the set: ${candidates.map((c) => keyOf(c.kind, namespaceOf(c), nameOf(c))).join(', ')}` : 'nothing to prune'}${kept.length ? `; kept: ${kept.join(', ')}` : ''}`,
  );
  return {
    parentNamespace,
    id,
    now: set.now,
    before: set.before,
    namespaces: set.namespaces,
    candidates,
    kept,
    keptKinds: [...keptKinds],
  };
}

/** The parent ConfigMap, applied (server-side) with these kinds. */
export async function writeParent(
  client: KubeClient,
  set: string,
  plan: PrunePlan,
  kinds: string[],
  force: boolean,
): Promise<void> {
  const others = plan.namespaces.filter((n) => n !== plan.parentNamespace);
  await client.apply(
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: set,
        namespace: plan.parentNamespace,
        labels: { [APPLYSET_ID]: plan.id },
        annotations: {
          [TOOLING]: TOOLING_VALUE,
          [CONTAINS]: [...kinds].sort().join(','),
          ...(others.length ? { [ADDITIONAL_NAMESPACES]: others.join(',') } : {}),
        },
      },
    },
    { force },
  );
}

/** Deletes the candidates (background propagation); returns what was removed and what could not be. */
export async function prune(
  client: KubeClient,
  plan: PrunePlan,
  logger: Logger,
): Promise<{ removed: string[]; problems: string[] }> {
  const removed: string[] = [];
  const problems: string[] = [];
  for (const c of plan.candidates) {
    const key = keyOf(c.kind, namespaceOf(c), nameOf(c));
    try {
      await client.delete(
        {
          apiVersion: c.apiVersion,
          kind: c.kind,
          name: nameOf(c),
          ...(c.metadata.namespace ? { namespace: c.metadata.namespace } : {}),
        },
        { propagationPolicy: 'Background' },
      );
      removed.push(key);
      logger.info(`pruned ${key} (no longer in the set)`);
    } catch (e) {
      problems.push(`${key}: ${errorMessage(e)}`);
    }
  }
  return { removed, problems };
}
