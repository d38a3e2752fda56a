import type { getOctokit } from '@actions/github';
import { C2CError, InputError, parseRetryAfter, retry, type RetryOptions } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { GitHubContext, GitHubRepository, PullRequestInfo } from './context.js';

/**
 * The one GitHub layer: deployments and their statuses, run approvals, pull request comments and
 * labels. The real Octokit client (as @actions/github builds it) under the project's retry helper.
 */

export type DeploymentState =
  'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';
export const DEPLOYMENT_STATES: readonly DeploymentState[] = [
  'error',
  'failure',
  'inactive',
  'in_progress',
  'queued',
  'pending',
  'success',
];

export interface CreateDeploymentOptions {
  /** Branch, tag or SHA to record the deployment for. */
  ref: string;
  environment: string;
  description?: string;
  /** The environment goes away when no longer used (feature environments). */
  transient?: boolean;
  production?: boolean;
  payload?: Record<string, unknown>;
  /** Default 'deploy'. */
  task?: string;
}

export interface Deployment {
  id: number;
  url: string;
  ref: string;
  sha: string;
  environment: string;
  description: string | null;
  createdAt: string;
  statusesUrl: string;
}

export interface DeploymentStatusOptions {
  state: DeploymentState;
  environment_url?: string;
  log_url?: string;
  description?: string;
  /** Mark earlier deployments of the environment inactive on success (GitHub's default: true). */
  auto_inactive?: boolean;
}

export interface DeploymentStatus {
  id: number;
  url: string;
  state: string;
  environmentUrl?: string;
  logUrl?: string;
  description?: string;
  createdAt: string;
}

export interface RunApproval {
  /** Login of the reviewer. */
  user: string;
  /** Names of the environments the review was for. */
  environments: string[];
  state: 'approved' | 'rejected' | 'pending' | string;
  comment: string;
  /** Not in GitHub's current response; kept when a server sends it. */
  created_at?: string;
}

export interface IssueComment {
  id: number;
  url: string;
  htmlUrl?: string;
  body: string;
  user?: string;
  createdAt: string;
  updatedAt: string;
}

export interface UpsertResult {
  comment: IssueComment;
  /** 'created', 'updated', or 'unchanged' when the body was already the same. */
  action: 'created' | 'updated' | 'unchanged';
}

export interface GitHubClientOptions {
  token: string;
  context: Pick<GitHubContext, 'apiUrl' | 'repository'> & Partial<GitHubContext>;
  logger: Logger;
  /** Retry policy of every call. Default: 5 attempts, backoff from 500 ms, waits up to 60 s, 3 min in all. */
  retry?: RetryOptions;
  /** Timeout of one request. Default 30 s. */
  timeoutMs?: number;
  userAgent?: string;
}

/** A failed GitHub API call: what was attempted, the HTTP status, GitHub's message. */
export class GitHubApiError extends C2CError {
  override name = 'GitHubApiError';
  readonly retryAfterMs?: number;
  readonly transient: boolean;
  constructor(
    message: string,
    readonly status: number,
    opts: { transient: boolean; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, { cause: opts.cause });
    this.transient = opts.transient;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}

const MARKER_ID = /^[A-Za-z0-9_.:/-]{1,100}$/;

/**
 * Who an app installation token writes as when it is the workflow's GITHUB_TOKEN. Such a token
 * cannot read GET /user (GitHub: 403 "Resource not accessible by integration").
 */
export const ACTIONS_BOT = 'github-actions[bot]';

/** The hidden marker that identifies a comment this project owns, e.g. `<!-- c2c:feature-env -->`. */
export function commentMarker(id: string): string {
  if (!MARKER_ID.test(id))
    throw new InputError(
      'comment marker',
      `'${id}' is not a valid marker id`,
      'letters, digits, and . _ : / -',
    );
  return `<!-- c2c:${id} -->`;
}

/** Logins of the reviewers who approved a run (for one environment, when given), without duplicates. */
export function approvedBy(approvals: RunApproval[], environment?: string): string[] {
  const out: string[] = [];
  for (const a of approvals) {
    if (a.state !== 'approved') continue;
    if (environment && !a.environments.includes(environment)) continue;
    if (!out.includes(a.user)) out.push(a.user);
  }
  return out;
}

interface OctokitLikeError {
  status?: number;
  message?: string;
  name?: string;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
}

type Octokit = ReturnType<typeof getOctokit>;

const SECONDARY_RATE_LIMIT = /secondary rate limit|abuse detection/i;

export class GitHubClient {
  readonly repository: GitHubRepository;
  /**
   * Octokit is loaded on first use: @actions/github is a large share of the bundle's start-up, and
   * a deploy without an environment constructs a client but never calls GitHub.
   */
  private readonly makeOctokit: () => Promise<Octokit>;
  private octokitLoaded: Promise<Octokit> | undefined;
  private loginLoaded: Promise<string> | undefined;
  private readonly logger: Logger;
  private readonly retryOpts: RetryOptions;
  private readonly timeoutMs: number;
  private readonly maxWaitMs: number;

