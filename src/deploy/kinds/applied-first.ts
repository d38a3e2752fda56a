import type { KindAdapter } from './adapter.js';

/**
 * Kinds applied before everything else, in this order (as kubectl does): what others live in or
 * refer to. They have no pod template and no rollout.
 */
const FIRST = [
  'Namespace',
  'CustomResourceDefinition',
  'ServiceAccount',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'PersistentVolumeClaim',
  'Service',
];

export const appliedFirst: KindAdapter[] = FIRST.map((kind, order) => ({ kind, order }));
