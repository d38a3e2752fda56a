import { readFileSync } from 'node:fs';
import { C2CError, errorMessage } from '../core/index.js';

/**
 * Where a run happens, read from the variables the Actions runner sets (or a CI system imitating it).
 * A plain object: no globals, no side effects beyond reading the event file, so the CLI and the tests
 * build one from any environment they like.
 */
export interface GitHubRepository {
  owner: string;
  repo: string;
}

export interface PullRequestInfo {
  number: number;
  /** Label names on the pull request when the event was sent. */
  labels: string[];
  state?: string;
  title?: string;
  headRef?: string;
  headSha?: string;
  baseRef?: string;
  htmlUrl?: string;
  author?: string;
  /** owner/repo of the head and the base: they differ for a pull request from a fork. */
  headRepo?: string;
  baseRepo?: string;
}

export interface GitHubContext {
  /** REST API root, without a trailing slash (GITHUB_API_URL, default https://api.github.com). */
  apiUrl: string;
  /** Web root (GITHUB_SERVER_URL, default https://github.com). */
  serverUrl: string;
  graphqlUrl: string;
  /** From GITHUB_REPOSITORY, else the event's repository; undefined outside a repository's run. */
  repository?: GitHubRepository;
  sha?: string;
  ref?: string;
  /** Branch of the pull request head (GITHUB_HEAD_REF), on pull_request events. */
  headRef?: string;
  baseRef?: string;
  runId?: number;
  runAttempt?: number;
  runNumber?: number;
  actor?: string;
  triggeringActor?: string;
  workflow?: string;
  job?: string;
  eventName?: string;
  eventPath?: string;
  /** The webhook payload of the event (GITHUB_EVENT_PATH), {} when there is none. */
  payload: Record<string, unknown>;
  /** The pull request the event is about (pull_request, pull_request_target, issue_comment on a PR). */
  pullRequest?: PullRequestInfo;
  /** The event's action (opened, labeled, closed, ...). */
  action?: string;
  /** The label a labeled/unlabeled event is about. */
  label?: string;
  /**
   * When the event happened, from the payload: the comment's creation (issue_comment), the pull
   * request's last update (pull_request: the label, the push); undefined when it says nothing.
   */
  eventAt?: string;
  /** The comment an issue_comment event is about: its id, its text and who wrote it. */
  comment?: { id: number; body: string; author: string };
  /** Link to this run (and attempt, when it is not the first), when repository and run id are known. */
  runUrl?: string;
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

function int(env: Env, name: string): number | undefined {
  const v = str(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function s(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined;
}

/** Parses "owner/repo". */
export function parseRepository(value: string): GitHubRepository | undefined {
  const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(value.trim());
  return m ? { owner: m[1]!, repo: m[2]! } : undefined;
}

function labelsOf(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.map((l) => (typeof l === 'string' ? l : s(obj(l)?.name))).filter((l): l is string => !!l);
}

function pullRequestOf(payload: Record<string, unknown>): PullRequestInfo | undefined {
  const pr = obj(payload.pull_request);
  if (pr && typeof pr.number === 'number') {
    const head = obj(pr.head);
    const base = obj(pr.base);
    const info: PullRequestInfo = { number: pr.number, labels: labelsOf(pr.labels) };
    const add = <K extends keyof PullRequestInfo>(k: K, v: PullRequestInfo[K] | undefined) => {
      if (v !== undefined) info[k] = v;
    };
    add('state', s(pr.state));
    add('title', s(pr.title));
    add('headRef', s(head?.ref));
    add('headSha', s(head?.sha));
    add('baseRef', s(base?.ref));
    add('htmlUrl', s(pr.html_url));
    add('author', s(obj(pr.user)?.login));
    return info;
  }
  // issue_comment on a pull request: the issue carries a pull_request link.
  const issue = obj(payload.issue);
  if (issue && typeof issue.number === 'number' && obj(issue.pull_request)) {
    const info: PullRequestInfo = { number: issue.number, labels: labelsOf(issue.labels) };
    const title = s(issue.title);
    if (title) info.title = title;
    const state = s(issue.state);
    if (state) info.state = state;
    return info;
  }
  return undefined;
}

/** Reads the event payload; a named file that cannot be read or parsed is an error naming it. */
function readPayload(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new C2CError(`GITHUB_EVENT_PATH '${path}' cannot be read: ${errorMessage(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new C2CError(`GITHUB_EVENT_PATH '${path}' is not valid JSON: ${errorMessage(err)}`);
  }
  const o = obj(parsed);
  if (!o) throw new C2CError(`GITHUB_EVENT_PATH '${path}' does not hold a JSON object`);
  return o;
}

export function githubContextFromEnv(env: Env = process.env): GitHubContext {
  const apiUrl = trimSlash(str(env, 'GITHUB_API_URL') ?? 'https://api.github.com');
  const serverUrl = trimSlash(str(env, 'GITHUB_SERVER_URL') ?? 'https://github.com');
  const eventPath = str(env, 'GITHUB_EVENT_PATH');
  const payload = eventPath ? readPayload(eventPath) : {};

  let repository: GitHubRepository | undefined;
  const repoVar = str(env, 'GITHUB_REPOSITORY');
  if (repoVar) {
    repository = parseRepository(repoVar);
    if (!repository) throw new C2CError(`GITHUB_REPOSITORY '${repoVar}' is not of the form owner/repo`);
  } else {
    const r = obj(payload.repository);
    const owner = s(obj(r?.owner)?.login);
    const name = s(r?.name);
    if (owner && name) repository = { owner, repo: name };
  }

  const ctx: GitHubContext = {
    apiUrl,
    serverUrl,
    graphqlUrl: trimSlash(str(env, 'GITHUB_GRAPHQL_URL') ?? `${apiUrl}/graphql`),
    payload,
  };
  const set = <K extends keyof GitHubContext>(k: K, v: GitHubContext[K] | undefined) => {
    if (v !== undefined) ctx[k] = v;
  };
  set('repository', repository);
  set('sha', str(env, 'GITHUB_SHA'));
  set('ref', str(env, 'GITHUB_REF'));
  set('headRef', str(env, 'GITHUB_HEAD_REF'));
  set('baseRef', str(env, 'GITHUB_BASE_REF'));
  set('runId', int(env, 'GITHUB_RUN_ID'));
  set('runAttempt', int(env, 'GITHUB_RUN_ATTEMPT'));
  set('runNumber', int(env, 'GITHUB_RUN_NUMBER'));
  set('actor', str(env, 'GITHUB_ACTOR'));
  set('triggeringActor', str(env, 'GITHUB_TRIGGERING_ACTOR'));
  set('workflow', str(env, 'GITHUB_WORKFLOW'));
  set('job', str(env, 'GITHUB_JOB'));
  set('eventName', str(env, 'GITHUB_EVENT_NAME'));
  set('eventPath', eventPath);
  set('pullRequest', pullRequestOf(payload));
  set('action', s(payload.action));
  set('label', s(obj(payload.label)?.name));
  const comment = obj(payload.comment);
  const author = s(obj(comment?.user)?.login);
  if (comment && typeof comment.id === 'number' && typeof comment.body === 'string' && author)
    ctx.comment = { id: comment.id, body: comment.body, author };
  set('eventAt', s(comment?.created_at) ?? s(obj(payload.pull_request)?.updated_at));
  if (repository && ctx.runId !== undefined) {
    const base = `${serverUrl}/${repository.owner}/${repository.repo}/actions/runs/${ctx.runId}`;
    ctx.runUrl = ctx.runAttempt && ctx.runAttempt > 1 ? `${base}/attempts/${ctx.runAttempt}` : base;
  }
  return ctx;
}
