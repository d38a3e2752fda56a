import { createHash } from 'node:crypto';
import type { KubeObject } from '../kube/index.js';

/**
 * Where feature environments keep their state: labels and annotations on their namespaces (no state
 * branch, no other store). Every namespace this suite makes for environments carries MANAGED and the
 * REPO label; reap never touches a namespace without both.
 *
 * Environments of one repository share a pool; PR_LABEL maps a pull request to its namespace, and the
 * claims index on the repository's control namespace (CLAIMS) makes that mapping exclusive under
 * concurrent runs (a compare-and-swap on one object's resourceVersion).
 */
export const PREFIX = 'commit-to-cloud.dev/';
export const MANAGED = `${PREFIX}feature-env`;
export const REPO = `${PREFIX}fe-repo`;
export const STATE = `${PREFIX}fe-state`;
export const PR_LABEL = `${PREFIX}fe-pr`;

export const A_REPOSITORY = `${PREFIX}fe-repository`;
export const A_PR_URL = `${PREFIX}fe-pull-request`;
export const A_SHA = `${PREFIX}fe-sha`;
export const A_EXPIRES = `${PREFIX}fe-expires-at`;
export const A_CREATED = `${PREFIX}fe-created-at`;
export const A_UPDATED = `${PREFIX}fe-updated-at`;
export const A_URL = `${PREFIX}fe-url`;
export const A_DATABASE = `${PREFIX}fe-database`;
export const CLAIMS = `${PREFIX}fe-claims`;

/** warming: a spare being deployed; spare: in the warm pool, ready, no pull request; active: a pull request's; control: the claims index. */
export type EnvState = 'warming' | 'spare' | 'active' | 'control';

/** A label-safe key of a repository (owner/repo can be longer than a label value may be). */
export function repoKey(repository: string): string {
  const slug = repository
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  const hash = createHash('sha256').update(repository.toLowerCase()).digest('hex').slice(0, 8);
  return `${slug}-${hash}`.replace(/^-/, '');
}

export interface Environment {
  namespace: string;
  state: EnvState;
  number?: number;
  sha?: string;
  expiresAt?: string;
  createdAt?: string;
  updatedAt?: string;
  url?: string;
  database?: string;
  resourceVersion?: string;
  /** Being deleted (the namespace is terminating). */
  terminating: boolean;
}

/** The environment a namespace holds, from its labels and annotations. */
export function environmentOf(ns: KubeObject): Environment {
  const labels = ns.metadata.labels ?? {};
  const ann = ns.metadata.annotations ?? {};
  const n = Number(labels[PR_LABEL]);
  const state = (labels[STATE] ?? 'active') as EnvState;
  return {
    namespace: String(ns.metadata.name),
    state,
    ...(Number.isSafeInteger(n) && n > 0 ? { number: n } : {}),
    ...(ann[A_SHA] ? { sha: ann[A_SHA] } : {}),
    ...(ann[A_EXPIRES] ? { expiresAt: ann[A_EXPIRES] } : {}),
    ...(ann[A_CREATED] ? { createdAt: ann[A_CREATED] } : {}),
    ...(ann[A_UPDATED] ? { updatedAt: ann[A_UPDATED] } : {}),
    ...(ann[A_URL] ? { url: ann[A_URL] } : {}),
    ...(ann[A_DATABASE] ? { database: ann[A_DATABASE] } : {}),
    ...(ns.metadata.resourceVersion ? { resourceVersion: ns.metadata.resourceVersion } : {}),
    terminating: !!(ns.metadata as { deletionTimestamp?: string }).deletionTimestamp,
  };
}

/** The label selector of a repository's managed namespaces (optionally one state, one pull request). */
export function selector(repository: string, o: { state?: EnvState; number?: number } = {}): string {
  return [
    `${MANAGED}=true`,
    `${REPO}=${repoKey(repository)}`,
    ...(o.state ? [`${STATE}=${o.state}`] : []),
    ...(o.number ? [`${PR_LABEL}=${o.number}`] : []),
  ].join(',');
}

/** The labels every managed namespace of a repository carries. */
export function baseLabels(repository: string, state: EnvState): Record<string, string> {
  return { [MANAGED]: 'true', [REPO]: repoKey(repository), [STATE]: state };
}

/** The claims index: pull request number -> namespace, kept on the control namespace. */
export function claimsOf(control: KubeObject | undefined): Record<string, string> {
  const raw = control?.metadata.annotations?.[CLAIMS];
  if (!raw) return {};
  try {
    const parsed = JSON.parse(raw) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string')) as Record<
          string,
          string
        >)
      : {};
  } catch {
    return {};
  }
}
