import { C2CError, eachLimit, errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { KubeClient } from '../kube/index.js';
import { groupByCollection, type SetItem } from './items.js';
import { adapterOf, isWatchedKind } from './kinds/index.js';
import { workloadOverrides } from './overrides.js';
import { isPreDeploy } from './phases.js';
import type { DeployOptions } from './inputs.js';
import type { SetKinds } from './prune.js';

/**
 * The permissions a deploy needs, checked before its first write (the lock included): one
 * SelfSubjectAccessReview per verb, resource and namespace, and every missing one named at once,
 * with the Role rule that would grant it. Without this a missing `watch` or `delete` shows only
 * when it is used, after the apply, which then has to be undone.
 *
 * Two kinds of need: what the run cannot do without (the apply, the watch, the rollback and the
 * undo, prune, the lock) stops it; what only makes it better (fail-fast's pod watch, the failure
 * report's pods, events and logs, the autoscaler hand-over) is one warning, and the run goes on
 * without it, as it would have anyway.
 */
export interface Need {
  verb: string;
  /** The API group ('' for the core group). */
  group: string;
  /** The resource as RBAC names it; `pods/log` for a subresource. */
  resource: string;
  /** Where; none for a cluster-scoped resource. */
  namespace?: string;
  /** What of the run uses it, for the message. */
  why: string;
  /** Without it the run goes on with less (a warning). */
  optional?: boolean;
  /** Only a deploy needs it, not a dry run (which then warns that a deploy would stop). */
  writes?: boolean;
}

export interface NeedsOptions {
  opts: Pick<DeployOptions, 'rollbackOnFailure' | 'failFast' | 'strategy'>;
  /** The deploy lock is taken (the action and c2c take it). */
  lock: boolean;
  /** With prune: the set as its parent records it (readSet), and the prune flags. */
  prune?: { set: SetKinds; volumes: boolean; namespaces: boolean };
}

/** What this run of the set will ask the API server for. */
export function deployNeeds(items: SetItem[], o: NeedsOptions): Need[] {
  const needs: Need[] = [];
  const add = (n: Need) => needs.push(n);
  const namespaces = [...new Set(items.map((i) => i.namespace).filter((n): n is string => !!n))];
  const rollback = o.opts.rollbackOnFailure;
  for (const [, group] of groupByCollection(items)) {
    const { info, namespace } = group[0]!;
    const at = { group: info.group, resource: info.resource, ...(namespace ? { namespace } : {}) };
    add({ ...at, verb: liveReadVerb(group), why: 'what runs now' });
    add({
      ...at,
      verb: 'create',
      why: 'server-side apply of an object that does not exist yet (the dry run too)',
    });
    add({ ...at, verb: 'patch', why: 'server-side apply (the dry run first)' });
    const watched = isWatchedKind(info.kind) && group.some((i) => workloadOverrides(i.object).watch);
    if (watched) add({ ...at, verb: 'watch', why: 'the rollout watch', writes: true });
    if (rollback) {
      add({ ...at, verb: 'delete', why: 'the undo: what this run created is deleted again', writes: true });
      const adapter = adapterOf(info.kind);
      if (adapter?.rollback) {
        add({ ...at, verb: 'get', why: 'the rollback reads the workload', writes: true });
        for (const r of adapter.rollbackReads ?? [])
          add({
            ...r,
            ...(namespace ? { namespace } : {}),
            why: `the rollback of ${info.kind}s: their history`,
            writes: true,
          });
      }
    }
    if (group.some((i) => isPreDeploy(i.object)))
      add({
        ...at,
        verb: 'delete',
        why: 'a pre-deploy Job whose template changed is run again as a new Job',
        writes: true,
      });
    if (info.kind === 'Deployment' && o.opts.strategy !== 'rolling')
      add({ ...at, verb: 'delete', why: 'the canary Deployment is removed', writes: true });
  }
  for (const ns of namespaces) {
    const inNs = items.filter((i) => i.namespace === ns);
    const watchedHere = inNs.some((i) => isWatchedKind(i.info.kind));
    if (inNs.some((i) => adapterOf(i.info.kind)?.scalable))
      add({
        group: 'autoscaling',
        resource: 'horizontalpodautoscalers',
        namespace: ns,
        verb: 'list',
        why: 'which workloads an autoscaler scales (their replicas are left to it)',
        optional: true,
      });
    if (watchedHere) {
      // What a rollout's pods are followed and explained by: [resource, verb, why].
      const pods: [string, string, string][] = [
        ...(o.opts.failFast
          ? ([
              ['pods', 'list', "fail-fast's pod watch"],
              ['pods', 'watch', "fail-fast's pod watch"],
            ] as [string, string, string][])
          : []),
        ['pods', 'list', 'the failure report'],
        ['events', 'list', 'the failure report'],
        ['pods/log', 'get', "the failure report's log lines"],
      ];
      for (const [resource, verb, why] of pods)
        add({ group: '', resource, namespace: ns, verb, why, optional: true, writes: true });
    }
    if (o.lock)
      for (const verb of ['get', 'create', 'patch'])
        add({
          group: 'coordination.k8s.io',
          resource: 'leases',
          namespace: ns,
          verb,
          why: 'the deploy lock',
          writes: true,
        });
  }
  if (o.prune) {
    const { set, volumes, namespaces: pruneNamespaces } = o.prune;
    const parent = { group: '', resource: 'configmaps', namespace: set.parentNamespace };
    add({ ...parent, verb: 'get', why: "the ApplySet's parent ConfigMap" });
    for (const verb of ['create', 'patch'])
      add({ ...parent, verb, why: "the ApplySet's parent ConfigMap", writes: true });
    for (const { info } of set.kinds) {
      const kept =
        (info.kind === 'Namespace' && !pruneNamespaces) ||
        (info.kind === 'PersistentVolumeClaim' && !volumes);
      for (const ns of info.namespaced ? set.lookIn : [undefined]) {
        const at = { group: info.group, resource: info.resource, ...(ns ? { namespace: ns } : {}) };
        add({ ...at, verb: 'list', why: "prune: the ApplySet's members" });
        if (!kept)
          add({
            ...at,
            verb: 'delete',
            why: 'prune: a member no longer in the set is removed',
            writes: true,
          });
      }
    }
  }
  return needs;
}

/**
 * How the live objects of one collection are read (readLive): the lone object of a kind that is not
 * watched with a get, the others with one list (which also gives where the watch starts).
 */
export function liveReadVerb(group: SetItem[]): 'get' | 'list' {
  return group.length === 1 && !isWatchedKind(group[0]!.info.kind) ? 'get' : 'list';
}

const NEED_KEY = (n: Need) => `${n.verb}|${n.group}|${n.resource}|${n.namespace ?? ''}`;
const CONCURRENCY = 8;

/**
 * Asks the authorizer about every need (one review each, duplicates asked once) and throws one
 * C2CError naming every missing permission the run cannot do without, with the rules that would
 * grant them; what it can do without is one warning. A server that answers no review (an old one,
 * or one that refuses them) is warned about, and the run goes on as it would have.
 */
export async function checkPermissions(
  client: KubeClient,
  needs: Need[],
  o: { dryRun: boolean; logger: Logger },
): Promise<void> {
  const byKey = new Map<string, Need[]>();
  for (const n of needs) byKey.set(NEED_KEY(n), [...(byKey.get(NEED_KEY(n)) ?? []), n]);
  const keys = [...byKey.keys()];
  const denied = new Set<string>();
  try {
    await eachLimit(keys, CONCURRENCY, async (key) => {
      if (!(await client.mayI(byKey.get(key)![0]!))) denied.add(key);
    });
  } catch (e) {
    o.logger.warning(
      `could not check the deploying identity's permissions before the deploy (SelfSubjectAccessReview): ${errorMessage(e)}; a missing one shows when it is used`,
    );
    return;
  }
  if (denied.size === 0) return;
  // One entry per missing permission: required when any use of it is, and a write when every
  // required use is one.
  const missing = [...denied].map((key) => {
    const uses = byKey.get(key)!;
    const required = uses.filter((u) => !u.optional);
    const n = uses[0]!;
    return {
      need: n,
      why: [...new Set(uses.map((u) => u.why))].join('; '),
      optional: required.length === 0,
      writes: (required.length ? required : uses).every((u) => u.writes),
    };
  });
  const stops = missing.filter((m) => !m.optional && !(o.dryRun && m.writes));
  const deployStops = o.dryRun ? missing.filter((m) => !m.optional && m.writes) : [];
  const less = missing.filter((m) => m.optional);
  if (deployStops.length)
    o.logger.warning(
      `a deploy (not this dry run) would stop before anything changed: the deploying identity lacks ${deployStops.length} permission(s):\n${lines(deployStops)}\n${rulesText(deployStops.map((m) => m.need))}`,
    );
  if (less.length)
    o.logger.warning(
      `the deploying identity lacks ${less.length} permission(s) the deploy goes on without (it does less):\n${lines(less)}`,
    );
  if (stops.length)
    throw new C2CError(
      `The deploying identity lacks ${stops.length} permission(s) this ${o.dryRun ? 'dry run' : 'deploy'} needs; nothing was changed:\n${lines(stops)}\n${rulesText(stops.map((m) => m.need))}`,
    );
}

function shown(n: Pick<Need, 'group' | 'resource'>): string {
  return n.group ? `${n.resource}.${n.group}` : n.resource;
}

function lines(missing: { need: Need; why: string }[]): string {
  return missing
    .map(
      ({ need, why }) =>
        `  - Kubernetes RBAC: forbidden to ${need.verb} ${shown(need)} ${need.namespace ? `in namespace "${need.namespace}"` : 'at the cluster scope'} (${why})`,
    )
    .join('\n');
}

/** The Role (per namespace) and ClusterRole rules that grant what is missing, as YAML. */
function rulesText(needs: Need[]): string {
  const byScope = new Map<string, Map<string, Set<string>>>();
  for (const n of needs) {
    const scope = n.namespace ?? '';
    const rules = byScope.get(scope) ?? new Map<string, Set<string>>();
    const rk = `${n.group}|${n.resource}`;
    rules.set(rk, (rules.get(rk) ?? new Set()).add(n.verb));
    byScope.set(scope, rules);
  }
  const out: string[] = [];
  for (const [scope, rules] of [...byScope].sort()) {
    out.push(
      scope
        ? `Rules that grant them, in a Role in namespace ${scope} bound to the deploying identity (rbac/deploy-role.yaml holds them all):`
        : 'Rules that grant them, in a ClusterRole bound to the deploying identity:',
    );
    for (const [rk, verbs] of [...rules].sort()) {
      const [group, resource] = rk.split('|') as [string, string];
      out.push(
        `  - apiGroups: [${group ? group : "''"}]`,
        `    resources: [${resource}]`,
        `    verbs: [${[...verbs].join(', ')}]`,
      );
    }
  }
  return out.join('\n');
}
