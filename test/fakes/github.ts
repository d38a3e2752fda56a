/**
 * A loopback stand-in for the GitHub REST API, for the parts this project uses: deployments and
 * deployment statuses, workflow run approvals, issue comments, labels, pull requests. The real
 * Octokit client (@actions/github) talks to it through GITHUB_API_URL / baseUrl.
 *
 * It behaves like GitHub where a client could notice: status codes (201 on create, 204 on delete,
 * 401 bad credentials, 404, 422 validation), response shapes (id, node_id, url, created_at, ...),
 * newest-first lists where GitHub sorts so, pagination with `Link` headers, rate-limit headers.
 * Who wrote what is the token's identity: an app installation token (`ghs_…`, the workflow's
 * GITHUB_TOKEN) writes as `github-actions[bot]` and cannot read GET /user (403 "Resource not
 * accessible by integration"); a personal token writes as its user, and GET /user names it.
 * It records every request and can inject faults (500, 403 secondary rate limit with Retry-After,
 * 429, dropped connections).
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path without the API prefix and query, e.g. /repos/o/r/deployments. */
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  /** Status the fake answered with (0 when the connection was dropped). */
  status: number;
  /** When it arrived (ms since the epoch). */
  at: number;
}

export interface Fault {
  method?: string;
  /** Matches the request path (a string matches as a prefix). Default: every path. */
  path?: string | RegExp;
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** How many requests it hits. Default 1. */
  times?: number;
  /** Destroy the connection instead of answering. */
  drop?: boolean;
}

export interface FakeUser {
  login: string;
  id: number;
  type?: 'User' | 'Bot';
}

export interface FakeApproval {
  user: string;
  environments: string[];
  state: 'approved' | 'rejected' | 'pending';
  comment?: string;
}

export interface FakeStatus {
  id: number;
  state: string;
  description: string;
  environment: string;
  environment_url: string;
  log_url: string;
  created_at: string;
}

export interface FakeDeployment {
  id: number;
  ref: string;
  sha: string;
  task: string;
  environment: string;
  description: string | null;
  payload: unknown;
  transient_environment: boolean;
  production_environment: boolean;
  created_at: string;
  /** Oldest first. */
  statuses: FakeStatus[];
  /** The request body as sent. */
  request: Record<string, unknown>;
}

export interface FakeComment {
  id: number;
  issue: number;
  body: string;
  user: FakeUser;
  created_at: string;
  updated_at: string;
  /** Reactions to it, one per user and content (as GitHub keeps them). */
  reactions: Array<{ content: string; user: string }>;
}

export interface FakeIssue {
  number: number;
  isPull: boolean;
  title: string;
  state: 'open' | 'closed';
  labels: string[];
  headRef: string;
  headSha: string;
  baseRef: string;
  user: FakeUser;
  created_at: string;
  /**
   * owner/repo of the head branch: another repository for a pull request from a fork; null when
   * that fork was deleted (GitHub then answers `head.repo: null`).
   */
  headRepo?: string | null;
}

export interface GitHubFakeOptions {
  /** The only token accepted. Default 'ghs_fake_token_0123456789'. */
  token?: string;
  owner?: string;
  repo?: string;
  defaultBranch?: string;
  /** Mount the API under a prefix, like GitHub Enterprise Server's /api/v3. Default ''. */
  pathPrefix?: string;
  /**
   * The user the token belongs to. Default: `github-actions[bot]` for an installation token, a
   * user `ci-user` for a personal one.
   */
  user?: FakeUser;
  /**
   * What the token is. `installation` (an app installation token, as the workflow's GITHUB_TOKEN,
   * `ghs_…`): GET /user is refused with GitHub's 403 "Resource not accessible by integration".
   * `personal` (`ghp_…`, `github_pat_…`): GET /user answers its user. Default: from the prefix.
   */
  tokenKind?: TokenKind;
  /**
   * More tokens the fake accepts, each another identity (a person commenting with a token of their
   * own): what they write (comments, labels) is theirs. Write on everything, like a collaborator.
   */
  otherTokens?: Array<{ token: string; user: FakeUser; kind?: TokenKind }>;
  /**
   * The token's permissions, as a workflow's `permissions:` block grants them to GITHUB_TOKEN.
   * Default: write on everything. A request beyond them gets GitHub's 403 "Resource not accessible
   * by integration" with the `x-accepted-github-permissions` header, before any validation.
   */
  permissions?: Partial<Record<FakePermission, 'read' | 'write' | 'none'>>;
}

