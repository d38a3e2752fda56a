import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { githubContextFromEnv, parseRepository } from '../../src/github/context.js';
import { approvedBy, commentMarker } from '../../src/github/client.js';

const dir = mkdtempSync(join(tmpdir(), 'c2c-ghctx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function event(name: string, payload: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof payload === 'string' ? payload : JSON.stringify(payload));
  return p;
}

describe('githubContextFromEnv', () => {
  it('uses the public GitHub defaults on an empty environment', () => {
    const ctx = githubContextFromEnv({});
    expect(ctx.apiUrl).toBe('https://api.github.com');
    expect(ctx.serverUrl).toBe('https://github.com');
    expect(ctx.graphqlUrl).toBe('https://api.github.com/graphql');
    expect(ctx.repository).toBeUndefined();
    expect(ctx.runUrl).toBeUndefined();
    expect(ctx.payload).toEqual({});
    expect(ctx.pullRequest).toBeUndefined();
  });

  it('reads a runner environment and a pull_request event', () => {
    const path = event('pr.json', {
      action: 'labeled',
      label: { name: 'feature-env' },
      pull_request: {
        number: 42,
        state: 'open',
        title: 'Add search',
        html_url: 'https://github.com/o/r/pull/42',
        user: { login: 'alice' },
        labels: [{ name: 'feature-env' }, { name: 'backend' }],
        head: { ref: 'search', sha: 'a'.repeat(40) },
        base: { ref: 'main' },
      },
    });
    const ctx = githubContextFromEnv({
      GITHUB_API_URL: 'https://ghe.example.com/api/v3/',
      GITHUB_SERVER_URL: 'https://ghe.example.com',
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_SHA: 'b'.repeat(40),
      GITHUB_REF: 'refs/pull/42/merge',
      GITHUB_HEAD_REF: 'search',
      GITHUB_RUN_ID: '987654',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_ACTOR: 'alice',
      GITHUB_WORKFLOW: 'deploy',
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: path,
    });
    expect(ctx.apiUrl).toBe('https://ghe.example.com/api/v3');
    expect(ctx.repository).toEqual({ owner: 'acme', repo: 'shop' });
    expect(ctx.runId).toBe(987654);
    expect(ctx.runUrl).toBe('https://ghe.example.com/acme/shop/actions/runs/987654');
    expect(ctx.eventName).toBe('pull_request');
    expect(ctx.eventPath).toBe(path);
    expect(ctx.action).toBe('labeled');
    expect(ctx.label).toBe('feature-env');
    expect(ctx.pullRequest).toEqual({
      number: 42,
      labels: ['feature-env', 'backend'],
      state: 'open',
      title: 'Add search',
      headRef: 'search',
      headSha: 'a'.repeat(40),
      baseRef: 'main',
      htmlUrl: 'https://github.com/o/r/pull/42',
      author: 'alice',
    });
  });

  it('links a re-run to its attempt', () => {
    const ctx = githubContextFromEnv({
      GITHUB_REPOSITORY: 'o/r',
      GITHUB_RUN_ID: '5',
      GITHUB_RUN_ATTEMPT: '3',
    });
    expect(ctx.runAttempt).toBe(3);
    expect(ctx.runUrl).toBe('https://github.com/o/r/actions/runs/5/attempts/3');
  });

  it('finds the pull request of an issue_comment event and the repository in the payload', () => {
    const path = event('comment.json', {
      issue: { number: 7, pull_request: { url: 'x' }, labels: ['a'] },
      repository: { name: 'r', owner: { login: 'o' } },
    });
    const ctx = githubContextFromEnv({ GITHUB_EVENT_PATH: path });
    expect(ctx.pullRequest).toEqual({ number: 7, labels: ['a'] });
    expect(ctx.repository).toEqual({ owner: 'o', repo: 'r' });
  });

  it('names a broken event file or repository variable', () => {
    expect(() => githubContextFromEnv({ GITHUB_EVENT_PATH: join(dir, 'missing.json') })).toThrow(
      /GITHUB_EVENT_PATH '.*missing\.json' cannot be read/,
    );
    expect(() => githubContextFromEnv({ GITHUB_EVENT_PATH: event('bad.json', '{nope') })).toThrow(
      /GITHUB_EVENT_PATH '.*bad\.json' is not valid JSON/,
    );
    expect(() => githubContextFromEnv({ GITHUB_REPOSITORY: 'just-a-name' })).toThrow(
      /GITHUB_REPOSITORY 'just-a-name' is not of the form owner\/repo/,
    );
  });

  it('does not read process.env when given an environment', () => {
    const saved = process.env.GITHUB_REPOSITORY;
    process.env.GITHUB_REPOSITORY = 'from/process';
    try {
      expect(githubContextFromEnv({}).repository).toBeUndefined();
      expect(githubContextFromEnv().repository).toEqual({ owner: 'from', repo: 'process' });
    } finally {
      if (saved === undefined) delete process.env.GITHUB_REPOSITORY;
      else process.env.GITHUB_REPOSITORY = saved;
    }
  });
});

describe('helpers', () => {
  it('parseRepository', () => {
    expect(parseRepository('a/b')).toEqual({ owner: 'a', repo: 'b' });
    expect(parseRepository('a/b/c')).toBeUndefined();
  });

  it('commentMarker refuses ids that could break out of the HTML comment', () => {
    expect(commentMarker('feature-env:42')).toBe('<!-- c2c:feature-env:42 -->');
    expect(() => commentMarker('x -->')).toThrow(/Input 'comment marker'/);
  });

  it('approvedBy keeps approved reviewers of the environment once', () => {
    const list = [
      { user: 'bob', environments: ['production'], state: 'approved', comment: '' },
      { user: 'eve', environments: ['production'], state: 'rejected', comment: 'no' },
      { user: 'bob', environments: ['production', 'staging'], state: 'approved', comment: '' },
      { user: 'ann', environments: ['staging'], state: 'approved', comment: '' },
    ];
    expect(approvedBy(list)).toEqual(['bob', 'ann']);
    expect(approvedBy(list, 'production')).toEqual(['bob']);
    expect(approvedBy([])).toEqual([]);
  });
});
