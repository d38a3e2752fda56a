import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GitHubApiError, GitHubClient } from '../../src/github/client.js';
import { githubContextFromEnv } from '../../src/github/context.js';
import type { Logger } from '../../src/core/logger.js';
import { memoryLogger } from '../../src/core/logger.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { freePort } from '../helpers/net.js';

let gh: GitHubFake;
let delays: number[];
const MALLORY_TOKEN = 'ghp_mallory_personal_token_0123456789';

beforeAll(async () => {
  gh = await startGitHubFake({
    token: 'ghs_secret_TOKEN_value_42',
    // A person with a token of their own, who can write the hidden marker into a comment.
    otherTokens: [{ token: MALLORY_TOKEN, user: { login: 'mallory', id: 666, type: 'User' } }],
  });
});
afterAll(async () => {
  await gh?.stop();
});
beforeEach(() => {
  delays = [];
});

function client(logger: Logger = memoryLogger(), token = gh.token): GitHubClient {
  // The real Octokit client from @actions/github, pointed at the fake the way a runner points it
  // at GHES: through GITHUB_API_URL.
  const context = githubContextFromEnv({ ...gh.env, GITHUB_RUN_ID: '77', GITHUB_SHA: 'c'.repeat(40) });
  return new GitHubClient({
    token,
    context,
    logger,
    retry: { baseDelayMs: 1, sleep: async (ms) => void delays.push(ms) },
  });
}

