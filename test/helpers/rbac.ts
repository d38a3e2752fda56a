import { readFileSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';
import type { Cluster } from './cluster.js';

/**
 * The machinery of the least-privilege tests (test/cluster/rbac.test.ts, feature-env-rbac.test.ts):
 * the shipped RBAC files as documents, a ServiceAccount's token in a kubeconfig, waiting until the
 * authorizer applies a set of rules, the variants of a role with one verb removed, and whether a
 * message names a verb on a resource.
 */
export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
export interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
  subjects?: { kind: string; name: string; namespace?: string }[];
  roleRef?: { kind: string; name: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
}

export const docsOf = (file: string): Doc[] =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Doc);

/** A kubeconfig for the ServiceAccount `sa` of `namespace`: a TokenRequest token, the cluster's CA. */
export async function kubeconfigFor(
  cluster: Cluster,
  namespace: string,
  sa: string,
): Promise<{ token: string; kubeconfig: string }> {
  const tr = await cluster.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  if (tr.status !== 201) throw new Error(`TokenRequest: ${tr.status} ${tr.text}`);
  const token = (tr.body as { status: { token: string } }).status.token;
  const kubeconfig = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'c2c-test',
        cluster: {
          server: cluster.server,
          'certificate-authority-data': Buffer.from(cluster.caCert).toString('base64'),
        },
      },
    ],
    users: [{ name: sa, user: { token } }],
    contexts: [{ name: 'deployer', context: { cluster: 'c2c-test', user: sa, namespace } }],
    'current-context': 'deployer',
  });
  return { token, kubeconfig };
}

const keysOf = (rules: Rule[]) =>
  rules.flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${res}:${v}`)));

/**
 * Waits until the authorizer applies every (resource, verb) of `rules` to the token in `namespace`,
 * and none of `absent` (the keys `resource:verb` a variant removed).
 */
export async function rulesInForce(
  cluster: Cluster,
  token: string,
  namespace: string,
  rules: Rule[],
  absent: string[] = [],
): Promise<void> {
  const want = keysOf(rules);
  const end = Date.now() + 30_000;
  for (;;) {
    const review = await cluster.request(
      'POST',
      '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
      { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } },
      token,
    );
    const got = new Set(
      keysOf((review.body as { status?: { resourceRules?: Rule[] } })?.status?.resourceRules ?? []),
    );
    if (want.every((w) => got.has(w)) && absent.every((a) => !got.has(a))) return;
    if (Date.now() > end) throw new Error(`RBAC not in force after 30 s: ${review.text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Where the text names `verb` on one of the rule's resources: in the engine's words or the server's. */
export function naming(text: string, rule: Rule, verb: string): { engine: boolean; server: boolean } {
  let engine = false;
  let server = false;
  for (const resource of rule.resources) {
    const group = rule.apiGroups[0];
    const shown = group ? `${resource}.${group}` : resource;
    if (text.includes(`forbidden to ${verb} ${shown} `)) engine = true;
    if (text.includes(`cannot ${verb} resource "${resource}"`)) server = true;
  }
  return { engine, server };
}

/** Every verb the rules grant, removed one at a time. */
export function variants(rules: Rule[]): { id: string; rule: Rule; verb: string; rules: Rule[] }[] {
  return rules.flatMap((rule, i) =>
    rule.verbs.map((verb) => ({
      id: `${rule.resources[0]}:${verb}`,
      rule,
      verb,
      rules: rules
        .map((r, j) => (j === i ? { ...r, verbs: r.verbs.filter((v) => v !== verb) } : r))
        .filter((r) => r.verbs.length > 0),
    })),
  );
}
