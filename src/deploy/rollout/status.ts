import { asArray, asNumber, asObject, asString, get, kindOf, nameOf, type JsonObject } from '../objects.js';

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

const num = (v: unknown) => asNumber(v) ?? 0;

/** `spec.replicas` as kubectl sees it: undefined when absent (the server always sets it). */
const specReplicas = (obj: JsonObject) => asNumber(get(obj, 'spec', 'replicas'));

function condition(obj: JsonObject, type: string): JsonObject | undefined {
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

function withWarning(message: string, pods?: JsonObject[]): string {
  const w = pods ? podWarning(pods) : undefined;
  return w ? `${message} (Warning: ${w})` : message;
}

/** kubectl's DeploymentStatusViewer. `pods` (optional) adds the stuck-pod warning to waiting messages. */
export function deploymentStatus(obj: JsonObject, opts: { pods?: JsonObject[] } = {}): RolloutStatus {
  const name = nameOf(obj);
  const generation = num(get(obj, 'metadata', 'generation'));
  const status = asObject(obj.status) ?? {};
  const waiting = (message: string): RolloutStatus => ({
    done: false,
    failed: false,
    message: withWarning(message, opts.pods),
  });
  if (generation <= num(status.observedGeneration)) {
    const progressing = condition(obj, 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded')
      return { done: false, failed: true, message: `deployment "${name}" exceeded its progress deadline` };
    const replicas = specReplicas(obj);
    const updated = num(status.updatedReplicas);
    if (replicas !== undefined && updated < replicas)
      return waiting(
        `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${replicas} new replicas have been updated...`,
      );
    const total = num(status.replicas);
    if (total > updated)
      return waiting(
        `Waiting for deployment "${name}" rollout to finish: ${total - updated} old replicas are pending termination...`,
      );
    const available = num(status.availableReplicas);
    if (available < updated)
      return waiting(
        `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...`,
      );
    return { done: true, failed: false, message: `deployment "${name}" successfully rolled out` };
  }
  return waiting('Waiting for deployment spec update to be observed...');
}

/** DaemonSets and StatefulSets with another strategy (OnDelete) have no rollout to wait for. */
function notRollingUpdate(what: string, name: string, strategy: string): RolloutStatus {
  return {
    done: true,
    failed: false,
    unsupported: true,
    message: `${what} "${name}" uses the ${strategy} update strategy: rollout status is only available for RollingUpdate strategy type; its pods change when they are deleted`,
  };
}

/** kubectl's DaemonSetStatusViewer. */
export function daemonSetStatus(obj: JsonObject): RolloutStatus {
  const name = nameOf(obj);
  // The API server defaults the strategy to RollingUpdate; a manifest-only object may lack it.
  const strategy = asString(get(obj, 'spec', 'updateStrategy', 'type')) ?? 'RollingUpdate';
  if (strategy !== 'RollingUpdate') return notRollingUpdate('daemon set', name, strategy);
  const status = asObject(obj.status) ?? {};
  if (num(get(obj, 'metadata', 'generation')) <= num(status.observedGeneration)) {
    const desired = num(status.desiredNumberScheduled);
    const updated = num(status.updatedNumberScheduled);
    if (updated < desired)
      return {
        done: false,
        failed: false,
        message: `Waiting for daemon set "${name}" rollout to finish: ${updated} out of ${desired} new pods have been updated...`,
      };
    const available = num(status.numberAvailable);
    if (available < desired)
      return {
        done: false,
        failed: false,
        message: `Waiting for daemon set "${name}" rollout to finish: ${available} of ${desired} updated pods are available...`,
      };
    return { done: true, failed: false, message: `daemon set "${name}" successfully rolled out` };
  }
  return { done: false, failed: false, message: 'Waiting for daemon set spec update to be observed...' };
}

/** kubectl's StatefulSetStatusViewer, partitioned rolling updates included. */
export function statefulSetStatus(obj: JsonObject): RolloutStatus {
  const name = nameOf(obj);
  const strategy = asString(get(obj, 'spec', 'updateStrategy', 'type')) ?? 'RollingUpdate';
  if (strategy !== 'RollingUpdate') return notRollingUpdate('statefulset', name, strategy);
  const status = asObject(obj.status) ?? {};
  const observed = num(status.observedGeneration);
  if (observed === 0 || num(get(obj, 'metadata', 'generation')) > observed)
    return { done: false, failed: false, message: 'Waiting for statefulset spec update to be observed...' };
  const replicas = specReplicas(obj);
  const ready = num(status.readyReplicas);
  if (replicas !== undefined && ready < replicas)
    return { done: false, failed: false, message: `Waiting for ${replicas - ready} pods to be ready...` };
  const updated = num(status.updatedReplicas);
  const rollingUpdate = asObject(get(obj, 'spec', 'updateStrategy', 'rollingUpdate'));
  if (rollingUpdate) {
    const partition = asNumber(rollingUpdate.partition);
    if (replicas !== undefined && partition !== undefined && updated < replicas - partition)
      return {
        done: false,
        failed: false,
        message: `Waiting for partitioned roll out to finish: ${updated} out of ${replicas - partition} new pods have been updated...`,
      };
    return {
      done: true,
      failed: false,
      message: `partitioned roll out complete: ${updated} new pods have been updated...`,
    };
  }
  const updateRevision = asString(status.updateRevision) ?? '';
  const currentRevision = asString(status.currentRevision) ?? '';
  if (updateRevision !== currentRevision)
    return {
      done: false,
      failed: false,
      message: `waiting for statefulset rolling update to complete ${updated} pods at revision ${updateRevision}...`,
    };
  return {
    done: true,
    failed: false,
    message: `statefulset rolling update complete ${num(status.currentReplicas)} pods at revision ${currentRevision}...`,
  };
}

/** A Job: done when Complete, failed when Failed (the conditions the Job controller sets). */
export function jobStatus(obj: JsonObject): RolloutStatus {
  const name = nameOf(obj);
  const status = asObject(obj.status) ?? {};
  const succeeded = num(status.succeeded);
  const failedPods = num(status.failed);
  const active = num(status.active);
  const isTrue = (type: string) => condition(obj, type)?.status === 'True';
  const reasonOf = (type: string) => {
    const c = condition(obj, type);
    const text = [asString(c?.reason), asString(c?.message)].filter(Boolean).join(': ');
    return text ? ` (${text})` : '';
  };
  if (isTrue('Failed'))
    return {
      done: false,
      failed: true,
      message: `job "${name}" failed${reasonOf('Failed')}: ${failedPods} failed, ${succeeded} succeeded`,
    };
  if (isTrue('FailureTarget'))
    return {
      done: false,
      failed: true,
      message: `job "${name}" is failing${reasonOf('FailureTarget')}: ${failedPods} failed, ${succeeded} succeeded`,
    };
  // More pods failed than the backoffLimit allows: the Job controller will fail it (it may first
  // wait out pod finalizers), no need to wait for that.
  const backoffLimit = asNumber(get(obj, 'spec', 'backoffLimit')) ?? 6;
  if (failedPods > backoffLimit && !isTrue('Complete'))
    return {
      done: false,
      failed: true,
      message: `job "${name}" failed: ${failedPods} pod(s) failed, more than its backoffLimit ${backoffLimit}`,
    };
  if (isTrue('Complete') || isTrue('SuccessCriteriaMet'))
    return { done: true, failed: false, message: `job "${name}" completed: ${succeeded} succeeded` };
  if (get(obj, 'spec', 'suspend') === true || isTrue('Suspended'))
    return {
      done: true,
      failed: false,
      unsupported: true,
      message: `job "${name}" is suspended: not waiting for it`,
    };
  const completions = asNumber(get(obj, 'spec', 'completions'));
  return {
    done: false,
    failed: false,
    message: `Waiting for job "${name}" to complete: ${succeeded}${completions !== undefined ? ` of ${completions}` : ''} succeeded, ${active} active, ${failedPods} failed...`,
  };
}

/** The kinds whose rollout the deploy waits for. */
export const WATCHED_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'] as const;

export function isWatchedKind(kind: string): boolean {
  return (WATCHED_KINDS as readonly string[]).includes(kind);
}

/** The status of any watched kind; undefined for kinds that have no rollout (and for no object). */
export function rolloutStatus(
  obj: JsonObject | undefined,
  opts: { pods?: JsonObject[] } = {},
): RolloutStatus | undefined {
  if (!obj) return undefined;
  switch (kindOf(obj)) {
    case 'Deployment':
      return deploymentStatus(obj, opts);
    case 'StatefulSet':
      return statefulSetStatus(obj);
    case 'DaemonSet':
      return daemonSetStatus(obj);
    case 'Job':
      return jobStatus(obj);
    default:
      return undefined;
  }
}
