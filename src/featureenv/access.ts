import { C2CError } from '../core/index.js';
import { KubeForbiddenError, type KubeClient, type KubeObject } from '../kube/index.js';
import type { Scope } from './claims.js';

/**
 * The engine's access inside the namespaces it makes. Cluster-wide, the feature-env identity may only
 * make namespaces and RoleBindings (rbac/feature-env-clusterrole.yaml, fenced to its own namespaces
 * by rbac/feature-env-admission-policy.yaml); everything the deploy does inside a namespace comes
 * from the RoleBinding written here, right after the namespace and before anything else goes in:
 * it binds the identity the engine runs as to NAMESPACE_ROLE in that namespace only.
 */
export const NAMESPACE_ROLE = 'commit-to-cloud-feature-env-namespace';
/** The RoleBinding's name in each namespace. */
export const ACCESS_BINDING = 'commit-to-cloud-feature-env';
/** The group an EKS IAM role is mapped to (rbac/feature-env-clusterrole.yaml): bound instead of the session's username. */
export const EKS_GROUP = 'commit-to-cloud-feature-env';
const FIELD_MANAGER = 'commit-to-cloud-feature-env';

export interface Subject {
  kind: 'ServiceAccount' | 'User' | 'Group';
  name: string;
  namespace?: string;
  apiGroup?: string;
}

/**
 * Who the RoleBinding names: the ServiceAccount the credentials are; else the EKS group when the
 * identity carries it (an assumed role's username changes with every session); else the user.
 */
export function subjectOf(user: { username: string; groups: string[] }): Subject {
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(user.username);
  if (sa) return { kind: 'ServiceAccount', name: sa[2]!, namespace: sa[1]! };
  if (user.groups.includes(EKS_GROUP))
    return { kind: 'Group', name: EKS_GROUP, apiGroup: 'rbac.authorization.k8s.io' };
  return { kind: 'User', name: user.username, apiGroup: 'rbac.authorization.k8s.io' };
}

const subjects = new WeakMap<KubeClient, Promise<Subject>>();

/** The identity of the client's credentials, asked once per client (SelfSubjectReview). */
function subjectFor(client: KubeClient): Promise<Subject> {
  let p = subjects.get(client);
  if (!p) {
    p = client.whoAmI().then(subjectOf);
    subjects.set(client, p);
    p.catch(() => subjects.delete(client));
  }
  return p;
}

/**
 * Binds NAMESPACE_ROLE to the engine's identity in the namespace just written (`ns`, returned as
 * it is): server-side apply, so writing a namespace again (a claimed spare, an update) keeps it.
 */
export async function grantAccess(s: Scope, ns: KubeObject): Promise<KubeObject> {
  const namespace = String(ns.metadata.name);
  const subject = await subjectFor(s.client);
  try {
    await s.client.apply(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: {
          name: ACCESS_BINDING,
          namespace,
          labels: { 'app.kubernetes.io/managed-by': 'commit-to-cloud' },
        },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAMESPACE_ROLE },
        subjects: [subject],
      },
      { fieldManager: FIELD_MANAGER, force: true },
    );
  } catch (e) {
    // Without `bind` on the role the server refuses "to grant RBAC permissions not currently held".
    if (e instanceof KubeForbiddenError && !e.denied && /not currently held/.test(e.message))
      throw new C2CError(
        `Kubernetes RBAC: forbidden to bind clusterroles.rbac.authorization.k8s.io "${NAMESPACE_ROLE}" in namespace ${namespace}: ` +
          `the feature-env identity gets its access inside each namespace it makes from a RoleBinding to that ClusterRole. ` +
          `Grant it the 'bind' verb on clusterroles, resourceNames [${NAMESPACE_ROLE}] (rbac/feature-env-clusterrole.yaml)`,
        { cause: e },
      );
    throw e;
  }
  await inForce(s, namespace);
  return ns;
}

/** Resources only NAMESPACE_ROLE grants the identity (the cluster-wide role grants none of them). */
const NAMESPACE_RESOURCES = new Set(['*', 'secrets', 'configmaps', 'services', 'deployments', 'ingresses']);
const IN_FORCE_WAIT_MS = 15_000;

/**
 * Waits (bounded) until the authorizer applies the RoleBinding: a new binding reaches its cache a
 * moment after it is stored, and the deploy's first read must not be refused meanwhile.
 */
async function inForce(s: Scope, namespace: string): Promise<void> {
  const until = Date.now() + IN_FORCE_WAIT_MS;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    const { resourceRules } = await s.client.rulesIn(namespace);
    if (resourceRules.some((r) => (r.resources ?? []).some((x) => NAMESPACE_RESOURCES.has(x)))) return;
    if (Date.now() >= until)
      throw new C2CError(
        `The RoleBinding ${ACCESS_BINDING} in namespace ${namespace} grants the feature-env identity nothing after ${IN_FORCE_WAIT_MS / 1000}s: ` +
          `is the ClusterRole ${NAMESPACE_ROLE} installed? (kubectl apply -f rbac/feature-env-clusterrole.yaml)`,
      );
    await new Promise((r) => setTimeout(r, delay));
  }
}
