import { rollbackWithControllerRevisions } from '../../kube/index.js';
import { asObject, asObjectAt, asString, get, nameOf, type JsonObject } from '../objects.js';
import { LAST, type KindAdapter } from './adapter.js';
import { num, notRollingUpdate, type RolloutStatus } from './status.js';

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

export const daemonSet: KindAdapter = {
  kind: 'DaemonSet',
  order: LAST,
  template: (obj) => asObjectAt(obj, 'spec', 'template'),
  annotateTemplate: true,
  rolloutStatus: daemonSetStatus,
  rollbackReads: [{ group: 'apps', resource: 'controllerrevisions', verb: 'list' }],
  rollback: (client, namespace, name, opts) =>
    rollbackWithControllerRevisions(client, 'DaemonSet', namespace, name, opts),
};
