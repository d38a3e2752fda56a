import { asArray, asNumber, asObject, asString, get, type JsonObject } from '../objects.js';

/**
 * Rollout status with the semantics (and the messages) of `kubectl rollout status`
 * (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go, kubectl 1.32): one pure function per
 * kind, given the object as the API server returns it. Where kubectl returns an error:
 * - a Deployment whose Progressing condition has reason ProgressDeadlineExceeded is `failed`;
 * - OnDelete update strategies (StatefulSet, DaemonSet) cannot be watched: `done` with
 *   `unsupported` set, since no pod changes until someone deletes it.
 * Jobs are not covered by kubectl rollout status; here a Job is done when its Complete (or
 * SuccessCriteriaMet) condition is True and failed when its Failed (or FailureTarget) condition is.
 * Messages drop kubectl's trailing newline.
 */

export interface RolloutStatus {
  done: boolean;
  failed: boolean;
  message: string;
  /** Set when the rollout cannot be watched (OnDelete strategies, suspended Jobs): done, nothing to wait for. */
  unsupported?: boolean;
}

export const num = (v: unknown) => asNumber(v) ?? 0;

/** `spec.replicas` as kubectl sees it: undefined when absent (the server always sets it). */
export const specReplicas = (obj: JsonObject) => asNumber(get(obj, 'spec', 'replicas'));

export function condition(obj: JsonObject, type: string): JsonObject | undefined {
  return asArray(get(obj, 'status', 'conditions'))
    .map(asObject)
    .find((c) => c && c.type === type);
}

/** Warnings newer kubectl versions append when pods of the rollout are stuck. */
const STUCK_REASONS = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

/** A hint from the workload's pods: the first unschedulable pod or stuck container (as kubectl ≥1.33 does). */
export function podWarning(pods: JsonObject[]): string | undefined {
  for (const pod of pods) {
    for (const c of asArray(get(pod, 'status', 'conditions')).map(asObject)) {
      if (c?.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable')
        return String(c.message ?? 'Unschedulable');
    }
    for (const cs of asArray(get(pod, 'status', 'containerStatuses')).map(asObject)) {
      const waiting = asObject(get(cs, 'state', 'waiting'));
      const reason = asString(waiting?.reason);
      if (reason && STUCK_REASONS.has(reason)) return `${reason} - ${asString(waiting?.message) ?? ''}`;
    }
  }
  return undefined;
}

export function withWarning(message: string, pods?: JsonObject[]): string {
  const w = pods ? podWarning(pods) : undefined;
  return w ? `${message} (Warning: ${w})` : message;
}

/** DaemonSets and StatefulSets with another strategy (OnDelete) have no rollout to wait for. */
export function notRollingUpdate(what: string, name: string, strategy: string): RolloutStatus {
  return {
    done: true,
    failed: false,
    unsupported: true,
    message: `${what} "${name}" uses the ${strategy} update strategy: rollout status is only available for RollingUpdate strategy type; its pods change when they are deleted`,
  };
}
