import { asArray, asNumber, asObject, asString, get, nameOf, type JsonObject } from '../objects.js';

/**
 * Pod states that do not heal without a new change (what Shopify's krane calls failing fast): a
 * rollout whose new pods are in one of them has failed, whatever its progress deadline says.
 * - ErrImagePull / ImagePullBackOff that persists past a grace period (a registry hiccup heals;
 *   a tag that does not exist does not);
 * - InvalidImageName, ErrImageNeverPull, CreateContainerConfigError (a missing Secret or ConfigMap
 *   key): at once;
 * - CrashLoopBackOff after `crashRestarts` restarts.
 * A Job whose failed pods exceed its backoffLimit is judged by rolloutStatus.
 */

export interface FailFastOptions {
  /** How long an image pull may keep failing before the rollout is failed. */
  graceMs: number;
  /** Restarts after which CrashLoopBackOff is final. Default 3. */
  crashRestarts?: number;
  /** The pods are followed only for rollouts still running after this long. Default 1 s. */
  startAfterMs?: number;
}

export interface Unhealable {
  reason: string;
  pod: string;
  container: string;
  image: string;
  message: string;
}

const AT_ONCE = new Set(['InvalidImageName', 'ErrImageNeverPull', 'CreateContainerConfigError']);
const PULL = new Set(['ErrImagePull', 'ImagePullBackOff']);

/**
 * The first container of these pods that will not heal, if any. `firstSeen` remembers (by pod uid
 * and container) when a pull failure was first seen, on the caller's clock.
 */
export function findUnhealable(
  pods: JsonObject[],
  opts: FailFastOptions,
  firstSeen: Map<string, number>,
  now: number,
): Unhealable | undefined {
  for (const pod of pods) {
    const uid = asString(get(pod, 'metadata', 'uid')) ?? nameOf(pod);
    const specs = [
      ...asArray(get(pod, 'spec', 'initContainers')),
      ...asArray(get(pod, 'spec', 'containers')),
    ].map(asObject);
    const statuses = [
      ...asArray(get(pod, 'status', 'initContainerStatuses')),
      ...asArray(get(pod, 'status', 'containerStatuses')),
    ].map(asObject);
    for (const cs of statuses) {
      const container = asString(cs?.name) ?? '';
      const waiting = asObject(get(cs, 'state', 'waiting'));
      const reason = asString(waiting?.reason) ?? '';
      const key = `${uid}/${container}`;
      if (!PULL.has(reason)) firstSeen.delete(key);
      if (!reason) continue;
      const image = asString(specs.find((c) => c?.name === container)?.image) ?? asString(cs?.image) ?? '';
      const found = { reason, pod: nameOf(pod), container, image, message: asString(waiting?.message) ?? '' };
      if (AT_ONCE.has(reason)) return found;
      if (reason === 'CrashLoopBackOff' && (asNumber(cs?.restartCount) ?? 0) >= (opts.crashRestarts ?? 3))
        return found;
      if (PULL.has(reason)) {
        const since = firstSeen.get(key) ?? now;
        firstSeen.set(key, since);
        if (now - since >= opts.graceMs) return found;
      }
    }
  }
  return undefined;
}

/** One line for a verdict: "ImagePullBackOff on image reg/app:v2 (pod web-7d9-x, container app): message". */
export function describeUnhealable(u: Unhealable): string {
  return `${u.reason} on image ${u.image} (pod ${u.pod}, container ${u.container})${u.message ? `: ${u.message}` : ''}`;
}

/** When a write happened, on the server's clock: the newest managedFields time of an object. */
export function lastWriteTime(obj: JsonObject | undefined): string | undefined {
  const times = asArray(get(obj, 'metadata', 'managedFields'))
    .map((e) => asString(asObject(e)?.time))
    .filter((t): t is string => !!t)
    .sort();
  return times.at(-1);
}
