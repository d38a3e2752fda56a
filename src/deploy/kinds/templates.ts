import { type KindAdapter, LAST } from './adapter.js';
import { asObjectAt } from '../objects.js';

/** Kinds with a pod template that the deploy applies but does not watch. */
export const replicaSet: KindAdapter = {
  kind: 'ReplicaSet',
  order: LAST,
  template: (obj) => asObjectAt(obj, 'spec', 'template'),
  annotateTemplate: true,
  scalable: true,
};

export const replicationController: KindAdapter = {
  kind: 'ReplicationController',
  order: LAST,
  template: (obj) => asObjectAt(obj, 'spec', 'template'),
};

export const cronJob: KindAdapter = {
  kind: 'CronJob',
  order: LAST,
  template: (obj) => asObjectAt(obj, 'spec', 'jobTemplate', 'spec', 'template'),
  annotateTemplate: true,
};

export const podTemplate: KindAdapter = {
  kind: 'PodTemplate',
  order: LAST,
  template: (obj) => asObjectAt(obj, 'template'),
};
