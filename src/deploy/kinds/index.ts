// The face of src/deploy/kinds: what the engine knows of each kind, looked up by kind.
import { asObject, get, kindOf, type JsonObject } from '../objects.js';
import { LAST, type KindAdapter } from './adapter.js';
import { appliedFirst } from './applied-first.js';
import { daemonSet } from './daemonset.js';
import { deployment } from './deployment.js';
import { job } from './job.js';
import { statefulSet } from './statefulset.js';
import { cronJob, podTemplate, replicaSet, replicationController } from './templates.js';
import type { RolloutStatus } from './status.js';

export type { KindAdapter } from './adapter.js';
export type { RolloutStatus } from './status.js';

/** The registry: one line per kind. */
const ADAPTERS: KindAdapter[] = [
  ...appliedFirst,
  deployment,
  statefulSet,
  daemonSet,
  job,
  replicaSet,
  replicationController,
  cronJob,
  podTemplate,
];
const BY_KIND = new Map(ADAPTERS.map((a) => [a.kind, a]));

export function adapterOf(kind: string): KindAdapter | undefined {
  return BY_KIND.get(kind);
}

/** The kinds whose rollout the deploy waits for. */
export const WATCHED_KINDS = ADAPTERS.filter((a) => a.rolloutStatus).map((a) => a.kind);

export function isWatchedKind(kind: string): boolean {
  return !!BY_KIND.get(kind)?.rolloutStatus;
}

/** The apply order of a kind: lower first. */
export function rank(kind: string): number {
  return BY_KIND.get(kind)?.order ?? LAST;
}

/** The status of any watched kind; undefined for kinds that have no rollout (and for no object). */
export function rolloutStatus(
  obj: JsonObject | undefined,
  opts: { pods?: JsonObject[] } = {},
): RolloutStatus | undefined {
  if (!obj) return undefined;
  return BY_KIND.get(kindOf(obj))?.rolloutStatus?.(obj, opts);
}

/** The pod template of a workload (undefined for kinds without one, Pods included). */
export function podTemplateOf(obj: unknown): JsonObject | undefined {
  const o = asObject(obj);
  return o ? BY_KIND.get(kindOf(o))?.template?.(o) : undefined;
}

/** The pod spec of a workload or Pod: where containers live. */
export function podSpecOf(obj: unknown): JsonObject | undefined {
  if (kindOf(obj) === 'Pod') return asObject(get(obj, 'spec'));
  return asObject(get(podTemplateOf(obj), 'spec'));
}
