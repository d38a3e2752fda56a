import type { Logger } from '../core/index.js';
import type { GitHubClient } from '../github/index.js';
import type { DeploymentRecorder } from '../deploy/index.js';

/** The GitHub environment of a pull request's feature environment. */
export const environmentName = (number: number) => `feature-env/pr-${number}`;

/**
 * The GitHub Deployment of an environment: transient, not production, carrying the environment's URL
 * (known once the manifests are read: `url()`), on the pull request's head commit.
 */
export function featureEnvRecorder(
  github: GitHubClient,
  o: { number: number; sha: string; url: () => string | undefined; logUrl?: string },
): DeploymentRecorder {
  const env = environmentName(o.number);
  const common = () => ({
    ...(o.url() ? { environment_url: o.url()! } : {}),
    ...(o.logUrl ? { log_url: o.logUrl } : {}),
  });
  return {
    check: () => github.checkDeploymentPermission(),
    async start() {
      const d = await github.createDeployment({
        ref: o.sha,
        environment: env,
        description: `feature environment of #${o.number}`,
        transient: true,
        production: false,
      });
      await github.createDeploymentStatus(d.id, { state: 'in_progress', ...common() });
      return { id: d.id };
    },
    async finish(id, state, description) {
      await github.createDeploymentStatus(Number(id), { state, description, ...common() });
    },
  };
}

/** Marks every deployment of the pull request's environment inactive (after down). */
export async function deactivate(github: GitHubClient, number: number, logger: Logger): Promise<number> {
  const list = await github.listDeployments({ environment: environmentName(number) });
  for (const d of list)
    await github.createDeploymentStatus(d.id, { state: 'inactive', description: 'environment removed' });
  if (list.length)
    logger.info(`GitHub: ${list.length} deployment(s) of ${environmentName(number)} marked inactive`);
  return list.length;
}