  constructor(opts: GitHubClientOptions) {
    if (!opts.token) throw new InputError('token', 'is empty', 'a GitHub token (e.g. ${{ github.token }})');
    if (!opts.context.repository)
      throw new C2CError('The GitHub repository is unknown: set GITHUB_REPOSITORY to owner/repo.');
    // Registered before any use: from here on it never reaches a log.
    opts.logger.secret(opts.token);
    this.repository = opts.context.repository;
    this.logger = opts.logger;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retryOpts = {
      attempts: 5,
      baseDelayMs: 500,
      maxDelayMs: 60_000,
      deadlineMs: 180_000,
      ...opts.retry,
    };
    this.maxWaitMs = this.retryOpts.maxDelayMs ?? 60_000;
    const log = {
      debug: (m: string) => this.logger.debug(m),
      info: (m: string) => this.logger.debug(m),
      warn: (m: string) => this.logger.warning(m),
      error: (m: string) => this.logger.debug(m),
    };
    const token = opts.token;
    const options = {
      baseUrl: opts.context.apiUrl.replace(/\/+$/, ''),
      userAgent: opts.userAgent ?? 'commit-to-cloud',
      log,
    };
    this.makeOctokit = async () => (await import('@actions/github')).getOctokit(token, options);
  }

  private octokit(): Promise<Octokit> {
    return (this.octokitLoaded ??= this.makeOctokit());
  }

  private get repo() {
    return { owner: this.repository.owner, repo: this.repository.repo };
  }

  private get request() {
    return { signal: AbortSignal.timeout(this.timeoutMs) };
  }

  /** Turns an Octokit failure into one clear error that says whether another attempt may help. */
  private translate(what: string, err: unknown): GitHubApiError {
    const e = (err ?? {}) as OctokitLikeError;
    // Octokit reports a request that never got an answer (DNS, refused, reset, timeout) as a status
    // 500 without a response: that is a network error, not GitHub's 500.
    if (!e.response && (e.status === 500 || e.status === undefined)) {
      const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
      const why = [cause?.code, e.message ?? String(err)].filter(Boolean).join(': ');
      return new GitHubApiError(
        `GitHub API: ${what} failed: network error, no answer from GitHub (${why})`,
        0,
        {
          transient: true,
          cause: err,
        },
      );
    }
    const status = typeof e.status === 'number' ? e.status : 0;
    const headers = e.response?.headers ?? {};
    const message = (e.message ?? String(err)).trim();
    let retryAfterMs = parseRetryAfter(headers['retry-after']);
    let transient = status === 0 || status === 408 || status === 429 || (status >= 500 && status !== 501);
    let detail = message;
    if (status === 403 || status === 429) {
      const primary = headers['x-ratelimit-remaining'] === '0';
      const secondary = SECONDARY_RATE_LIMIT.test(message);
      if (primary && retryAfterMs === undefined && headers['x-ratelimit-reset']) {
        const reset = Number(headers['x-ratelimit-reset']) * 1000;
        if (Number.isFinite(reset)) retryAfterMs = Math.max(0, reset - Date.now()) + 1000;
      }
      if (secondary && retryAfterMs === undefined) retryAfterMs = 60_000; // GitHub: wait at least a minute
      if (primary || secondary || retryAfterMs !== undefined) {
        transient = true;
        if (retryAfterMs !== undefined && retryAfterMs > this.maxWaitMs) {
          transient = false;
          detail = `rate limited by GitHub for another ${Math.ceil(retryAfterMs / 1000)}s (longer than this step waits): ${message}`;
        }
      }
    }
    if (status === 403 && !transient && retryAfterMs === undefined) {
      // GitHub names what the endpoint accepts, e.g. 'deployments=write' or 'issues=write; pull_requests=write'.
      const accepted = String(headers['x-accepted-github-permissions'] ?? '')
        .split(/[;,]/)
        .map((p) => p.trim().replace('=', ': ').replace('_', '-'))
        .filter(Boolean);
      detail = accepted.length
        ? `${message} (the token lacks the permission ${accepted.map((a) => `'${a}'`).join(' or ')}: add it to the job's 'permissions:')`
        : `${message} (the token lacks a permission this needs: check the job's 'permissions:', e.g. deployments: write, pull-requests: write, actions: read)`;
    }
    if (status === 401)
      detail = `${message} (the token was refused: check the 'token' input and its permissions)`;
    return new GitHubApiError(
      `GitHub API: ${what} failed${status ? ` (HTTP ${status})` : ''}: ${detail}`,
      status,
      {
        transient,
        cause: err,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      },
    );
  }

