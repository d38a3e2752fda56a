import { rollbackDeployment } from '../../kube/index.js';
import { asObject, asObjectAt, get, nameOf, type JsonObject } from '../objects.js';
import { LAST, type KindAdapter } from './adapter.js';
import { condition, num, specReplicas, withWarning, type RolloutStatus } from './status.js';

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

export const deployment: KindAdapter = {
  kind: 'Deployment',
  order: LAST,
  template: (obj) => asObjectAt(obj, 'spec', 'template'),
  annotateTemplate: true,
  rolloutStatus: deploymentStatus,
  rollbackReads: [{ group: 'apps', resource: 'replicasets', verb: 'list' }],
  rollback: rollbackDeployment,
  scalable: true,
  // Its ReplicaSets are named <deployment>-<pod-template-hash>.
  ownsEventsOf: (workload, kind, name) =>
    kind === 'ReplicaSet' &&
    name.startsWith(`${nameOf(workload)}-`) &&
    /^[a-z0-9]+$/.test(name.slice(nameOf(workload).length + 1)),
};
