import type { Logger } from '../core/index.js';
import { approvedBy, GitHubClient, type GitHubContext } from '../github/index.js';
import type { AuditInfo } from './annotations.js';
import type { DeploymentRecorder } from './types.js';

/** The GitHub Deployment of one run: created in_progress, then success or failure, with the environment and run URLs. */
export function githubRecorder(
  client: GitHubClient,
  gh: GitHubContext,
  o: { environment: string; environmentUrl?: string },
): DeploymentRecorder {
  const repo = `${client.repository.owner}/${client.repository.repo}`;
  const common = {
    ...(o.environmentUrl ? { environment_url: o.environmentUrl } : {}),
    ...(gh.runUrl ? { log_url: gh.runUrl } : {}),
  };
  return {
    check: () => client.checkDeploymentPermission(),
    async start() {
      const d = await client.createDeployment({
        ref: gh.sha ?? gh.ref ?? 'HEAD',
        environment: o.environment,
        description: `commit-to-cloud deploy of ${(gh.sha ?? '').slice(0, 12)}`,
        // production_environment left to GitHub: true for an environment named 'production'.
      });
      await client.createDeploymentStatus(d.id, { state: 'in_progress', ...common });
      return { id: d.id, url: `${gh.serverUrl}/${repo}/deployments/${encodeURIComponent(o.environment)}` };
    },
    async finish(id, state, description) {
      await client.createDeploymentStatus(Number(id), { state, description, ...common });
    },
  };
}

/**
 * Who triggered the run and, under a protected environment, who approved it (for the audit
 * annotations). Approvals exist only for a job with an environment: without `environment` there is
 * nothing to look up, and GitHub is not asked.
 */
export async function auditFromGitHub(
  gh: GitHubContext,
  client: GitHubClient | undefined,
  environment: string | undefined,
  logger: Logger,
): Promise<AuditInfo | undefined> {
  if (!gh.sha) return undefined;
  let approvers: string[] = [];
  if (client && gh.runId && environment) {
    try {
      approvers = approvedBy(await client.runApprovals(gh.runId), environment);
    } catch (e) {
      // The approvals are part of the audit trail, not of the deploy: a missing permission is a warning.
      logger.warning(`could not read the run's approvals: ${(e as Error).message}`);
    }
  }
  return {
    commit: gh.sha,
    ...(gh.ref ? { ref: gh.ref } : {}),
    ...(gh.runUrl ? { runUrl: gh.runUrl } : {}),
    ...(gh.actor ? { actor: gh.actor } : {}),
    ...(approvers.length ? { approvers } : {}),
  };
}