  /** One API call under the retry helper (`retryOpts` narrows it for lookups that matter less). */
  private call<T>(what: string, fn: () => Promise<T>, retryOpts: RetryOptions = {}): Promise<T> {
    return retry(
      `GitHub API: ${what}`,
      async () => {
        try {
          return await fn();
        } catch (err) {
          throw this.translate(what, err);
        }
      },
      {
        ...this.retryOpts,
        ...retryOpts,
        onRetry: (err, attempt, delay) => {
          this.logger.debug(`${(err as Error).message}; attempt ${attempt + 1} in ${delay} ms`);
          this.retryOpts.onRetry?.(err, attempt, delay);
        },
      },
    );
  }

  /** Every page of a list endpoint, each page under the retry helper. */
  private async all<T>(what: string, route: string, params: Record<string, unknown>): Promise<T[]> {
    const pages = (await this.octokit()).paginate.iterator(route, {
      ...this.repo,
      per_page: 100,
      ...params,
    } as never);
    const it = pages[Symbol.asyncIterator]();
    const out: T[] = [];
    for (let page = 1; page <= 100; page++) {
      const r = await this.call(`${what} (page ${page})`, () => it.next());
      if (r.done) return out;
      out.push(...((r.value as { data: T[] }).data ?? []));
    }
    throw new C2CError(`GitHub API: ${what}: more than 100 pages`);
  }

  // ---- deployments -------------------------------------------------------------------------

  /**
   * Checks that the token may create deployments, without creating one: GitHub checks the
   * permission before it validates the request, so a request without a `ref` is refused with 403
   * when the permission is missing and with 422 (nothing created) when it is there.
   */
  async checkDeploymentPermission(): Promise<void> {
    const octokit = await this.octokit();
    try {
      await this.call('check the permission to create deployments', () =>
        octokit.request('POST /repos/{owner}/{repo}/deployments', {
          ...this.repo,
          request: this.request,
        } as never),
      );
    } catch (e) {
      if (e instanceof GitHubApiError && e.status === 422) return;
      if (e instanceof GitHubApiError && (e.status === 403 || e.status === 404))
        throw new C2CError(
          `The GitHub token cannot create deployments in ${this.repo.owner}/${this.repo.repo}: it needs the permission 'deployments: write' (add it to the job's 'permissions:'), because 'environment' is set. Nothing was built or changed. (${e.message})`,
          { cause: e },
        );
      throw e;
    }
    throw new C2CError(
      'GitHub accepted a deployment without a ref: cannot tell whether the token may create deployments',
    );
  }