export type TokenKind = 'installation' | 'personal';

/** GitHub's token prefixes: `ghs_` is a server-to-server (app installation) token. */
const kindOf = (token: string): TokenKind => (token.startsWith('ghs_') ? 'installation' : 'personal');

/** Who a request is from: the token's user and what the token is. */
interface Caller {
  user: FakeUser;
  kind: TokenKind;
  /** The main token, whose permissions are `permissions`. */
  main: boolean;
}

export type FakePermission = 'contents' | 'deployments' | 'actions' | 'issues' | 'pull-requests' | 'metadata';

/**
 * The permissions a route accepts, any one of them (of the routes this fake serves). The issue routes
 * (comments, events, labels) take `issues` or `pull-requests`, as GitHub's do: a pull request is an
 * issue, and a workflow with `pull-requests: write` comments on it.
 */
function permissionsFor(method: string, rest: string): Array<[FakePermission, 'read' | 'write']> {
  const level = method === 'GET' ? 'read' : 'write';
  if (rest.startsWith('/deployments')) return [['deployments', level]];
  if (rest.startsWith('/actions/')) return [['actions', level]];
  if (rest.startsWith('/issues'))
    return [
      ['issues', level],
      ['pull-requests', level],
    ];
  if (rest.startsWith('/pulls')) return [['pull-requests', level]];
  return [['metadata', 'read']];
}

export interface GitHubFake {
  /** API root for GITHUB_API_URL / Octokit's baseUrl (no trailing slash). */
  url: string;
  token: string;
  owner: string;
  repo: string;
  /** GITHUB_API_URL, GITHUB_SERVER_URL, GITHUB_REPOSITORY for a run against this fake. */
  env: Record<string, string>;
  requests: RecordedRequest[];
  deployments: FakeDeployment[];
  comments: FakeComment[];
  issues: Map<number, FakeIssue>;
  /** Branch name -> commit SHA; deployments of other refs (40-hex SHAs aside) get 422. */
  refs: Map<string, string>;
  /** login -> role on the repository (read, triage, write, maintain, admin); others have none. */
  collaborators: Map<string, string>;
  /** Adds (or removes) a label as `actor` did in the web UI: the issue's labels and its events. */
  label(number: number, label: string, actor: string, action?: 'labeled' | 'unlabeled'): void;
  addPullRequest(pr: Partial<FakeIssue> & { number: number }): FakeIssue;
  addIssue(issue: Partial<FakeIssue> & { number: number }): FakeIssue;
  /** A comment written by `login` in the web UI (a person's: it is theirs, not the token's). */
  addComment(issue: number, body: string, login: string): FakeComment;
  /** Makes a workflow run known, with the reviews of its deployments ([] when none were needed). */
  addRun(runId: number, approvals?: FakeApproval[]): void;
  /** Injects a fault for the next matching request(s). */
  fail(fault: Fault): void;
  /**
   * Holds the next `count` matching requests until all of them have arrived, then answers them in
   * the order they came: concurrent clients really race (each has read before any has written).
   */
  holdUntil(o: { method?: string; path?: string | RegExp; count: number }): void;
  /** Drops every fault not yet used. */
  clearFaults(): void;
  /** 403 "secondary rate limit" with Retry-After, as GitHub answers. */
  secondaryRateLimit(opts?: {
    retryAfter?: number;
    times?: number;
    method?: string;
    path?: string | RegExp;
  }): void;
  /** Requests that reached a handler, filtered. */
  requestsTo(method: string, path: string | RegExp): RecordedRequest[];
  stop(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';

function sha1(s: string): string {
  return createHash('sha1').update(s).digest('hex');
}

class HttpStatus extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(status));
  }
}

