import { randomBytes } from 'node:crypto';
import { C2CError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { KubeApiError, type KubeClient, type KubeObject } from '../kube/index.js';
import { grantAccess } from './access.js';
import {
  A_REPOSITORY,
  CLAIMS,
  baseLabels,
  claimsOf,
  environmentOf,
  repoKey,
  selector,
  type Environment,
} from './state.js';

/**
 * Which namespace holds which pull request's environment, exclusively, under concurrent runs.
 *
 * The index lives in an annotation of the repository's control namespace (`<prefix>ctl-<hash>`),
 * and every change to it is a compare-and-swap on that namespace's resourceVersion: ten concurrent
 * runs for one pull request end with one environment, and two pull requests never take the same
 * spare. A spare is claimed by writing its name into the index first (the CAS), then relabelling it.
 */
export const FIELD_MANAGER = 'commit-to-cloud-feature-env';

export interface Scope {
  client: KubeClient;
  repository: string;
  prefix: string;
  logger: Logger;
}

export const controlName = (s: Scope) => `${s.prefix}ctl-${repoKey(s.repository).slice(-8)}`;
export const prNamespace = (s: Scope, number: number) => `${s.prefix}pr-${number}`;
export const spareName = (s: Scope) => `${s.prefix}spare-${randomBytes(4).toString('hex').slice(0, 6)}`;

async function controlNamespace(s: Scope): Promise<KubeObject> {
  const name = controlName(s);
  const live = await s.client.get({ apiVersion: 'v1', kind: 'Namespace', name });
  if (live) return live;
  const made = await s.client.apply(
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: baseLabels(s.repository, 'control'),
        annotations: { [A_REPOSITORY]: s.repository },
      },
    },
    { fieldManager: FIELD_MANAGER },
  );
  return grantAccess(s, made);
}

/** Changes the index with a compare-and-swap; `change` sees the current index and returns the new one (or undefined: no change). */
export async function updateClaims(
  s: Scope,
  change: (
    claims: Record<string, string>,
  ) => Promise<Record<string, string> | undefined> | Record<string, string> | undefined,
): Promise<Record<string, string>> {
  for (let attempt = 1; attempt <= 30; attempt++) {
    const ctl = await controlNamespace(s);
    const claims = claimsOf(ctl);
    const next = await change({ ...claims });
    if (!next) return claims;
    try {
      await s.client.patch(
        { apiVersion: 'v1', kind: 'Namespace', name: String(ctl.metadata.name) },
        {
          metadata: {
            resourceVersion: ctl.metadata.resourceVersion,
            annotations: { [CLAIMS]: JSON.stringify(next) },
          },
        },
        'merge',
        { fieldManager: FIELD_MANAGER },
      );
      return next;
    } catch (e) {
      if (!(e instanceof KubeApiError) || e.status !== 409) throw e;
      // Another run changed the index meanwhile: read it again.
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80 * attempt));
    }
  }
  throw new C2CError(
    `The claims index of ${s.repository} kept changing under 30 attempts: too many runs at once`,
  );
}

/** The managed namespaces of the repository, as environments (one list). */
export async function environments(
  s: Scope,
  o: { state?: Environment['state']; number?: number } = {},
): Promise<Environment[]> {
  const list = await s.client.list('v1', 'Namespace', { labelSelector: selector(s.repository, o) });
  return list.items.map(environmentOf);
}

export interface Claimed {
  namespace: string;
  /** The environment existed already (an update). */
  existing: boolean;
  /** It was a spare of the warm pool. */
  fromPool: boolean;
}

/**
 * The pull request's namespace: the one the index names when it still exists; else a ready spare
 * (oldest first) when `usePool`; else a new namespace `<prefix>pr-<number>`. Exclusive (see above).
 */
export async function claimNamespace(s: Scope, number: number, usePool: boolean): Promise<Claimed> {
  let result: Claimed | undefined;
  const key = String(number);
  await updateClaims(s, async (claims) => {
    const current = claims[key];
    if (current) {
      const ns = await s.client.get({ apiVersion: 'v1', kind: 'Namespace', name: current });
      if (ns && !environmentOf(ns).terminating) {
        result = { namespace: current, existing: true, fromPool: false };
        return undefined;
      }
    }
    const taken = new Set(Object.values(claims));
    const spares = usePool
      ? (await environments(s, { state: 'spare' }))
          .filter((e) => !e.terminating && !taken.has(e.namespace))
          .sort(
            (a, b) =>
              (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.namespace.localeCompare(b.namespace),
          )
      : [];
    const spare = spares[0];
    let target = spare?.namespace ?? prNamespace(s, number);
    if (!spare) {
      // The usual name may still be terminating (a down a moment ago): then a name of its own.
      const old = await s.client.get({ apiVersion: 'v1', kind: 'Namespace', name: target });
      if (old && environmentOf(old).terminating) target = `${target}-${randomBytes(2).toString('hex')}`;
    }
    result = { namespace: target, existing: false, fromPool: !!spare };
    return { ...claims, [key]: target };
  });
  return result!;
}

/** Drops a pull request from the index (after its namespace is gone). */
export async function releaseClaim(s: Scope, number: number): Promise<void> {
  await updateClaims(s, (claims) => {
    if (!(String(number) in claims)) return undefined;
    const next = { ...claims };
    delete next[String(number)];
    return next;
  });
}

/** The index as it is: pull request number -> namespace. */
export async function readClaims(s: Scope): Promise<Record<string, string>> {
  const ctl = await s.client.get({ apiVersion: 'v1', kind: 'Namespace', name: controlName(s) });
  return claimsOf(ctl);
}