  async createDeployment(o: CreateDeploymentOptions): Promise<Deployment> {
    if (!o.ref?.trim()) throw new InputError('ref', 'is empty', 'a branch, tag or commit SHA');
    if (!o.environment?.trim()) throw new InputError('environment', 'is empty', 'an environment name');
    const what = `create deployment of ${o.ref} to '${o.environment}'`;
    const octokit = await this.octokit();
    const res = await this.call(what, () =>
      octokit.rest.repos.createDeployment({
        ...this.repo,
        ref: o.ref,
        environment: o.environment,
        task: o.task ?? 'deploy',
        // Works on any repository: no merge of the default branch, no required status checks.
        auto_merge: false,
        required_contexts: [],
        ...(o.description !== undefined ? { description: o.description.slice(0, 140) } : {}),
        ...(o.transient !== undefined ? { transient_environment: o.transient } : {}),
        ...(o.production !== undefined ? { production_environment: o.production } : {}),
        ...(o.payload !== undefined ? { payload: o.payload as { [k: string]: unknown } } : {}),
        request: this.request,
      }),
    );
    const d = res.data as Record<string, unknown>;
    if (res.status !== 201 || typeof d.id !== 'number')
      throw new GitHubApiError(
        `GitHub API: ${what} did not create a deployment (HTTP ${res.status}): ${String(d.message ?? '')}`,
        res.status,
        { transient: false },
      );
    const dep: Deployment = {
      id: d.id,
      url: String(d.url ?? ''),
      ref: String(d.ref ?? o.ref),
      sha: String(d.sha ?? ''),
      environment: String(d.environment ?? o.environment),
      description: (d.description as string | null) ?? null,
      createdAt: String(d.created_at ?? ''),
      statusesUrl: String(d.statuses_url ?? ''),
    };
    this.logger.debug(`GitHub deployment ${dep.id} created for ${dep.ref} in '${dep.environment}'`);
    return dep;
  }

  async createDeploymentStatus(deploymentId: number, o: DeploymentStatusOptions): Promise<DeploymentStatus> {
    if (!Number.isSafeInteger(deploymentId) || deploymentId <= 0)
      throw new InputError('deployment-id', `'${deploymentId}' is not a deployment id`, 'a positive integer');
    if (!DEPLOYMENT_STATES.includes(o.state))
      throw new InputError(
        'state',
        `'${String(o.state)}' is not a deployment state`,
        DEPLOYMENT_STATES.join(', '),
      );
    const octokit = await this.octokit();
    const res = await this.call(`set deployment ${deploymentId} to ${o.state}`, () =>
      octokit.rest.repos.createDeploymentStatus({
        ...this.repo,
        deployment_id: deploymentId,
        state: o.state,
        ...(o.environment_url ? { environment_url: o.environment_url } : {}),
        ...(o.log_url ? { log_url: o.log_url } : {}),
        ...(o.description !== undefined ? { description: o.description.slice(0, 140) } : {}),
        ...(o.auto_inactive !== undefined ? { auto_inactive: o.auto_inactive } : {}),
        request: this.request,
      }),
    );
    const d = res.data as unknown as Record<string, unknown>;
    const st: DeploymentStatus = {
      id: Number(d.id),
      url: String(d.url ?? ''),
      state: String(d.state ?? o.state),
      createdAt: String(d.created_at ?? ''),
    };
    if (typeof d.environment_url === 'string' && d.environment_url) st.environmentUrl = d.environment_url;
    if (typeof d.log_url === 'string' && d.log_url) st.logUrl = d.log_url;
    if (typeof d.description === 'string' && d.description) st.description = d.description;
    return st;
  }

  async listDeployments(
    filter: { environment?: string; ref?: string; sha?: string } = {},
  ): Promise<Deployment[]> {
    const rows = await this.all<Record<string, unknown>>(
      'list deployments',
      'GET /repos/{owner}/{repo}/deployments',
      filter,
    );
    return rows.map((d) => ({
      id: Number(d.id),
      url: String(d.url ?? ''),
      ref: String(d.ref ?? ''),
      sha: String(d.sha ?? ''),
      environment: String(d.environment ?? ''),
      description: (d.description as string | null) ?? null,
      createdAt: String(d.created_at ?? ''),
      statusesUrl: String(d.statuses_url ?? ''),
    }));
  }

  // ---- run approvals -----------------------------------------------------------------------

  /** Who reviewed a run's deployments to protected environments ([] when nobody had to). */
  /**
   * Who approved the run's deployments. Part of the audit trail, not of the deploy: two attempts
   * within 5 s, so an unreachable GitHub costs seconds, not a minute of retries.
   */
  async runApprovals(runId: number): Promise<RunApproval[]> {
    if (!Number.isSafeInteger(runId) || runId <= 0)
      throw new InputError(
        'run-id',
        `'${runId}' is not a workflow run id`,
        'a positive integer (GITHUB_RUN_ID)',
      );
    const octokit = await this.octokit();
    const res = await this.call(
      `read approvals of run ${runId}`,
      () => octokit.rest.actions.getReviewsForRun({ ...this.repo, run_id: runId, request: this.request }),
      { attempts: 2, deadlineMs: 5_000 },
    );
    const rows = Array.isArray(res.data) ? (res.data as unknown as Record<string, unknown>[]) : [];
    return rows.map((r) => {
      const user = r.user as { login?: string } | null | undefined;
      const envs = Array.isArray(r.environments) ? (r.environments as { name?: string }[]) : [];
      const a: RunApproval = {
        user: user?.login ?? '',
        environments: envs.map((e) => e?.name ?? '').filter(Boolean),
        state: String(r.state ?? ''),
        comment: typeof r.comment === 'string' ? r.comment : '',
      };
      if (typeof r.created_at === 'string') a.created_at = r.created_at;
      return a;
    });
  }