describe('deployments', () => {
  it('creates a deployment that works on any repository and records its statuses', async () => {
    const pr = gh.addPullRequest({ number: 301, headRef: 'feature-x' });
    const c = client();
    const dep = await c.createDeployment({
      ref: 'feature-x',
      environment: 'pr-301',
      description: 'feature environment',
      transient: true,
      production: false,
      payload: { image: 'registry/app@sha256:abc' },
    });
    expect(dep.id).toBeGreaterThan(0);
    expect(dep.url).toBe(`${gh.url}/repos/${gh.owner}/${gh.repo}/deployments/${dep.id}`);
    expect(dep.sha).toBe(pr.headSha);
    expect(dep.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const sent = gh.requestsTo('POST', `/repos/${gh.owner}/${gh.repo}/deployments`).at(-1)!;
    expect(sent.body).toMatchObject({
      ref: 'feature-x',
      environment: 'pr-301',
      auto_merge: false,
      required_contexts: [],
      transient_environment: true,
      production_environment: false,
      payload: { image: 'registry/app@sha256:abc' },
    });

    const s1 = await c.createDeploymentStatus(dep.id, {
      state: 'in_progress',
      log_url: 'https://github.com/o/r/actions/runs/77',
      description: 'deploying',
    });
    expect(s1.state).toBe('in_progress');
    const s2 = await c.createDeploymentStatus(dep.id, {
      state: 'success',
      environment_url: 'https://pr-301.preview.example.com',
      log_url: 'https://github.com/o/r/actions/runs/77',
    });
    expect(s2).toMatchObject({
      state: 'success',
      environmentUrl: 'https://pr-301.preview.example.com',
      logUrl: 'https://github.com/o/r/actions/runs/77',
    });
    const stored = gh.deployments.find((d) => d.id === dep.id)!;
    expect(stored.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(stored.statuses[1]!.environment_url).toBe('https://pr-301.preview.example.com');

    const listed = await c.listDeployments({ environment: 'pr-301' });
    expect(listed.map((d) => d.id)).toContain(dep.id);
  });

  it('a failed rollout ends in failure', async () => {
    const c = client();
    const dep = await c.createDeployment({ ref: 'main', environment: 'staging' });
    await c.createDeploymentStatus(dep.id, { state: 'in_progress' });
    await c.createDeploymentStatus(dep.id, { state: 'failure', description: 'rolled back' });
    expect(gh.deployments.find((d) => d.id === dep.id)!.statuses.map((s) => s.state)).toEqual([
      'in_progress',
      'failure',
    ]);
  });

  it('refuses bad arguments before any request', async () => {
    const c = client();
    const before = gh.requests.length;
    await expect(c.createDeployment({ ref: '', environment: 'x' })).rejects.toThrow(/Input 'ref': is empty/);
    await expect(c.createDeployment({ ref: 'main', environment: ' ' })).rejects.toThrow(
      /Input 'environment'/,
    );
    await expect(c.createDeploymentStatus(1, { state: 'done' as never })).rejects.toThrow(
      /Input 'state': 'done' is not a deployment state/,
    );
    expect(gh.requests.length).toBe(before);
  });

  it('reports GitHub validation errors with the status and message, without retrying', async () => {
    const c = client();
    const before = gh.requests.length;
    const err = await c
      .createDeployment({ ref: 'no-such-branch', environment: 'x' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubApiError);
    expect((err as GitHubApiError).status).toBe(422);
    expect((err as Error).message).toMatch(
      /create deployment of no-such-branch.*HTTP 422.*No ref found for: no-such-branch/,
    );
    expect(gh.requests.length).toBe(before + 1);
  });
});

describe('run approvals', () => {
  it('lists who approved which environments', async () => {
    gh.addRun(9001, [
      { user: 'release-manager', environments: ['production'], state: 'approved', comment: 'ship it' },
      { user: 'sec-team', environments: ['production', 'eu'], state: 'rejected', comment: '' },
    ]);
    const approvals = await client().runApprovals(9001);
    expect(approvals).toEqual([
      { user: 'release-manager', environments: ['production'], state: 'approved', comment: 'ship it' },
      { user: 'sec-team', environments: ['production', 'eu'], state: 'rejected', comment: '' },
    ]);
    expect(gh.requestsTo('GET', `/repos/${gh.owner}/${gh.repo}/actions/runs/9001/approvals`)).toHaveLength(1);
  });

  it('is empty when the run needed no approval', async () => {
    gh.addRun(9002);
    expect(await client().runApprovals(9002)).toEqual([]);
  });

  it('an unknown run is a 404 error', async () => {
    await expect(client().runApprovals(424242)).rejects.toMatchObject({ status: 404 });
  });
});

describe('pull request comments', () => {
  it('upserts one comment by its marker: create, unchanged, update', async () => {
    gh.addPullRequest({ number: 302 });
    const c = client();
    const first = await c.upsertComment(302, 'feature-env', 'Environment ready: https://a.example');
    expect(first.action).toBe('created');
    expect(first.comment.body).toBe('<!-- c2c:feature-env -->\nEnvironment ready: https://a.example');
    const again = await c.upsertComment(302, 'feature-env', 'Environment ready: https://a.example');
    expect(again.action).toBe('unchanged');
    expect(again.comment.id).toBe(first.comment.id);
    const changed = await c.upsertComment(302, 'feature-env', 'Environment ready: https://b.example');
    expect(changed.action).toBe('updated');
    expect(changed.comment.id).toBe(first.comment.id);
    const mine = gh.comments.filter((x) => x.issue === 302);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.body).toContain('https://b.example');
    expect(gh.requestsTo('PATCH', /\/issues\/comments\//)).toHaveLength(1);

    // Another marker is another comment.
    await c.upsertComment(302, 'deploy', 'other');
    expect(gh.comments.filter((x) => x.issue === 302)).toHaveLength(2);
    expect(await c.deleteComment(302, 'deploy')).toBe(true);
    expect(await c.deleteComment(302, 'deploy')).toBe(false);
    expect(gh.comments.filter((x) => x.issue === 302)).toHaveLength(1);
  });

  it('finds its comment beyond the first page of comments', async () => {
    const pr = gh.addPullRequest({ number: 303 });
    for (let i = 0; i < 130; i++)
      gh.comments.push({
        id: 500000 + i,
        issue: pr.number,
        body: i === 120 ? '<!-- c2c:feature-env -->\nold' : `chatter ${i}`,
        user:
          i === 120
            ? { login: 'github-actions[bot]', id: 41898282, type: 'Bot' }
            : { login: 'someone', id: 9 },
        created_at: '2026-01-01T00:00:00Z',
        updated_at: '2026-01-01T00:00:00Z',
        reactions: [],
      });
    const c = client();
    const before = gh.requestsTo('GET', `/repos/${gh.owner}/${gh.repo}/issues/303/comments`).length;
    const r = await c.upsertComment(303, 'feature-env', 'new');
    expect(r.action).toBe('updated');
    expect(r.comment.id).toBe(500120);
    const lists = gh.requestsTo('GET', `/repos/${gh.owner}/${gh.repo}/issues/303/comments`).slice(before);
    expect(lists.map((q) => q.query.page ?? '1')).toEqual(['1', '2']);
    expect(gh.comments.filter((x) => x.issue === 303)).toHaveLength(130);
  });
});

describe('the sticky comment is only ever our own', () => {
  const marked = (n: number) =>
    gh.comments.filter((c) => c.issue === n && c.body.startsWith('<!-- c2c:feature-env -->'));

  it('concurrent upserts (six runs at once) leave one comment', async () => {
    gh.addPullRequest({ number: 330 });
    // Six runs, each its own client (its own process in a workflow): each lists, finds none, creates
    // (the fake answers the six creations only once all six have come).
    gh.holdUntil({ method: 'POST', path: '/repos/octo-org/octo-repo/issues/330/comments', count: 6 });
    const deletes = () => gh.requestsTo('DELETE', /\/issues\/comments\//).filter((r) => r.status === 204);
    const deletesBefore = deletes().length;
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => client().upsertComment(330, 'feature-env', `run ${i}`)),
    );
    expect(marked(330)).toHaveLength(1);
    expect(marked(330)[0]!.user.login).toBe('github-actions[bot]');
    // Every run ends on that one comment (the duplicates it made are gone).
    expect(new Set(results.map((r) => r.comment.id))).toEqual(new Set([marked(330)[0]!.id]));
    expect(gh.requestsTo('POST', `/repos/${gh.owner}/${gh.repo}/issues/330/comments`)).toHaveLength(6);
    expect(deletes().length - deletesBefore).toBe(5);
  });

  it('a comment by another user carrying the marker is not edited: the bot writes its own', async () => {
    gh.addPullRequest({ number: 331 });
    // Mallory writes the marker into a comment of hers, with her own token.
    const planted = await client(memoryLogger(), MALLORY_TOKEN).upsertComment(331, 'feature-env', 'click me');
    expect(planted.comment.user).toBe('mallory');
    const c = client();
    const first = await c.upsertComment(331, 'feature-env', 'Environment ready: https://a.example');
    expect(first.action).toBe('created');
    expect(first.comment.id).not.toBe(planted.comment.id);
    const second = await c.upsertComment(331, 'feature-env', 'Environment ready: https://b.example');
    expect(second).toMatchObject({ action: 'updated', comment: { id: first.comment.id } });
    expect(
      gh.requestsTo('PATCH', `/repos/${gh.owner}/${gh.repo}/issues/comments/${planted.comment.id}`),
    ).toEqual([]);
    const hers = gh.comments.find((x) => x.id === planted.comment.id)!;
    expect(hers).toMatchObject({ body: '<!-- c2c:feature-env -->\nclick me', user: { login: 'mallory' } });
    expect(
      marked(331)
        .map((x) => x.user.login)
        .sort(),
    ).toEqual(['github-actions[bot]', 'mallory']);
    // Nor deleted: deleteComment removes ours only.
    expect(await c.deleteComment(331, 'feature-env')).toBe(true);
    expect(await c.deleteComment(331, 'feature-env')).toBe(false);
    expect(marked(331).map((x) => x.user.login)).toEqual(['mallory']);
  });

  it('who the token is: GET /user once for a personal token; an installation token is refused there and writes as github-actions[bot]', async () => {
    gh.addPullRequest({ number: 332 });
    const asked = (token: string) =>
      gh.requestsTo('GET', '/user').filter((r) => r.headers.authorization === `token ${token}`);
    const before = { bot: asked(gh.token).length, mallory: asked(MALLORY_TOKEN).length };
    const bot = client();
    expect(await bot.login()).toBe('github-actions[bot]');
    const botAsks = asked(gh.token).slice(before.bot);
    expect(botAsks.map((r) => r.status)).toEqual([403]);
    const person = client(memoryLogger(), MALLORY_TOKEN);
    for (const body of ['a', 'b', 'c']) await person.upsertComment(332, 'feature-env', body);
    expect(await person.login()).toBe('mallory');
    expect(
      asked(MALLORY_TOKEN)
        .slice(before.mallory)
        .map((r) => r.status),
    ).toEqual([200]);
    await bot.upsertComment(332, 'feature-env', 'ours');
    expect(asked(gh.token).length - before.bot).toBe(1);
    expect(marked(332).map((x) => [x.user.login, x.body.split('\n')[1]])).toEqual([
      ['mallory', 'c'],
      ['github-actions[bot]', 'ours'],
    ]);
  });
});

describe('labels and pull requests', () => {
  it('adds and removes labels, lists open pull requests with a label', async () => {
    gh.addPullRequest({ number: 310, labels: ['feature-env'] });
    gh.addPullRequest({ number: 311, labels: [] });
    gh.addPullRequest({ number: 312, labels: ['feature-env'], state: 'closed' });
    const c = client();
    expect(await c.addLabels(311, ['feature-env', 'env:ready'])).toEqual(['feature-env', 'env:ready']);
    expect(await c.listLabels(311)).toEqual(['feature-env', 'env:ready']);
    expect(await c.removeLabel(311, 'env:ready')).toBe(true);
    expect(await c.removeLabel(311, 'env:ready')).toBe(false);
    const open = (await c.listOpenPullRequests({ label: 'feature-env' })).map((p) => p.number);
    expect(open).toContain(310);
    expect(open).toContain(311);
    expect(open).not.toContain(312);
    const pr = await c.getPullRequest(310);
    expect(pr).toMatchObject({ number: 310, state: 'open', labels: ['feature-env'], headRef: 'feature-310' });
  });
});

describe('retries', () => {
  it('retries a 500 and a dropped connection, then succeeds', async () => {
    gh.fail({ method: 'GET', path: /\/deployments$/, status: 500, times: 2 });
    gh.fail({ method: 'GET', path: /\/deployments$/, drop: true });
    const before = gh.requests.length;
    expect(await client().listDeployments({ environment: 'nowhere' })).toEqual([]);
    const tries = gh.requests.slice(before);
    expect(tries.map((r) => r.status)).toEqual([500, 500, 0, 200]);
    expect(delays).toHaveLength(3);
  });

  it('waits what Retry-After says on a secondary rate limit (403), then succeeds', async () => {
    gh.addPullRequest({ number: 320 });
    gh.secondaryRateLimit({ retryAfter: 3, method: 'POST', path: /\/comments$/ });
    const r = await client().upsertComment(320, 'feature-env', 'hello');
    expect(r.action).toBe('created');
    expect(delays).toEqual([3000]);
    const posts = gh.requestsTo('POST', `/repos/${gh.owner}/${gh.repo}/issues/320/comments`);
    expect(posts.map((p) => p.status)).toEqual([403, 201]);
    expect(gh.comments.filter((x) => x.issue === 320)).toHaveLength(1);
  });

  it('honours x-ratelimit-reset on a primary rate limit and 429 Retry-After', async () => {
    const reset = Math.floor(Date.now() / 1000) + 5;
    gh.fail({
      path: /\/deployments$/,
      status: 403,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      body: { message: 'API rate limit exceeded for installation ID 1.' },
    });
    gh.fail({
      path: /\/deployments$/,
      status: 429,
      headers: { 'retry-after': '2' },
      body: { message: 'Too Many Requests' },
    });
    expect(await client().listDeployments({ environment: 'nowhere' })).toEqual([]);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThan(3000);
    expect(delays[0]).toBeLessThanOrEqual(7000);
    expect(delays[1]).toBe(2000);
  });

  it('does not wait an hour for a rate limit: fails with a clear message', async () => {
    gh.fail({
      path: /\/deployments$/,
      status: 403,
      headers: { 'retry-after': '3600' },
      body: { message: 'You have exceeded a secondary rate limit.' },
    });
    await expect(client().listDeployments({ environment: 'nowhere' })).rejects.toThrow(
      /rate limited by GitHub for another 3600s/,
    );
    expect(delays).toEqual([]);
  });

  it('gives up after bounded attempts on a persistent 500', async () => {
    gh.fail({ path: /\/deployments$/, status: 502, times: 10 });
    await expect(client().listDeployments({ environment: 'x' })).rejects.toThrow(
      /failed after 5 attempts.*HTTP 502/,
    );
    expect(delays).toHaveLength(4);
    gh.clearFaults();
  });

  it('the approvals lookup (audit only) tries twice, not five times', async () => {
    gh.addRun(9103);
    gh.fail({ path: /\/approvals$/, status: 502, times: 10 });
    await expect(client().runApprovals(9103)).rejects.toThrow(/failed after 2 attempts.*HTTP 502/);
    expect(delays).toHaveLength(1);
    gh.clearFaults();
  });

  it('a GitHub that does not answer is a network error, not an HTTP 500', async () => {
    const context = githubContextFromEnv({
      ...gh.env,
      GITHUB_API_URL: `http://127.0.0.1:${await freePort()}`,
      GITHUB_RUN_ID: '77',
    });
    const c = new GitHubClient({
      token: gh.token,
      context,
      logger: memoryLogger(),
      retry: { baseDelayMs: 1 },
    });
    const err = (await c.runApprovals(77).then(
      () => undefined,
      (e: Error) => e,
    ))!;
    expect(err.message).toMatch(/network error, no answer from GitHub.*ECONNREFUSED/);
    expect(err.message).not.toMatch(/HTTP 500/);
  });
});

describe('the token', () => {
  it('is sent as the Authorization header and registered as a secret before first use', async () => {
    const events: string[] = [];
    const lines: string[] = [];
    const logger: Logger = {
      debug: (m) => lines.push(m),
      info: (m) => lines.push(m),
      warning: (m) => lines.push(m),
      error: (m) => lines.push(m),
      group: (_n, fn) => fn(),
      secret: (v) => events.push(`secret:${v}`),
    };
    const c = client(logger);
    events.push('constructed');
    gh.addRun(9200);
    gh.fail({ path: /\/approvals$/, status: 500 });
    await c.runApprovals(9200);
    expect(events).toEqual([`secret:${gh.token}`, 'constructed']);
    const last = gh.requestsTo('GET', `/repos/${gh.owner}/${gh.repo}/actions/runs/9200/approvals`).at(-1)!;
    expect(last.headers.authorization).toBe(`token ${gh.token}`);
    expect(lines.join('\n')).not.toContain(gh.token);
  });

  it('a refused token gives a 401 error that does not contain it', async () => {
    const wrong = 'ghp_wrong_token_abcdef123456';
    const log = memoryLogger();
    const err = await client(log, wrong)
      .runApprovals(9200)
      .catch((e: unknown) => e as GitHubApiError);
    expect(err).toBeInstanceOf(GitHubApiError);
    expect((err as GitHubApiError).status).toBe(401);
    expect((err as Error).message).toMatch(/HTTP 401.*Bad credentials.*the token was refused/);
    expect((err as Error).message).not.toContain(wrong);
    expect(JSON.stringify((err as Error & { cause?: unknown }).cause)).not.toContain(wrong);
    expect(delays).toEqual([]);
  });

  it('a 403 without a rate limit names the missing permission and is not retried', async () => {
    gh.addRun(9201);
    gh.fail({
      path: /\/approvals$/,
      status: 403,
      body: { message: 'Resource not accessible by integration' },
    });
    await expect(client().runApprovals(9201)).rejects.toThrow(
      /HTTP 403.*Resource not accessible by integration.*permissions:/,
    );
    expect(delays).toEqual([]);
  });

  it('an empty token is an input error', () => {
    expect(() => client(memoryLogger(), '')).toThrow(/Input 'token': is empty/);
  });
});

describe('GitHub Enterprise Server', () => {
  it('works under an API path prefix such as /api/v3', async () => {
    const ghes = await startGitHubFake({ pathPrefix: '/api/v3', owner: 'corp', repo: 'svc' });
    try {
      expect(ghes.url).toMatch(/\/api\/v3$/);
      const c = new GitHubClient({
        token: ghes.token,
        context: githubContextFromEnv({ ...ghes.env, GITHUB_API_URL: `${ghes.url}/` }),
        logger: memoryLogger(),
      });
      const dep = await c.createDeployment({ ref: 'main', environment: 'production', production: true });
      expect(dep.url).toBe(`${ghes.url}/repos/corp/svc/deployments/${dep.id}`);
      expect(ghes.requestsTo('POST', '/repos/corp/svc/deployments')).toHaveLength(1);
    } finally {
      await ghes.stop();
    }
  });
});
