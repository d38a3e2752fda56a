import { InputError } from '../core/index.js';
import type { GitHubContext } from '../github/index.js';
import type { FeatureEnvOptions } from './inputs.js';

/** What a run does, and why (said in the log and, for `skipped`, in the summary). */
export interface Decision {
  command: 'up' | 'down' | 'reap' | 'skipped' | 'pr-command';
  /** Pull request number, for up and down. */
  number?: number;
  /** Whether up updates an environment (new commits) rather than making one. */
  update?: boolean;
  /** For down: why it goes (shown in the PR comment). */
  reason: string;
  /** pr-command: the command a comment on the pull request gives (`/feature-env extend 2d`). */
  prCommand?: { name: string; arg: string; commentId: number; author: string };
}

/** The first line of a comment that starts with `/feature-env`: the command and its argument. */
export function parsePrCommand(body: string): { name: string; arg: string } | undefined {
  for (const line of body.split(/\r?\n/)) {
    const m = /^\s*\/feature-env(?:\s+(\S+))?(?:\s+(.*?))?\s*$/.exec(line);
    if (m) return { name: m[1] ?? '', arg: m[2] ?? '' };
  }
  return undefined;
}

const PR_EVENTS = new Set(['pull_request', 'pull_request_target']);

/**
 * `command: auto` from the event: a pull request labeled with `label` → up; synchronize or reopened
 * while the label is on → up (an update); unlabeled (that label) or closed → down; schedule or
 * workflow_dispatch → reap. Anything else, and another label, is `skipped` (not an error).
 */
export function decide(opts: FeatureEnvOptions, gh: GitHubContext): Decision {
  const number = opts.pullRequest ?? gh.pullRequest?.number;
  if (opts.command !== 'auto') {
    if (opts.command === 'reap') return { command: 'reap', reason: 'asked for (command: reap)' };
    if (!number)
      throw new InputError(
        'pull-request',
        `is empty, and the event (${gh.eventName ?? 'none'}) names no pull request`,
        `the number of the pull request to bring ${opts.command}`,
      );
    return { command: opts.command, number, reason: `asked for (command: ${opts.command})` };
  }
  const event = gh.eventName ?? '';
  if (event === 'schedule' || event === 'workflow_dispatch')
    return { command: 'reap', reason: `${event} event` };
  if (event === 'issue_comment') {
    const parsed = gh.comment && parsePrCommand(gh.comment.body);
    if (!number || !parsed || gh.action !== 'created')
      return {
        command: 'skipped',
        ...(number ? { number } : {}),
        reason: !number
          ? 'a comment on an issue, not on a pull request'
          : gh.action !== 'created'
            ? `a comment ${gh.action ?? 'changed'}: only a new comment gives a command`
            : 'a comment that gives no /feature-env command',
      };
    return {
      command: 'pr-command',
      number,
      reason: `/feature-env ${parsed.name} by ${gh.comment!.author}`,
      prCommand: { ...parsed, commentId: gh.comment!.id, author: gh.comment!.author },
    };
  }
  if (!PR_EVENTS.has(event) || !number)
    return {
      command: 'skipped',
      reason: `the ${event || 'unknown'} event is not about a labelled pull request`,
    };
  const labelled = (gh.pullRequest?.labels ?? []).includes(opts.label);
  switch (gh.action) {
    case 'labeled':
      return gh.label === opts.label
        ? { command: 'up', number, reason: `labeled ${opts.label}` }
        : { command: 'skipped', number, reason: `labeled '${gh.label ?? ''}', not '${opts.label}'` };
    case 'unlabeled':
      return gh.label === opts.label
        ? { command: 'down', number, reason: `the label '${opts.label}' was removed` }
        : { command: 'skipped', number, reason: `unlabeled '${gh.label ?? ''}', not '${opts.label}'` };
    case 'closed':
      return { command: 'down', number, reason: 'the pull request was closed' };
    case 'synchronize':
    case 'reopened':
    case 'opened':
    case 'edited':
      return labelled
        ? {
            command: 'up',
            number,
            update: gh.action === 'synchronize',
            reason: `${gh.action} while labeled '${opts.label}'`,
          }
        : {
            command: 'skipped',
            number,
            reason: `${gh.action}, but the pull request is not labeled '${opts.label}'`,
          };
    default:
      return {
        command: 'skipped',
        number,
        reason: `the pull_request action '${gh.action ?? ''}' asks for nothing`,
      };
  }
}
