import type { Logger } from '../core/index.js';
import type { KubeConnection } from './connection.js';
import { eksConnection } from './eks.js';
import { loadKubeconfig } from './kubeconfig.js';

/** Which cluster to reach: a kubeconfig's content, an EKS cluster by name, or the default kubeconfig. */
export type ClusterTarget =
  | { kind: 'kubeconfig'; content: string }
  | { kind: 'eks'; clusterName: string; region: string }
  | { kind: 'default' };

/**
 * The connection to the target cluster: `given` when the caller has one (tests, the CLI's own),
 * else from the kubeconfig input, EKS (DescribeCluster and a token from the AWS credentials), or
 * `$KUBECONFIG` / `~/.kube/config`.
 */
export async function connect(
  target: ClusterTarget,
  ctx: { connection?: KubeConnection; logger: Logger },
): Promise<KubeConnection> {
  if (ctx.connection) return ctx.connection;
  if (target.kind === 'kubeconfig')
    return loadKubeconfig({ content: target.content, input: 'kubeconfig' }, ctx.logger);
  if (target.kind === 'eks')
    return eksConnection({ clusterName: target.clusterName, region: target.region }, ctx.logger);
  return loadKubeconfig({}, ctx.logger);
}
