import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withDefaults } from '../../src/core/input-spec.js';
import { memoryLogger } from '../../src/core/logger.js';
import { GitHubClient, githubContextFromEnv, type GitHubContext } from '../../src/github/index.js';
import {
  FEATURE_ENV_INPUTS,
  parseFeatureEnvInputs,
  type FeatureEnvRaw,
} from '../../src/featureenv/inputs.js';
import { runFeatureEnv } from '../../src/featureenv/run.js';
import type { FeatureEnvContext } from '../../src/featureenv/context.js';
import { afterAll, beforeAll } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { startKubeFake, type KubeFake, type KubeFakeOptions } from '../fakes/kube/index.js';

/**
 * Runs the feature-environment engine the way the action does, from a real-shaped webhook payload
 * (test/fixtures/events/pull_request.labeled.json, GitHub's shape) for the GitHub fake's repository.
 */
export interface PrEvent {
  action: 'labeled' | 'unlabeled' | 'synchronize' | 'reopened' | 'closed' | 'opened';
  number: number;
  /** The label of a labeled/unlabeled event. */
  label?: string;
  /** Labels on the pull request when the event was sent. */
  labels?: string[];
  sha: string;
  sender?: string;
  headRepo?: string;
  state?: 'open' | 'closed';
  /** When it happened (the pull request's updated_at in the payload); default now. */
  at?: string;
}

/** A new comment on a pull request (issue_comment, created), written by `author`. */
export interface CommentEvent {
  name: 'issue_comment';
  number: number;
  body: string;
  author: string;
  action?: 'created' | 'edited';
  /** The comment's id (the fake's, made by commentEvent). */
  commentId: number;
}

/** Writes the comment on the fake as `author` did, and gives its issue_comment event. */
export function commentEvent(gh: GitHubFake, number: number, body: string, author: string): CommentEvent {
  const c = gh.addComment(number, body, author);
  return { name: 'issue_comment', number, body, author, commentId: c.id };
}

const template = () =>
  JSON.parse(
    readFileSync(path.join(import.meta.dirname, '../fixtures/events/pull_request.labeled.json'), 'utf8'),
  ) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A webhook payload of GitHub's shape for the fake's repository, with the event name and GITHUB_SHA. */
export function eventPayload(
  gh: GitHubFake,
  e: PrEvent | CommentEvent | { name: 'schedule' | 'workflow_dispatch' },
): { name: string; payload: Record<string, unknown>; sha: string; actor: string } {
  const full = `${gh.owner}/${gh.repo}`;
  const repository = { full_name: full, name: gh.repo, owner: { login: gh.owner } };
  if ('name' in e && e.name === 'issue_comment') {
    const issue = gh.issues.get(e.number);
    // GitHub's shape: the issue with its pull_request link, the comment with its author.
    return {
      name: 'issue_comment',
      payload: {
        action: e.action ?? 'created',
        issue: {
          number: e.number,
          title: issue?.title ?? `Change #${e.number}`,
          state: issue?.state ?? 'open',
          labels: (issue?.labels ?? []).map((name) => ({ name })),
          pull_request: {
            url: `${gh.url}/repos/${full}/pulls/${e.number}`,
            html_url: `${gh.env.GITHUB_SERVER_URL}/${full}/pull/${e.number}`,
          },
        },
        comment: {
          id: e.commentId,
          body: e.body,
          user: { login: e.author, type: 'User' },
          html_url: `${gh.env.GITHUB_SERVER_URL}/${full}/pull/${e.number}#issuecomment-${e.commentId}`,
        },
        repository,
        sender: { login: e.author },
      },
      // GITHUB_SHA of issue_comment is the default branch's last commit.
      sha: 'f'.repeat(40),
      actor: e.author,
    };
  }
  if ('name' in e)
    return {
      name: e.name,
      payload: { schedule: '0 3 * * *', repository },
      sha: 'f'.repeat(40),
      actor: 'github-actions[bot]',
    };
  const p = template();
  p.action = e.action;
  p.number = e.number;
  if (e.label) p.label.name = e.label;
  else delete p.label;
  const pr = p.pull_request;
  pr.number = e.number;
  pr.state = e.state ?? (e.action === 'closed' ? 'closed' : 'open');
  pr.title = `Change #${e.number}`;
  pr.updated_at = e.at ?? new Date().toISOString();
  pr.html_url = `${gh.env.GITHUB_SERVER_URL}/${full}/pull/${e.number}`;
  pr.labels = (e.labels ?? []).map((l) => ({ name: l }));
  pr.head = {
    ...pr.head,
    ref: `feature-${e.number}`,
    sha: e.sha,
    repo: { ...pr.head.repo, full_name: e.headRepo ?? full, fork: !!e.headRepo },
  };
  pr.base = { ...pr.base, repo: { ...pr.base.repo, full_name: full } };
  p.repository = {
    ...p.repository,
    full_name: full,
    name: gh.repo,
    owner: { ...p.repository.owner, login: gh.owner },
  };
  p.sender.login = e.sender ?? 'maintainer';
  // GITHUB_SHA of a pull_request event is the merge commit GitHub made, not the head.
  return { name: 'pull_request', payload: p, sha: 'e'.repeat(40), actor: e.sender ?? 'maintainer' };
}

