/** The one Kubernetes access layer: connection (kubeconfig or EKS), REST client, rollback. */
export * from './client.js';
export * from './types.js';
export * from './errors.js';
export type { KubeConnection, Credentials } from './connection.js';
export * from './kubeconfig.js';
export * from './eks.js';
export * from './rollback.js';
export * from './connect.js';