  // ---- pull request comments ---------------------------------------------------------------

  private static comment(d: Record<string, unknown>): IssueComment {
    const c: IssueComment = {
      id: Number(d.id),
      url: String(d.url ?? ''),
      body: String(d.body ?? ''),
      createdAt: String(d.created_at ?? ''),
      updatedAt: String(d.updated_at ?? ''),
    };
    if (typeof d.html_url === 'string') c.htmlUrl = d.html_url;
    const login = (d.user as { login?: string } | null | undefined)?.login;
    if (login) c.user = login;
    return c;
  }

  async listComments(issueNumber: number): Promise<IssueComment[]> {
    checkNumber(issueNumber);
    const rows = await this.all<Record<string, unknown>>(
      `list comments of #${issueNumber}`,
      'GET /repos/{owner}/{repo}/issues/{issue_number}/comments',
      { issue_number: issueNumber },
    );
    return rows.map((r) => GitHubClient.comment(r));
  }

  /**
   * Who this token writes as. A person's token: GitHub says (GET /user), asked once and kept. An app
   * installation token (the workflow's GITHUB_TOKEN) cannot read /user (403 "Resource not accessible
   * by integration"): it writes as github-actions[bot]. A comment the token creates corrects this
   * (another app's installation token writes as its own `<app>[bot]`).
   */
  login(): Promise<string> {
    return (this.loginLoaded ??= this.whoAmI().catch((e: unknown) => {
      this.loginLoaded = undefined;
      throw e;
    }));
  }

  private async whoAmI(): Promise<string> {
    const octokit = await this.octokit();
    try {
      const res = await this.call('read who the token is (GET /user)', () =>
        octokit.rest.users.getAuthenticated({ request: this.request }),
      );
      const login = (res.data as { login?: unknown }).login;
      if (typeof login !== 'string' || !login)
        throw new C2CError('GitHub API: read who the token is (GET /user): the answer names no login');
      return login;
    } catch (e) {
      if (e instanceof GitHubApiError && e.status === 403 && /not accessible by integration/i.test(e.message))
        return ACTIONS_BOT;
      throw e;
    }
  }

  /** This token's comments carrying `marker`, oldest first: a comment by anyone else is never ours. */
  private async ownMarked(issueNumber: number, marker: string): Promise<IssueComment[]> {
    const [me, comments] = await Promise.all([this.login(), this.listComments(issueNumber)]);
    return comments.filter((c) => c.user === me && c.body.includes(marker)).sort((a, b) => a.id - b.id);
  }

  /**
   * The oldest comment carrying the marker `<!-- c2c:<id> -->` written by this token's own identity:
   * anyone can write the marker into a comment, and that comment is not ours to edit.
   */
  async findComment(issueNumber: number, markerId: string): Promise<IssueComment | undefined> {
    const marker = commentMarker(markerId);
    return (await this.ownMarked(issueNumber, marker))[0];
  }

