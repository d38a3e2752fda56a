import type { KubeObject } from './types.js';

/**
 * The rollout-status logic of `kubectl rollout status` (and `kubectl wait --for=condition=complete`
 * for Jobs), as a pure function of one object: feed it every watch event of the workload.
 * - done: the rollout finished successfully.
 * - failed: it cannot finish by itself (ProgressDeadlineExceeded, a Job that Failed).
 * - message: kubectl's words for where it is.
 */
export interface RolloutState {
  done: boolean;
  failed: boolean;
  message: string;
}

type Cond = { type?: string; status?: string; reason?: string; message?: string };
interface Workload extends KubeObject {
  spec?: {
    replicas?: number;
    completions?: number;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
    succeeded?: number;
    failed?: number;
    conditions?: Cond[];
  };
}

/** The kinds whose rollout can be followed. */
export const ROLLOUT_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

const waiting = (message: string): RolloutState => ({ done: false, failed: false, message });

export function rolloutStatus(obj: KubeObject): RolloutState {
  const o = obj as Workload;
  const name = o.metadata.name ?? '';
  const st = o.status ?? {};
  const observed =
    (st.observedGeneration ?? 0) >= (o.metadata.generation ?? 0) && st.observedGeneration !== undefined;
  switch (o.kind) {
    case 'Deployment': {
      if (!observed) return waiting('Waiting for deployment spec update to be observed...');
      const progressing = st.conditions?.find((c) => c.type === 'Progressing');
      if (progressing?.reason === 'ProgressDeadlineExceeded')
        return { done: false, failed: true, message: `deployment "${name}" exceeded its progress deadline` };
      const want = o.spec?.replicas ?? 1;
      const updated = st.updatedReplicas ?? 0;
      if (updated < want)
        return waiting(
          `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${want} new replicas have been updated...`,
        );
      if ((st.replicas ?? 0) > updated)
        return waiting(
          `Waiting for deployment "${name}" rollout to finish: ${(st.replicas ?? 0) - updated} old replicas are pending termination...`,
        );
      if ((st.availableReplicas ?? 0) < updated)
        return waiting(
          `Waiting for deployment "${name}" rollout to finish: ${st.availableReplicas ?? 0} of ${updated} updated replicas are available...`,
        );
      return { done: true, failed: false, message: `deployment "${name}" successfully rolled out` };
    }
    case 'StatefulSet': {
      if (o.spec?.updateStrategy?.type && o.spec.updateStrategy.type !== 'RollingUpdate')
        return {
          done: true,
          failed: false,
          message: `statefulset "${name}" uses the ${o.spec.updateStrategy.type} strategy: rollout status is only available for RollingUpdate`,
        };
      if (!observed) return waiting('Waiting for statefulset spec update to be observed...');
      const want = o.spec?.replicas ?? 1;
      if ((st.readyReplicas ?? 0) < want)
        return waiting(`Waiting for ${want - (st.readyReplicas ?? 0)} pods to be ready...`);
      const partition = o.spec?.updateStrategy?.rollingUpdate?.partition;
      if (partition !== undefined) {
        if ((st.updatedReplicas ?? 0) < want - partition)
          return waiting(
            `Waiting for partitioned roll out to finish: ${st.updatedReplicas ?? 0} out of ${want - partition} new pods have been updated...`,
          );
        return {
          done: true,
          failed: false,
          message: `partitioned roll out complete: ${st.updatedReplicas ?? 0} new pods have been updated...`,
        };
      }
      if (st.updateRevision !== st.currentRevision)
        return waiting(
          `waiting for statefulset rolling update to complete ${st.updatedReplicas ?? 0} pods at revision ${st.updateRevision}...`,
        );
      return {
        done: true,
        failed: false,
        message: `statefulset rolling update complete ${st.currentRevision ?? ''}`,
      };
    }
    case 'DaemonSet': {
      if (!observed) return waiting('Waiting for daemon set spec update to be observed...');
      const desired = st.desiredNumberScheduled ?? 0;
      if ((st.updatedNumberScheduled ?? 0) < desired)
        return waiting(
          `Waiting for daemon set "${name}" rollout to finish: ${st.updatedNumberScheduled ?? 0} out of ${desired} new pods have been updated...`,
        );
      if ((st.numberAvailable ?? 0) < desired)
        return waiting(
          `Waiting for daemon set "${name}" rollout to finish: ${st.numberAvailable ?? 0} of ${desired} updated pods are available...`,
        );
      return { done: true, failed: false, message: `daemon set "${name}" successfully rolled out` };
    }
    case 'Job': {
      const failed = st.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
      if (failed)
        return {
          done: false,
          failed: true,
          message: `job "${name}" failed: ${failed.reason ?? ''}${failed.message ? ` (${failed.message})` : ''}`,
        };
      if (st.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'))
        return { done: true, failed: false, message: `job "${name}" completed` };
      return waiting(
        `Waiting for job "${name}" to complete: ${st.succeeded ?? 0} of ${o.spec?.completions ?? 1} succeeded...`,
      );
    }
    default:
      return { done: true, failed: false, message: `${o.kind} "${name}" has no rollout to wait for` };
  }
}
