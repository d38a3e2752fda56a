import { createHash } from 'node:crypto';
import type { KubeObject } from '../kube/index.js';

/**
 * Where feature environments keep their state: labels and annotations on their namespaces (no state
 * branch, no other store). Every namespace this suite makes for environments carries MANAGED, the
 * REPO label and the SET label; up, down, reap and the pools act only on namespaces of their own set.
 *
 * A set is what one workflow manages: repository + `namespace-prefix` + `label`. Two workflows of one
 * repository (`feature-env` and `preview`), or two repositories on the default prefix, are two sets:
 * their environments, spares, claims and databases never mix. PR_LABEL maps a pull request to its
 * namespace, and the index on the set's control namespace (INDEX: claims and pool) makes that mapping
 * exclusive under concurrent runs (a compare-and-swap on one object's resourceVersion).
 */
export const PREFIX = 'commit-to-cloud.dev/';
export const MANAGED = `${PREFIX}feature-env`;
export const REPO = `${PREFIX}fe-repo`;
export const STATE = `${PREFIX}fe-state`;
export const PR_LABEL = `${PREFIX}fe-pr`;
export const SET = `${PREFIX}fe-set`;

export const A_REPOSITORY = `${PREFIX}fe-repository`;
export const A_PR_URL = `${PREFIX}fe-pull-request`;
export const A_SHA = `${PREFIX}fe-sha`;
export const A_EXPIRES = `${PREFIX}fe-expires-at`;
export const A_CREATED = `${PREFIX}fe-created-at`;
export const A_UPDATED = `${PREFIX}fe-updated-at`;
export const A_URL = `${PREFIX}fe-url`;
/** Every service's URL (JSON [{service, url}]): what the comment of a command shows. */
export const A_URLS = `${PREFIX}fe-urls`;
export const A_DATABASE = `${PREFIX}fe-database`;
export const A_LABEL = `${PREFIX}fe-label`;
export const A_PREFIX = `${PREFIX}fe-namespace-prefix`;
/** The last time someone used the environment (an up, a command, a wake): what sleep-after counts from. */
export const A_ACTIVE = `${PREFIX}fe-active-at`;
/** `/feature-env keep`: no expiry, no sleep, until unkeep or the pull request closes. */
export const A_KEEP = `${PREFIX}fe-keep`;
/** Since when the environment sleeps (its workloads scaled to 0); absent while awake. */
export const A_ASLEEP = `${PREFIX}fe-asleep-since`;
/** The database db-init last set up successfully (its id): FIRST_RUN is true for any other. */
export const A_DB_INIT = `${PREFIX}fe-db-init-done`;
/** On a spare: the commit its manifests came from (the scheduled run's, the default branch's head). */
export const A_BASELINE = `${PREFIX}fe-baseline`;
/** The set's index (claims and pool), an annotation of its control namespace. */
export const INDEX = `${PREFIX}fe-index`;

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
  /** Every service's URL (from A_URLS; the one URL of A_URL for environments made before). */
  urls: Array<{ service: string; url: string }>;
  database?: string;
  /** The last use (up, command, wake); the last update for environments made before it was kept. */
  activeAt?: string;
  /** Kept (`/feature-env keep`): no expiry, no sleep. */
  keep: boolean;
  /** Asleep since then. */
  asleepSince?: string;
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
    urls: urlsOf(ann),
    ...(ann[A_DATABASE] ? { database: ann[A_DATABASE] } : {}),
    ...(ann[A_ACTIVE] || ann[A_UPDATED] ? { activeAt: ann[A_ACTIVE] || ann[A_UPDATED] } : {}),
    keep: ann[A_KEEP] === 'true',
    ...(ann[A_ASLEEP] ? { asleepSince: ann[A_ASLEEP] } : {}),
    ...(ns.metadata.resourceVersion ? { resourceVersion: ns.metadata.resourceVersion } : {}),
    terminating: !!(ns.metadata as { deletionTimestamp?: string }).deletionTimestamp,
  };
}

function urlsOf(ann: Record<string, string>): Array<{ service: string; url: string }> {
  try {
    const parsed: unknown = JSON.parse(ann[A_URLS] ?? '[]');
    if (Array.isArray(parsed)) {
      const ok = parsed.filter(
        (u): u is { service: string; url: string } =>
          !!u && typeof u.service === 'string' && typeof u.url === 'string',
      );
      if (ok.length) return ok.map((u) => ({ service: u.service, url: u.url }));
    }
  } catch {
    // an unreadable list: the one URL
  }
  return ann[A_URL] ? [{ service: '', url: ann[A_URL] }] : [];
}

