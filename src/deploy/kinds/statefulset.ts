import { rollbackWithControllerRevisions } from '../../kube/index.js';
import { asNumber, asObject, asObjectAt, asString, get, nameOf, type JsonObject } from '../objects.js';
import { LAST, type KindAdapter } from './adapter.js';
import { num, notRollingUpdate, specReplicas, type RolloutStatus } from './status.js';

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

export const statefulSet: KindAdapter = {
  kind: 'StatefulSet',
  order: LAST,
  template: (obj) => asObjectAt(obj, 'spec', 'template'),
  annotateTemplate: true,
  rolloutStatus: statefulSetStatus,
  rollbackReads: [{ group: 'apps', resource: 'controllerrevisions', verb: 'list' }],
  rollback: (client, namespace, name, opts) =>
    rollbackWithControllerRevisions(client, 'StatefulSet', namespace, name, opts),
  scalable: true,
};
