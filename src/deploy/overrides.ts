import { C2CError, InputError, parseDuration } from '../core/index.js';
import { asObject, get, type JsonObject } from './objects.js';
import { isWatchedKind } from './kinds/index.js';

/**
 * Per-workload overrides of the deploy's inputs, as annotations on the workload (krane's
 * `timeout-override`, skaffold's per-resource deadlines): a migration Job that may take 20 minutes
 * beside services that must be ready in 2, a worker whose image is large and pulls slowly, a
 * workload nobody waits for.
 */
export const OVERRIDE_KEYS = {
  timeout: 'commit-to-cloud.dev/timeout',
  failFastGrace: 'commit-to-cloud.dev/fail-fast-grace',
  watch: 'commit-to-cloud.dev/watch',
} as const;

export interface WorkloadOverrides {
  /** Replaces `timeout` for this workload's rollout. */
  timeoutMs?: number;
  /** Replaces `fail-fast-grace` for this workload's pods. */
  failFastGraceMs?: number;
  /** `false`: applied, not watched (its row says so); the deploy does not wait for it. */
  watch: boolean;
}

/**
 * The overrides a workload's annotations ask for. Throws a C2CError naming the annotation, its value
 * and what is valid; validateManifests calls it for every object before anything is applied, so the
 * deploy never meets a bad one later.
 */
export function workloadOverrides(o: JsonObject): WorkloadOverrides {
  const annotations = asObject(get(o, 'metadata', 'annotations')) ?? {};
  const present = Object.values(OVERRIDE_KEYS).filter((k) => annotations[k] !== undefined);
  if (present.length === 0) return { watch: true };
  const kind = String(o.kind ?? '');
  if (!isWatchedKind(kind))
    throw new C2CError(
      `annotation ${present[0]} is on a ${kind}, whose rollout is not watched; it applies to Deployments, StatefulSets, DaemonSets and Jobs`,
    );
  const text = (k: string) => {
    const v = annotations[k];
    if (typeof v !== 'string')
      throw new C2CError(
        `annotation ${k} is ${JSON.stringify(v)}, not a string (YAML reads unquoted true, no or 10 as another type); quote it, e.g. ${k === OVERRIDE_KEYS.watch ? '"false"' : '"10m"'}`,
      );
    return v;
  };
  const duration = (k: string) => {
    try {
      return parseDuration(k, text(k));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      throw new C2CError(
        `annotation ${k}: '${text(k)}' is not a duration; expected a duration such as '90s', '10m' or '2h'`,
      );
    }
  };
  const out: WorkloadOverrides = { watch: true };
  if (annotations[OVERRIDE_KEYS.timeout] !== undefined) out.timeoutMs = duration(OVERRIDE_KEYS.timeout);
  if (annotations[OVERRIDE_KEYS.failFastGrace] !== undefined)
    out.failFastGraceMs = duration(OVERRIDE_KEYS.failFastGrace);
  if (annotations[OVERRIDE_KEYS.watch] !== undefined) {
    const w = text(OVERRIDE_KEYS.watch).trim();
    if (w !== 'true' && w !== 'false')
      throw new C2CError(`annotation ${OVERRIDE_KEYS.watch}: '${w}' is neither "true" nor "false"`);
    out.watch = w === 'true';
  }
  return out;
}