  /**
   * Creates or updates the one comment of this project identified by the marker and written by this
   * token's identity: the body is prefixed with the hidden marker, an identical body is not
   * rewritten. Run twice, or concurrently, it leaves one comment.
   */
  async upsertComment(issueNumber: number, markerId: string, body: string): Promise<UpsertResult> {
    const marker = commentMarker(markerId);
    const full = `${marker}\n${body}`;
    const existing = await this.findComment(issueNumber, markerId);
    if (existing) {
      if (existing.body === full) return { comment: existing, action: 'unchanged' };
      return { comment: await this.editComment(issueNumber, existing.id, markerId, body), action: 'updated' };
    }
    const octokit = await this.octokit();
    const res = await this.call(`comment on #${issueNumber}`, () =>
      octokit.rest.issues.createComment({
        ...this.repo,
        issue_number: issueNumber,
        body: full,
        request: this.request,
      }),
    );
    const created = GitHubClient.comment(res.data as unknown as Record<string, unknown>);
    // What GitHub says wrote it is who this token is (another app's installation token is not
    // github-actions[bot]).
    if (created.user && created.user !== (await this.login()))
      this.loginLoaded = Promise.resolve(created.user);
    // Concurrent runs can each find none and each create one: all but the oldest go again, so the
    // pull request ends with one comment whatever the interleaving.
    const keep = (await this.ownMarked(issueNumber, marker))[0];
    if (keep && keep.id !== created.id) {
      await this.call(`delete duplicate comment ${created.id} on #${issueNumber}`, () =>
        octokit.rest.issues.deleteComment({
          ...this.repo,
          comment_id: created.id,
          request: this.request,
        }),
      );
      return this.upsertComment(issueNumber, markerId, body);
    }
    return { comment: created, action: 'created' };
  }

  /**
   * Rewrites the marked comment `commentId` (one upsertComment found or made: the same identity's),
   * with the marker kept: a live status edits it without listing the comments again.
   */
  async editComment(
    issueNumber: number,
    commentId: number,
    markerId: string,
    body: string,
  ): Promise<IssueComment> {
    const octokit = await this.octokit();
    const res = await this.call(`update comment ${commentId} on #${issueNumber}`, () =>
      octokit.rest.issues.updateComment({
        ...this.repo,
        comment_id: commentId,
        body: `${commentMarker(markerId)}\n${body}`,
        request: this.request,
      }),
    );
    return GitHubClient.comment(res.data as unknown as Record<string, unknown>);
  }

  /**
   * Reacts to a comment (a command acknowledged: eyes; done: rocket; refused or failed: confused).
   * Reacting twice with the same content is one reaction (GitHub answers 200 the second time).
   */
  async react(
    commentId: number,
    content: '+1' | '-1' | 'laugh' | 'confused' | 'heart' | 'hooray' | 'rocket' | 'eyes',
  ): Promise<void> {
    const octokit = await this.octokit();
    await this.call(`react ${content} to comment ${commentId}`, () =>
      octokit.rest.reactions.createForIssueComment({
        ...this.repo,
        comment_id: commentId,
        content,
        request: this.request,
      }),
    );
  }

  /** A new comment (not the sticky one): a reply to a command. */
  async reply(issueNumber: number, body: string): Promise<IssueComment> {
    checkNumber(issueNumber);
    const octokit = await this.octokit();
    const res = await this.call(`comment on #${issueNumber}`, () =>
      octokit.rest.issues.createComment({
        ...this.repo,
        issue_number: issueNumber,
        body,
        request: this.request,
      }),
    );
    return GitHubClient.comment(res.data as unknown as Record<string, unknown>);
  }

  /** Deletes the marked comment; false when there was none. */
  async deleteComment(issueNumber: number, markerId: string): Promise<boolean> {
    const existing = await this.findComment(issueNumber, markerId);
    if (!existing) return false;
    const octokit = await this.octokit();
    await this.call(`delete comment ${existing.id} on #${issueNumber}`, () =>
      octokit.rest.issues.deleteComment({
        ...this.repo,
        comment_id: existing.id,
        request: this.request,
      }),
    );
    return true;
  }

  // ---- labels and pull requests ------------------------------------------------------------

  async listLabels(issueNumber: number): Promise<string[]> {
    checkNumber(issueNumber);
    const rows = await this.all<{ name?: string }>(
      `list labels of #${issueNumber}`,
      'GET /repos/{owner}/{repo}/issues/{issue_number}/labels',
      { issue_number: issueNumber },
    );
    return rows.map((l) => l.name ?? '').filter(Boolean);
  }

  /** Adds labels (GitHub creates unknown ones); returns every label now on the issue. */
  async addLabels(issueNumber: number, labels: string[]): Promise<string[]> {
    checkNumber(issueNumber);
    const clean = labels.map((l) => l.trim()).filter(Boolean);
    if (clean.length === 0) return this.listLabels(issueNumber);
    const octokit = await this.octokit();
    const res = await this.call(`label #${issueNumber} with ${clean.join(', ')}`, () =>
      octokit.rest.issues.addLabels({
        ...this.repo,
        issue_number: issueNumber,
        labels: clean,
        request: this.request,
      }),
    );
    return (res.data as { name?: string }[]).map((l) => l.name ?? '').filter(Boolean);
  }