export async function eventContext(
  gh: GitHubFake,
  e: PrEvent | CommentEvent | { name: 'schedule' | 'workflow_dispatch' },
): Promise<GitHubContext> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-event-'));
  const file = path.join(dir, 'event.json');
  const ev = eventPayload(gh, e);
  await writeFile(file, JSON.stringify(ev.payload));
  return githubContextFromEnv({
    ...gh.env,
    GITHUB_EVENT_NAME: ev.name,
    GITHUB_EVENT_PATH: file,
    GITHUB_SHA: ev.sha,
    GITHUB_REF: ev.name === 'pull_request' ? 'refs/pull/0/merge' : 'refs/heads/main',
    GITHUB_RUN_ID: '5150',
    GITHUB_ACTOR: ev.actor,
  });
}

export async function runFe(
  gh: GitHubFake,
  event: PrEvent | CommentEvent | { name: 'schedule' | 'workflow_dispatch' },
  raw: Partial<FeatureEnvRaw>,
  extra: Partial<FeatureEnvContext> & { workspace: string },
) {
  const logger = memoryLogger();
  const ctxGh = await eventContext(gh, event);
  const opts = parseFeatureEnvInputs(
    withDefaults(FEATURE_ENV_INPUTS, { token: gh.token, ...raw } as Record<string, string>),
    extra.workspace,
    {
      ...(ctxGh.pullRequest?.headSha ? { sha: ctxGh.pullRequest.headSha } : {}),
      ...(ctxGh.pullRequest ? { pullRequest: ctxGh.pullRequest.number } : {}),
    },
  );
  // `token: ''` runs without a GitHub token, as the action and the CLI do then: no GitHub layer.
  const token = raw.token ?? gh.token;
  const github = token
    ? new GitHubClient({ token, context: ctxGh, logger, retry: { baseDelayMs: 5, attempts: 2 } })
    : undefined;
  const { workspace: _w, ...rest } = extra;
  const r = await runFeatureEnv(opts, {
    logger,
    gh: ctxGh,
    ...(github ? { github } : {}),
    repository: `${gh.owner}/${gh.repo}`,
    ...rest,
  });
  return { r, logger };
}

/**
 * The usual stage of a feature-environment test on the fakes: a Kubernetes fake, a GitHub fake of
 * acme/shop where `maintainer` may write, and a workspace whose k8s/app.yaml holds `objects`;
 * started before the tests of the file, stopped after. `pr()` opens a pull request labelled by the
 * maintainer and gives its labeled event.
 */
export function useFeatureEnvStage(o: {
  objects: object[];
  kube?: KubeFakeOptions;
  /** The first pull request number is one more. */
  from: number;
  /** The head SHA is the number padded with this character. */
  pad?: string;
}) {
  let n = o.from;
  const stage = {
    kube: undefined as unknown as KubeFake,
    gh: undefined as unknown as GitHubFake,
    ws: '',
    pr() {
      const number = ++n;
      const sha = `${number}`.padStart(40, o.pad ?? 'a');
      stage.gh.addPullRequest({ number, headSha: sha });
      stage.gh.label(number, 'feature-env', 'maintainer');
      const ev: PrEvent = { action: 'labeled', number, label: 'feature-env', labels: ['feature-env'], sha };
      return { number, sha, ev };
    },
  };
  beforeAll(async () => {
    [stage.kube, stage.gh] = await Promise.all([
      startKubeFake({ readyDelayMs: 20, tickMs: 50, ...o.kube }),
      startGitHubFake({ owner: 'acme', repo: 'shop' }),
    ]);
    stage.gh.collaborators.set('maintainer', 'write');
    stage.ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-fe-'));
    await mkdir(path.join(stage.ws, 'k8s'));
    await writeFile(path.join(stage.ws, 'k8s/app.yaml'), o.objects.map((d) => stringify(d)).join('---\n'));
  });
  afterAll(async () => {
    await Promise.all([stage.kube?.stop(), stage.gh?.stop()]);
    if (stage.ws) await rm(stage.ws, { recursive: true, force: true });
    closeHttpAgents();
  });
  return stage;
}
