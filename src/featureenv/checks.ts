import { C2CError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { GitHubClient, PullRequestInfo } from '../github/index.js';
import { PERMISSIONS, type FeatureEnvOptions } from './inputs.js';

/**
 * The refusals of `up`, checked before anything is created: a closed pull request, a pull request
 * from a fork (unless allow-forks), a label added by someone without the required permission.
 * Returns the pull request as GitHub has it now (its head commit is the one the environment runs).
 */
export async function checkUp(
  github: GitHubClient,
  opts: FeatureEnvOptions,
  number: number,
  logger: Logger,
): Promise<PullRequestInfo> {
  const pr = await github.getPullRequest(number);
  if (pr.state && pr.state !== 'open')
    throw new C2CError(`Pull request #${number} is ${pr.state}: no environment is made for it.`);
  const base = pr.baseRepo ?? `${github.repository.owner}/${github.repository.repo}`;
  // No head repository (GitHub's `head.repo: null`: the fork was deleted) is a fork too: whose code
  // it is cannot be told, so it is not taken for this repository's.
  const fork = !pr.headRepo || pr.headRepo.toLowerCase() !== base.toLowerCase();
  const from = pr.headRepo
    ? `the fork ${pr.headRepo}`
    : 'a fork that was deleted (its head repository is null)';
  if (fork && !opts.allowForks)
    throw new C2CError(
      `Pull request #${number} comes from ${from}: feature environments run its code with this repository's credentials, so forks are refused. A maintainer can set 'allow-forks: true' (read the security notes first).`,
    );
  const adder = await github.labelAddedBy(number, opts.label);
  if (!adder)
    throw new C2CError(
      `Nobody added the label '${opts.label}' to pull request #${number} (its events name no one): no environment is made.`,
    );
  const role = await github.collaboratorPermission(adder);
  const rank = (p: string) => PERMISSIONS.indexOf(p as (typeof PERMISSIONS)[number]);
  if (rank(role) < rank(opts.requiredPermission))
    throw new C2CError(
      `${adder} added the label '${opts.label}' to pull request #${number}, but has the permission '${role}' on the repository, and '${opts.requiredPermission}' is required: no environment is made. Someone with '${opts.requiredPermission}' can add the label again.`,
    );
  logger.info(
    `#${number}: open, ${fork ? `from ${from} (allowed)` : 'not from a fork'}; labeled by ${adder} (${role})`,
  );
  return pr;
}