/** What a set of environments is: one workflow's environments (see the top of this file). */
export interface SetIdentity {
  repository: string;
  /** `namespace-prefix`. */
  prefix: string;
  /** `label`. */
  label: string;
}

const setHash = (id: SetIdentity) =>
  createHash('sha256').update(`${id.repository.toLowerCase()}\n${id.prefix}\n${id.label}`).digest('hex');

/**
 * The set's key, on every piece of its state (namespace labels, database marks, RDS tags): the
 * repository's slug and a hash of repository, prefix and label. Label-safe, at most 51 characters.
 */
export function setKey(id: SetIdentity): string {
  const slug = repoKey(id.repository)
    .replace(/-[0-9a-f]{8}$/, '')
    .slice(0, 40);
  return `${slug}-${setHash(id).slice(0, 10)}`.replace(/^-/, '');
}

/** The short form of the set key in the names of its namespaces (`fe-<short>-pr-42`): 6 hex digits. */
export function setShort(id: SetIdentity): string {
  return setHash(id).slice(0, 6);
}

/** The label selector of a set's namespaces (optionally one state, one pull request). */
export function selector(id: SetIdentity, o: { state?: EnvState; number?: number } = {}): string {
  return [
    `${MANAGED}=true`,
    `${SET}=${setKey(id)}`,
    ...(o.state ? [`${STATE}=${o.state}`] : []),
    ...(o.number ? [`${PR_LABEL}=${o.number}`] : []),
  ].join(',');
}

/** The label selector of every managed namespace of a repository, all its sets (read only: `c2c feature-env list`). */
export function repositorySelector(repository: string): string {
  return `${MANAGED}=true,${REPO}=${repoKey(repository)}`;
}

/** The labels every managed namespace of a set carries. */
export function baseLabels(id: SetIdentity, state: EnvState): Record<string, string> {
  return { [MANAGED]: 'true', [REPO]: repoKey(id.repository), [SET]: setKey(id), [STATE]: state };
}

/** Whether a namespace carries the set's mark (made by this set: its to change and remove). */
export function isOwn(ns: KubeObject | undefined, id: SetIdentity): boolean {
  const labels = ns?.metadata.labels ?? {};
  return labels[MANAGED] === 'true' && labels[SET] === setKey(id);
}

/** A claim of the index: the namespace of a pull request, and when it was claimed (ms). */
export interface ClaimEntry {
  namespace: string;
  at: number;
}

/**
 * The set's index, kept on its control namespace and changed only by compare-and-swap:
 * - claims: pull request number -> its namespace;
 * - pool: the spares of the warm pool (ready or being made ready) -> when the slot was reserved.
 * A spare exists only as a pool slot reserved first, and leaves the pool by a claim: the pool can
 * never hold more than `warm-pool` slots, and a spare is claimed by one pull request only.
 */
export interface SetIndex {
  claims: Record<string, ClaimEntry>;
  pool: Record<string, { at: number }>;
  /**
   * The recent new environments' time from the event that asked for them to ready (seconds; with
   * ready-probe, to the first answer), newest last, at most READY_KEPT: the scheduled run's p50/p90.
   */
  ready?: Array<{ n: number; s: number; at: number; pool?: boolean }>;
}

/** How many of the recent environments' times to ready the index keeps. */
export const READY_KEPT = 50;

export function indexOf(control: KubeObject | undefined): SetIndex {
  const out: SetIndex = { claims: {}, pool: {} };
  const raw = control?.metadata.annotations?.[INDEX];
  if (!raw) return out;
  try {
    const parsed = JSON.parse(raw) as { claims?: unknown; pool?: unknown; ready?: unknown };
    const obj = (v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
    for (const [k, v] of Object.entries(obj(parsed.claims))) {
      const e = obj(v);
      if (typeof e.namespace === 'string' && typeof e.at === 'number')
        out.claims[k] = { namespace: e.namespace, at: e.at };
    }
    for (const [k, v] of Object.entries(obj(parsed.pool))) {
      const e = obj(v);
      if (typeof e.at === 'number') out.pool[k] = { at: e.at };
    }
    if (Array.isArray(parsed.ready)) {
      const ready = parsed.ready
        .map(obj)
        .filter((e) => typeof e.n === 'number' && typeof e.s === 'number' && typeof e.at === 'number')
        .map((e) => ({
          n: e.n as number,
          s: e.s as number,
          at: e.at as number,
          ...(e.pool === true ? { pool: true } : {}),
        }));
      if (ready.length) out.ready = ready.slice(-READY_KEPT);
    }
  } catch {
    // an unreadable index is an empty one; the next write replaces it
  }
  return out;
}