  /** Removes a label; false when the issue did not carry it. */
  async removeLabel(issueNumber: number, label: string): Promise<boolean> {
    checkNumber(issueNumber);
    const octokit = await this.octokit();
    try {
      await this.call(`remove label '${label}' from #${issueNumber}`, () =>
        octokit.rest.issues.removeLabel({
          ...this.repo,
          issue_number: issueNumber,
          name: label,
          request: this.request,
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof GitHubApiError && err.status === 404) return false;
      throw err;
    }
  }

  async getPullRequest(prNumber: number): Promise<PullRequestInfo> {
    checkNumber(prNumber);
    const octokit = await this.octokit();
    const res = await this.call(`read pull request #${prNumber}`, () =>
      octokit.rest.pulls.get({ ...this.repo, pull_number: prNumber, request: this.request }),
    );
    return pullInfo(res.data as unknown as Record<string, unknown>);
  }

  /** Open pull requests, only those carrying `label` when given. */
  /**
   * A user's role on the repository: admin, maintain, write, triage or read (the role name GitHub
   * shows; a custom role counts as its base permission), or none.
   */
  async collaboratorPermission(
    login: string,
  ): Promise<'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none'> {
    if (!/^[A-Za-z0-9-]+(\[bot\])?$/.test(login))
      throw new InputError('login', `'${login}' is not a GitHub login`, 'a user name');
    const octokit = await this.octokit();
    const res = await this.call(`read the permission of ${login}`, () =>
      octokit.rest.repos.getCollaboratorPermissionLevel({
        ...this.repo,
        username: login,
        request: this.request,
      }),
    );
    const d = res.data as { permission?: string; role_name?: string };
    const known = ['admin', 'maintain', 'write', 'triage', 'read', 'none'] as const;
    const role = known.find((k) => k === d.role_name) ?? known.find((k) => k === d.permission) ?? 'none';
    return role;
  }

  /** Who added `label` to the issue or pull request last (from its events), if anyone did. */
  async labelAddedBy(issueNumber: number, label: string): Promise<string | undefined> {
    checkNumber(issueNumber);
    const events = await this.all<{
      event?: string;
      label?: { name?: string };
      actor?: { login?: string } | null;
    }>(`list events of #${issueNumber}`, 'GET /repos/{owner}/{repo}/issues/{issue_number}/events', {
      issue_number: issueNumber,
    });
    const last = events.filter((e) => e.event === 'labeled' && e.label?.name === label).at(-1);
    return last?.actor?.login ?? undefined;
  }

  async listOpenPullRequests(opts: { label?: string } = {}): Promise<PullRequestInfo[]> {
    const rows = await this.all<Record<string, unknown>>(
      'list open pull requests',
      'GET /repos/{owner}/{repo}/pulls',
      {
        state: 'open',
      },
    );
    const prs = rows.map(pullInfo);
    return opts.label ? prs.filter((p) => p.labels.includes(opts.label!)) : prs;
  }
}

function checkNumber(n: number): void {
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new InputError(
      'pull-request',
      `'${n}' is not a pull request or issue number`,
      'a positive integer',
    );
}

function pullInfo(d: Record<string, unknown>): PullRequestInfo {
  const head = (d.head ?? {}) as { ref?: string; sha?: string; repo?: { full_name?: string } | null };
  const base = (d.base ?? {}) as { ref?: string; repo?: { full_name?: string } | null };
  const labels = Array.isArray(d.labels) ? (d.labels as { name?: string }[]) : [];
  const p: PullRequestInfo = {
    number: Number(d.number),
    labels: labels.map((l) => l?.name ?? '').filter(Boolean),
  };
  if (typeof d.state === 'string') p.state = d.state;
  if (typeof d.title === 'string') p.title = d.title;
  if (head.ref) p.headRef = head.ref;
  if (head.sha) p.headSha = head.sha;
  if (base.ref) p.baseRef = base.ref;
  if (head.repo?.full_name) p.headRepo = head.repo.full_name;
  if (base.repo?.full_name) p.baseRepo = base.repo.full_name;
  if (typeof d.html_url === 'string') p.htmlUrl = d.html_url;
  const login = (d.user as { login?: string } | null | undefined)?.login;
  if (login) p.author = login;
  return p;
}