const notFound = () => new HttpStatus(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
const invalid = (message: string) => new HttpStatus(422, { message, documentation_url: DOCS, status: '422' });

export async function startGitHubFake(opts: GitHubFakeOptions = {}): Promise<GitHubFake> {
  const token = opts.token ?? 'ghs_fake_token_0123456789';
  const owner = opts.owner ?? 'octo-org';
  const repo = opts.repo ?? 'octo-repo';
  const prefix = (opts.pathPrefix ?? '').replace(/\/+$/, '');
  const defaultBranch = opts.defaultBranch ?? 'main';
  const tokenKind = opts.tokenKind ?? kindOf(token);
  const tokenUser: FakeUser =
    opts.user ??
    (tokenKind === 'installation'
      ? { login: 'github-actions[bot]', id: 41898282, type: 'Bot' }
      : { login: 'ci-user', id: 4242, type: 'User' });
  const callers = new Map<string, Caller>([[token, { user: tokenUser, kind: tokenKind, main: true }]]);
  for (const t of opts.otherTokens ?? [])
    callers.set(t.token, { user: t.user, kind: t.kind ?? kindOf(t.token), main: false });
  const repoId = 123456789;

  const requests: RecordedRequest[] = [];
  const deployments: FakeDeployment[] = [];
  /** login -> role (read, triage, write, maintain, admin); others have none. */
  const collaborators = new Map<string, string>();
  /** Issue events (labeled/unlabeled) per issue number, oldest first. */
  const issueEvents = new Map<
    number,
    Array<{ id: number; event: string; label: string; actor: string; created_at: string }>
  >();
  const recordLabel = (n: number, event: 'labeled' | 'unlabeled', label: string, actor: string) => {
    const list = issueEvents.get(n) ?? [];
    list.push({ id: nextId++, event, label, actor, created_at: now() });
    issueEvents.set(n, list);
  };
  const comments: FakeComment[] = [];
  const issues = new Map<number, FakeIssue>();
  const refs = new Map<string, string>([[defaultBranch, sha1(`branch:${defaultBranch}`)]]);
  const runs = new Map<number, FakeApproval[]>();
  const faults: Fault[] = [];
  const holds: Array<{ method?: string; path?: string | RegExp; count: number; waiting: Array<() => void> }> =
    [];
  const labelIds = new Map<string, number>();
  let nextId = 1000;
  let clock = Date.parse('2026-01-01T00:00:00Z');
  // Strictly increasing timestamps, so "newest first" is well defined.
  const now = () => new Date((clock += 1000)).toISOString().replace(/\.\d{3}Z$/, 'Z');

  let base = '';
  const api = () => `${base}${prefix}`;
  const repoApi = () => `${api()}/repos/${owner}/${repo}`;
  const web = 'https://github.example';

  const userJson = (u: FakeUser) => ({
    login: u.login,
    id: u.id,
    node_id: `U_${u.id}`,
    type: u.type ?? 'User',
    site_admin: false,
    url: `${api()}/users/${encodeURIComponent(u.login)}`,
    html_url: `${web}/${u.login}`,
  });
  const users = new Map<string, FakeUser>();
  const userNamed = (login: string): FakeUser => {
    let u = users.get(login);
    if (!u) users.set(login, (u = { login, id: 5000 + users.size, type: 'User' }));
    return u;
  };

  const labelJson = (name: string) => {
    let id = labelIds.get(name);
    if (id === undefined) labelIds.set(name, (id = nextId++));
    return {
      id,
      node_id: `LA_${id}`,
      url: `${repoApi()}/labels/${encodeURIComponent(name)}`,
      name,
      color: 'ededed',
      default: false,
      description: null,
    };
  };

  const deploymentJson = (d: FakeDeployment) => ({
    url: `${repoApi()}/deployments/${d.id}`,
    id: d.id,
    node_id: `DE_${d.id}`,
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    payload: d.payload,
    original_environment: d.environment,
    environment: d.environment,
    description: d.description,
    creator: userJson(tokenUser),
    created_at: d.created_at,
    updated_at: d.statuses.at(-1)?.created_at ?? d.created_at,
    statuses_url: `${repoApi()}/deployments/${d.id}/statuses`,
    repository_url: repoApi(),
    transient_environment: d.transient_environment,
    production_environment: d.production_environment,
    performed_via_github_app: null,
  });

  const statusJson = (d: FakeDeployment, s: FakeStatus) => ({
    url: `${repoApi()}/deployments/${d.id}/statuses/${s.id}`,
    id: s.id,
    node_id: `DES_${s.id}`,
    state: s.state,
    creator: userJson(tokenUser),
    description: s.description,
    environment: s.environment,
    target_url: s.log_url,
    created_at: s.created_at,
    updated_at: s.created_at,
    deployment_url: `${repoApi()}/deployments/${d.id}`,
    repository_url: repoApi(),
    environment_url: s.environment_url,
    log_url: s.log_url,
    performed_via_github_app: null,
  });

  const commentJson = (c: FakeComment) => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${repoApi()}/issues/comments/${c.id}`,
    html_url: `${web}/${owner}/${repo}/pull/${c.issue}#issuecomment-${c.id}`,
    body: c.body,
    user: userJson(c.user),
    created_at: c.created_at,
    updated_at: c.updated_at,
    issue_url: `${repoApi()}/issues/${c.issue}`,
    author_association: 'NONE',
  });

  const pullJson = (p: FakeIssue) => ({
    url: `${repoApi()}/pulls/${p.number}`,
    id: 900000 + p.number,
    node_id: `PR_${p.number}`,
    html_url: `${web}/${owner}/${repo}/pull/${p.number}`,
    number: p.number,
    state: p.state,
    locked: false,
    title: p.title,
    user: userJson(p.user),
    body: null,
    labels: p.labels.map(labelJson),
    created_at: p.created_at,
    updated_at: p.created_at,
    closed_at: p.state === 'closed' ? p.created_at : null,
    draft: false,
    head: {
      label: `${(p.headRepo ?? `${owner}/${repo}`).split('/')[0]}:${p.headRef}`,
      ref: p.headRef,
      sha: p.headSha,
      // A deleted fork: GitHub keeps the pull request, its head repository is null.
      repo:
        p.headRepo === null
          ? null
          : {
              full_name: p.headRepo ?? `${owner}/${repo}`,
              fork: (p.headRepo ?? `${owner}/${repo}`) !== `${owner}/${repo}`,
            },
    },
    base: {
      label: `${owner}:${p.baseRef}`,
      ref: p.baseRef,
      sha: refs.get(p.baseRef) ?? sha1(p.baseRef),
      repo: { full_name: `${owner}/${repo}`, fork: false },
    },
  });

  const approvalJson = (a: FakeApproval) => ({
    environments: a.environments.map((name, i) => ({
      id: 7000 + i,
      node_id: `EN_${name}`,
      name,
      url: `${repoApi()}/environments/${encodeURIComponent(name)}`,
      html_url: `${web}/${owner}/${repo}/deployments/activity_log?environments_filter=${encodeURIComponent(name)}`,
      created_at: '2025-06-01T00:00:00Z',
      updated_at: '2025-06-01T00:00:00Z',
    })),
    state: a.state,
    user: userJson(userNamed(a.user)),
    comment: a.comment ?? '',
  });

  function addIssue(p: Partial<FakeIssue> & { number: number }, isPull = false): FakeIssue {
    const issue: FakeIssue = {
      isPull,
      title: `Change #${p.number}`,
      state: 'open',
      labels: [],
      headRef: `feature-${p.number}`,
      headSha: sha1(`pr:${p.number}`),
      baseRef: defaultBranch,
      user: userNamed('octocat'),
      created_at: now(),
      ...p,
    };
    issues.set(issue.number, issue);
    if (isPull) refs.set(issue.headRef, issue.headSha);
    return issue;
  }

  /** Answers one page of a list, with GitHub's Link header. */
  function page(
    url: URL,
    items: unknown[],
  ): { status: number; body: unknown; headers: Record<string, string> } {
    const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
    const pageNo = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const body = items.slice((pageNo - 1) * perPage, pageNo * perPage);
    const link = (n: number) => {
      const u = new URL(url.toString());
      u.searchParams.set('page', String(n));
      u.searchParams.set('per_page', String(perPage));
      return `${base}${u.pathname}${u.search}`;
    };
    const rels: string[] = [];
    if (pageNo > 1) rels.push(`<${link(pageNo - 1)}>; rel="prev"`);
    if (pageNo < last) rels.push(`<${link(pageNo + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
    if (pageNo > 1) rels.push(`<${link(1)}>; rel="first"`);
    return { status: 200, body, headers: rels.length ? { link: rels.join(', ') } : {} };
  }

  function issueOr404(n: string): FakeIssue {
    const issue = issues.get(Number(n));
    if (!issue) throw notFound();
    return issue;
  }

  type Result = { status: number; body?: unknown; headers?: Record<string, string> };

  function route(
    method: string,
    path: string,
    url: URL,
    body: Record<string, unknown>,
    caller: Caller,
  ): Result {
    if (method === 'GET' && path === '/user') {
      // An installation token is no user: GitHub refuses "get the authenticated user" for it.
      if (caller.kind === 'installation')
        throw new HttpStatus(403, {
          message: 'Resource not accessible by integration',
          documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user',
          status: '403',
        });
      return { status: 200, body: userJson(caller.user) };
    }
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    if (!m) throw notFound();
    if (decodeURIComponent(m[1]!) !== owner || decodeURIComponent(m[2]!) !== repo) throw notFound();
    const rest = m[3] ?? '';
    let r: RegExpExecArray | null;
    const accepted = permissionsFor(method, rest);
    const allows = ([perm, level]: [FakePermission, 'read' | 'write']) => {
      const granted = (caller.main ? opts.permissions?.[perm] : undefined) ?? 'write';
      return granted === 'write' || (granted === 'read' && level === 'read');
    };
    if (!accepted.some(allows))
      throw new HttpStatus(
        403,
        {
          message: 'Resource not accessible by integration',
          documentation_url: DOCS,
          status: '403',
        },
        {
          'x-accepted-github-permissions': accepted
            .map(([perm, level]) => `${perm.replace('-', '_')}=${level}`)
            .join('; '),
        },
      );

    if (rest === '' && method === 'GET')
      return {
        status: 200,
        body: {
          id: repoId,
          node_id: `R_${repoId}`,
          name: repo,
          full_name: `${owner}/${repo}`,
          owner: userJson({ login: owner, id: 1, type: 'User' }),
          private: true,
          default_branch: defaultBranch,
          url: repoApi(),
          html_url: `${web}/${owner}/${repo}`,
        },
      };

    // --- deployments
    if (rest === '/deployments' && method === 'POST') {
      const ref = body.ref;
      if (typeof ref !== 'string' || !ref) throw invalid('Invalid request.\n\n"ref" wasn\'t supplied.');
      const sha = /^[0-9a-f]{40}$/.test(ref) ? ref : refs.get(ref.replace(/^refs\/heads\//, ''));
      if (!sha)
        throw new HttpStatus(422, {
          message: `No ref found for: ${ref}`,
          documentation_url: DOCS,
          status: '422',
        });
      const branch = ref.replace(/^refs\/heads\//, '');
      // GitHub merges the default branch into the ref first unless auto_merge is false.
      if (body.auto_merge !== false && refs.has(branch) && branch !== defaultBranch)
        throw new HttpStatus(409, {
          message: `Conflict merging ${defaultBranch} into ${branch}.`,
          documentation_url: DOCS,
          status: '409',
        });
      const environment =
        typeof body.environment === 'string' && body.environment ? body.environment : 'production';
      const d: FakeDeployment = {
        id: nextId++,
        ref,
        sha,
        task: typeof body.task === 'string' ? body.task : 'deploy',
        environment,
        description: typeof body.description === 'string' ? body.description : null,
        payload: body.payload ?? {},
        transient_environment: body.transient_environment === true,
        production_environment:
          typeof body.production_environment === 'boolean'
            ? body.production_environment
            : environment === 'production',
        created_at: now(),
        statuses: [],
        request: body,
      };
      deployments.push(d);
      return { status: 201, body: deploymentJson(d) };
    }
    if (rest === '/deployments' && method === 'GET') {
      const f = (k: string) => url.searchParams.get(k);
      const list = deployments
        .filter(
          (d) =>
            (!f('environment') || d.environment === f('environment')) &&
            (!f('ref') || d.ref === f('ref')) &&
            (!f('sha') || d.sha === f('sha')) &&
            (!f('task') || d.task === f('task')),
        )
        .slice()
        .reverse()
        .map(deploymentJson);
      return page(url, list);
    }
    if ((r = /^\/deployments\/(\d+)(\/statuses(?:\/(\d+))?)?$/.exec(rest))) {
      const d = deployments.find((x) => x.id === Number(r![1]));
      if (!d) throw notFound();
      if (!r[2]) {
        if (method === 'GET') return { status: 200, body: deploymentJson(d) };
        if (method === 'DELETE') {
          if (d.statuses.at(-1)?.state !== 'inactive' && deployments.length > 1)
            throw invalid(
              'We cannot delete an active deployment unless it is the only deployment in a given environment.',
            );
          deployments.splice(deployments.indexOf(d), 1);
          return { status: 204 };
        }
        throw notFound();
      }
      if (r[3]) {
        const s = d.statuses.find((x) => x.id === Number(r![3]));
        if (!s || method !== 'GET') throw notFound();
        return { status: 200, body: statusJson(d, s) };
      }
      if (method === 'GET')
        return page(
          url,
          d.statuses
            .slice()
            .reverse()
            .map((s) => statusJson(d, s)),
        );
      if (method === 'POST') {
        const states = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];
        if (typeof body.state !== 'string' || !states.includes(body.state))
          throw invalid(
            `Invalid request.\n\nstate must be one of ${states.map((x) => `"${x}"`).join(', ')}.`,
          );
        const environment =
          typeof body.environment === 'string' && body.environment ? body.environment : d.environment;
        const logUrl = String(body.log_url ?? body.target_url ?? '');
        const s: FakeStatus = {
          id: nextId++,
          state: body.state,
          description: typeof body.description === 'string' ? body.description : '',
          environment,
          environment_url: typeof body.environment_url === 'string' ? body.environment_url : '',
          log_url: logUrl,
          created_at: now(),
        };
        if (s.description.length > 140) throw invalid('description is too long (maximum is 140 characters)');
        d.statuses.push(s);
        d.environment = environment;
        // auto_inactive (default true): earlier non-transient, non-production deployments of the
        // environment that were successful get an inactive status.
        if (s.state === 'success' && body.auto_inactive !== false)
          for (const other of deployments)
            if (
              other !== d &&
              other.environment === d.environment &&
              !other.production_environment &&
              other.statuses.at(-1)?.state === 'success'
            )
              other.statuses.push({
                ...other.statuses.at(-1)!,
                id: nextId++,
                state: 'inactive',
                created_at: now(),
              });
        return { status: 201, body: statusJson(d, s) };
      }
      throw notFound();
    }

    // --- run approvals
    if ((r = /^\/actions\/runs\/(\d+)\/approvals$/.exec(rest)) && method === 'GET') {
      const approvals = runs.get(Number(r[1]));
      if (!approvals) throw notFound();
      return { status: 200, body: approvals.map(approvalJson) };
    }

    // --- comments
    if ((r = /^\/issues\/(\d+)\/comments$/.exec(rest))) {
      const issue = issueOr404(r[1]!);
      if (method === 'GET') {
        const list = comments.filter((c) => c.issue === issue.number).map(commentJson);
        return page(url, list);
      }
      if (method === 'POST') {
        if (typeof body.body !== 'string' || !body.body)
          throw invalid('Invalid request.\n\n"body" wasn\'t supplied.');
        const t = now();
        const c: FakeComment = {
          id: nextId++,
          issue: issue.number,
          body: body.body,
          user: caller.user,
          created_at: t,
          updated_at: t,
          reactions: [],
        };
        comments.push(c);
        return {
          status: 201,
          body: commentJson(c),
          headers: { location: `${repoApi()}/issues/comments/${c.id}` },
        };
      }
      throw notFound();
    }
    if ((r = /^\/issues\/comments\/(\d+)\/reactions$/.exec(rest)) && method === 'POST') {
      const c = comments.find((x) => x.id === Number(r![1]));
      if (!c) throw notFound();
      const content = String(body.content ?? '');
      if (!['+1', '-1', 'laugh', 'confused', 'heart', 'hooray', 'rocket', 'eyes'].includes(content))
        throw invalid('Validation Failed');
      const mine = { content, user: caller.user.login };
      const seen = c.reactions.find((x) => x.content === content && x.user === mine.user);
      if (!seen) c.reactions.push(mine);
      return {
        status: seen ? 200 : 201,
        body: { id: c.reactions.indexOf(seen ?? mine) + 1, content, user: userJson(caller.user) },
      };
    }
    if ((r = /^\/issues\/comments\/(\d+)$/.exec(rest))) {
      const c = comments.find((x) => x.id === Number(r![1]));
      if (!c) throw notFound();
      if (method === 'GET') return { status: 200, body: commentJson(c) };
      if (method === 'PATCH') {
        if (typeof body.body !== 'string' || !body.body)
          throw invalid('Invalid request.\n\n"body" wasn\'t supplied.');
        c.body = body.body;
        c.updated_at = now();
        return { status: 200, body: commentJson(c) };
      }
      if (method === 'DELETE') {
        comments.splice(comments.indexOf(c), 1);
        return { status: 204 };
      }
      throw notFound();
    }

    // --- labels
    if ((r = /^\/issues\/(\d+)\/labels(?:\/(.+))?$/.exec(rest))) {
      const issue = issueOr404(r[1]!);
      if (r[2] !== undefined) {
        if (method !== 'DELETE') throw notFound();
        const name = decodeURIComponent(r[2]);
        const i = issue.labels.indexOf(name);
        if (i < 0)
          throw new HttpStatus(404, {
            message: 'Label does not exist',
            documentation_url: DOCS,
            status: '404',
          });
        issue.labels.splice(i, 1);
        recordLabel(issue.number, 'unlabeled', name, caller.user.login);
        return { status: 200, body: issue.labels.map(labelJson) };
      }
      if (method === 'GET') return page(url, issue.labels.map(labelJson));
      if (method === 'POST' || method === 'PUT') {
        const raw = Array.isArray(body) ? body : body.labels;
        if (
          !Array.isArray(raw) ||
          raw.some((l) => typeof l !== 'string' && typeof (l as { name?: unknown })?.name !== 'string')
        )
          throw invalid('Invalid request.\n\n"labels" wasn\'t supplied.');
        const names = raw.map((l) => (typeof l === 'string' ? l : String((l as { name: string }).name)));
        if (method === 'PUT') issue.labels = [];
        for (const n of names)
          if (!issue.labels.includes(n)) {
            issue.labels.push(n);
            recordLabel(issue.number, 'labeled', n, caller.user.login);
          }
        return { status: 200, body: issue.labels.map(labelJson) };
      }
      if (method === 'DELETE') {
        issue.labels = [];
        return { status: 204 };
      }
      throw notFound();
    }

    // --- issue events (who added or removed a label)
    if ((r = /^\/issues\/(\d+)\/events$/.exec(rest)) && method === 'GET') {
      const issue = issueOr404(r[1]!);
      return page(
        url,
        (issueEvents.get(issue.number) ?? []).map((e) => ({
          id: e.id,
          node_id: `LE_${e.id}`,
          url: `${repoApi()}/issues/events/${e.id}`,
          actor: userJson(userNamed(e.actor)),
          event: e.event,
          commit_id: null,
          commit_url: null,
          created_at: e.created_at,
          label: { name: e.label, color: 'ededed' },
        })),
      );
    }

    // --- collaborators: a user's permission (role_name as in the UI; permission the legacy four)
    if ((r = /^\/collaborators\/([^/]+)\/permission$/.exec(rest)) && method === 'GET') {
      const login = decodeURIComponent(r[1]!);
      const role = collaborators.get(login) ?? 'none';
      const permission = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role;
      return {
        status: 200,
        body: { permission, role_name: role, user: userJson(userNamed(login)) },
      };
    }

    // --- pull requests
    if (rest === '/pulls' && method === 'GET') {
      const state = url.searchParams.get('state') ?? 'open';
      if (!['open', 'closed', 'all'].includes(state))
        throw invalid('Invalid request.\n\nstate is not included in the list.');
      const list = [...issues.values()]
        .filter((p) => p.isPull && (state === 'all' || p.state === state))
        .sort((a, b) => (a.created_at < b.created_at ? 1 : -1))
        .map(pullJson);
      return page(url, list);
    }
    if ((r = /^\/pulls\/(\d+)$/.exec(rest)) && method === 'GET') {
      const p = issues.get(Number(r[1]));
      if (!p || !p.isPull) throw notFound();
      return { status: 200, body: pullJson(p) };
    }
    throw notFound();
  }

  function matches(f: Fault, method: string, path: string): boolean {
    if (f.method && f.method.toUpperCase() !== method) return false;
    if (f.path === undefined) return true;
    return typeof f.path === 'string' ? path.startsWith(f.path) : f.path.test(path);
  }

  let remaining = 5000;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = (req.method ?? 'GET').toUpperCase();
      let path = url.pathname;
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = undefined;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      const rec: RecordedRequest = {
        method,
        path,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body,
        status: 0,
        at: Date.now(),
      };
      requests.push(rec);
      const resetAt = Math.floor(Date.now() / 1000) + 3600;
      const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
        rec.status = status;
        const out = payload === undefined || status === 204 ? '' : JSON.stringify(payload);
        res.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'x-github-request-id': `FAKE:${requests.length}`,
          'x-github-media-type': 'github.v3; format=json',
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': String(remaining),
          'x-ratelimit-reset': String(resetAt),
          'x-ratelimit-used': String(5000 - remaining),
          'x-ratelimit-resource': 'core',
          ...(out ? { 'content-length': String(Buffer.byteLength(out)) } : {}),
          ...headers,
        });
        res.end(out);
      };

      if (prefix) {
        if (!path.startsWith(`${prefix}/`))
          return send(404, { message: 'Not Found', documentation_url: DOCS });
        path = path.slice(prefix.length);
        rec.path = path;
      }

      const held = holds.find((h) => matches(h, method, path));
      if (held) {
        held.waiting.push(() => answer(req, method, path, url, body, send));
        if (held.waiting.length >= held.count) {
          holds.splice(holds.indexOf(held), 1);
          for (const go of held.waiting) go();
        }
        return;
      }
      answer(req, method, path, url, body, send);
    });
  });

  /** Faults first, then the credentials, then the route. */
  function answer(
    req: http.IncomingMessage,
    method: string,
    path: string,
    url: URL,
    body: unknown,
    send: (status: number, payload?: unknown, headers?: Record<string, string>) => void,
  ): void {
    const fault = faults.find((f) => matches(f, method, path));
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) faults.splice(faults.indexOf(fault), 1);
      if (fault.drop) {
        req.socket.destroy();
        return;
      }
      return send(fault.status ?? 500, fault.body ?? { message: 'Server Error' }, fault.headers);
    }

    const auth = req.headers.authorization;
    if (!auth)
      return send(401, { message: 'Requires authentication', documentation_url: DOCS, status: '401' });
    const m = /^(?:token|bearer)\s+(.+)$/i.exec(auth);
    const caller = m ? callers.get(m[1]!) : undefined;
    if (!caller) return send(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
    remaining = Math.max(0, remaining - 1);
    try {
      const out = route(method, path, url, (body ?? {}) as Record<string, unknown>, caller);
      send(out.status, out.body, out.headers);
    } catch (err) {
      if (err instanceof HttpStatus) send(err.status, err.body, err.headers);
      else send(500, { message: `fake error: ${(err as Error).message}` });
    }
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    get url() {
      return api();
    },
    token,
    owner,
    repo,
    get env() {
      return {
        GITHUB_API_URL: api(),
        GITHUB_SERVER_URL: web,
        GITHUB_GRAPHQL_URL: `${api()}/graphql`,
        GITHUB_REPOSITORY: `${owner}/${repo}`,
      };
    },
    requests,
    deployments,
    comments,
    issues,
    refs,
    collaborators,
    label: (n, label, actor, action = 'labeled') => {
      const issue = issues.get(n);
      if (!issue) throw new Error(`no issue #${n}`);
      if (action === 'labeled' && !issue.labels.includes(label)) issue.labels.push(label);
      if (action === 'unlabeled') issue.labels = issue.labels.filter((l) => l !== label);
      recordLabel(n, action, label, actor);
    },
    addPullRequest: (p) => addIssue(p, true),
    addIssue: (p) => addIssue(p, false),
    addComment: (issue, body, login) => {
      const t = now();
      const c: FakeComment = {
        id: nextId++,
        issue,
        body,
        user: userNamed(login),
        created_at: t,
        updated_at: t,
        reactions: [],
      };
      comments.push(c);
      return c;
    },
    addRun: (runId, approvals = []) => {
      runs.set(runId, approvals);
    },
    fail: (f) => {
      faults.push({ ...f });
    },
    holdUntil: (o) => {
      holds.push({ ...o, waiting: [] });
    },
    clearFaults: () => {
      faults.length = 0;
    },
    secondaryRateLimit: (o = {}) => {
      faults.push({
        status: 403,
        times: o.times ?? 1,
        ...(o.method ? { method: o.method } : {}),
        ...(o.path ? { path: o.path } : {}),
        headers: { 'retry-after': String(o.retryAfter ?? 1) },
        body: {
          message:
            'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID FAKE.',
          documentation_url:
            'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
          status: '403',
        },
      });
    },
    requestsTo: (method, path) =>
      requests.filter(
        (r) =>
          r.method === method.toUpperCase() &&
          (typeof path === 'string' ? r.path === path : path.test(r.path)),
      ),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
