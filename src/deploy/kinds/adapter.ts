import type { KubeClient, RollbackOptions, RollbackResult } from '../../kube/index.js';
import type { JsonObject } from '../objects.js';
import type { RolloutStatus } from './status.js';

/**
 * What the deploy engine knows of one kind, in one place: where its pod template is, whether the
 * commit goes on it, its rollout status, how a failed rollout is undone, whether an autoscaler
 * scales it, which events belong to its rollout, and when it is applied. Adding a kind is one file
 * in this folder and one line in the registry (index.ts).
 */
export interface KindAdapter {
  readonly kind: string;
  /** Apply order, lower first: what others live in or refer to goes first (as kubectl does). */
  readonly order: number;
  /** Its pod template: where images are substituted, and what is compared to tell a rollout. */
  template?(obj: JsonObject): JsonObject | undefined;
  /** The commit and the run go on its pod template (not on a Job's: that template is immutable). */
  readonly annotateTemplate?: boolean;
  /** A rollout the deploy watches, with kubectl's semantics and messages. `pods`: the stuck-pod warning. */
  rolloutStatus?(obj: JsonObject, opts: { pods?: JsonObject[] }): RolloutStatus;
  /** Undoes a failed rollout of its template; without it the object is applied again as it was. */
  rollback?(
    client: KubeClient,
    namespace: string,
    name: string,
    opts?: RollbackOptions,
  ): Promise<RollbackResult>;
  /**
   * What `rollback` reads besides the object itself (a `get`): the history it finds the previous
   * revision in, as RBAC names it (group, resource, verb). The permission check asks for these.
   */
  readonly rollbackReads?: readonly { group: string; resource: string; verb: string }[];
  /** A HorizontalPodAutoscaler may scale it: with one, `replicas` is left to the autoscaler. */
  readonly scalable?: boolean;
  /** Events of an object it owns (kind, name) that belong to its rollout: a Deployment's ReplicaSets. */
  ownsEventsOf?(workload: JsonObject, kind: string, name: string): boolean;
}

/** The apply order of the workloads and of every kind the registry does not name: last. */
export const LAST = 100;
