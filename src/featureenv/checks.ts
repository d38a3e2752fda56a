import { C2CError, InputError, errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { GitHubClient, GitHubContext, PullRequestInfo } from '../github/index.js';
import { COMMENT_MARKER, renderWithdrawnComment } from './comment.js';
import { parsePrCommand } from './event.js';
import { PERMISSIONS, type FeatureEnvOptions } from './inputs.js';

export interface UpChecked {
  /** The pull request as GitHub has it now (its head commit is the one the environment runs). */
  pr: PullRequestInfo;
  /**
   * Set when the code of a fork is new since the label was added (a push, with allow-forks): the
   * label was taken off, and no environment is made or updated. Why, for the summary.
   */
  withdrawn?: string;
}

const PR_EVENTS = new Set(['pull_request', 'pull_request_target']);

/**
 * The refusals of `up`, checked before anything is created: a closed pull request, a pull request
 * from a fork (unless allow-forks), a label added by someone without the required permission. With
 * allow-forks, a fork's code is deployed only on the event of the label being added (the labeler
 * has read that code): on any other pull request event (a push: synchronize; reopened, ...) the
 * label is removed and the PR comment says that someone with `required-permission` must add it
 * again after reading the new code.
 */
export async function checkUp(
  github: GitHubClient,
  opts: FeatureEnvOptions,
  number: number,
  event: Pick<GitHubContext, 'eventName' | 'action' | 'label'>,
  logger: Logger,
  o: { approvedBy?: string } = {},
): Promise<UpChecked> {
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
  const labelAdded = event.action === 'labeled' && event.label === opts.label;
  if (fork && PR_EVENTS.has(event.eventName ?? '') && !labelAdded)
    return { pr, withdrawn: await withdrawLabel(github, opts, number, pr, from, event, logger) };
  const adder = o.approvedBy ?? (await labelApprover(github, opts, number));
  if (!adder)
    throw new C2CError(
      `Nobody added the label '${opts.label}' to pull request #${number} (its events name no one): no environment is made.`,
    );
  const role = await github.collaboratorPermission(adder);
  if (!permits(role, opts.requiredPermission))
    throw new C2CError(
      `${adder} added the label '${opts.label}' to pull request #${number}, but has the permission '${role}' on the repository, and '${opts.requiredPermission}' is required: no environment is made. Someone with '${opts.requiredPermission}' can add the label again.`,
    );
  logger.info(
    `#${number}: open, ${fork ? `from ${from} (allowed)` : 'not from a fork'}; ${o.approvedBy ? 'asked for' : 'labeled'} by ${adder} (${role})`,
  );
  return { pr };
}

/** Whether a role on the repository is at least the required permission. */
export function permits(role: string, required: FeatureEnvOptions['requiredPermission']): boolean {
  const rank = (p: string) => PERMISSIONS.indexOf(p as (typeof PERMISSIONS)[number]);
  return rank(role) >= rank(required);
}

/**
 * Who the label stands for: whoever added it last. When this token's own identity added it (a
 * `/feature-env up` comment asked for it), the author of the last such comment: comments cannot be
 * written in another's name, and that author's permission is checked as a labeler's would be.
 */
async function labelApprover(
  github: GitHubClient,
  opts: FeatureEnvOptions,
  number: number,
): Promise<string | undefined> {
  const adder = await github.labelAddedBy(number, opts.label);
  if (!adder || adder !== (await github.login().catch(() => undefined))) return adder;
  const asked = (await github.listComments(number))
    .filter((c) => c.user !== adder && parsePrCommand(c.body)?.name === 'up')
    .at(-1);
  return asked?.user;
}

/**
 * Without a token the checks of up cannot be made: that is an error, unless the workflow says
 * explicitly that it wants none of them (allow-forks: true and required-permission: none).
 */
export function uncheckedWithoutToken(opts: FeatureEnvOptions, number: number, logger: Logger): void {
  if (opts.allowForks && opts.requiredPermission === 'none') {
    logger.warning(
      `no GitHub token, and 'allow-forks: true' with 'required-permission: none': pull request #${number} is not checked (open, fork, who added the label)`,
    );
    return;
  }
  throw new InputError(
    'token',
    `is empty, so pull request #${number} cannot be checked: whether it is open, whether it comes from a fork (refused unless 'allow-forks'), and who added the label '${opts.label}' (they need the permission '${opts.requiredPermission}'). No environment is made unchecked`,
    "a GitHub token that can read the pull request and its events (e.g. ${{ github.token }} with 'pull-requests: read' and 'issues: read'); or, to make environments without any of these checks, both 'allow-forks: true' and 'required-permission: none'",
  );
}

/**
 * New code from a fork that nobody with the permission has read: the label comes off (failing that,
 * the run fails: nothing is deployed either way) and the PR comment says what to do.
 */
async function withdrawLabel(
  github: GitHubClient,
  opts: FeatureEnvOptions,
  number: number,
  pr: PullRequestInfo,
  from: string,
  event: Pick<GitHubContext, 'action'>,
  logger: Logger,
): Promise<string> {
  const removed = await github.removeLabel(number, opts.label);
  const why = `${event.action ?? 'an event'} of pull request #${number} from ${from}: its new code is not deployed; the label '${opts.label}' was ${removed ? 'removed' : 'not on it'}, someone with the permission '${opts.requiredPermission}' must add it again after reading the new code`;
  logger.warning(why);
  try {
    await github.upsertComment(
      number,
      COMMENT_MARKER,
      renderWithdrawnComment({
        number,
        from,
        label: opts.label,
        permission: opts.requiredPermission,
        ...(pr.headSha ? { sha: pr.headSha } : {}),
      }),
    );
  } catch (e) {
    logger.warning(`could not write the pull request comment: ${errorMessage(e)}`);
  }
  return why;
}
