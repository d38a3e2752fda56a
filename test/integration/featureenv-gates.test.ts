import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { A_SHA, PR_LABEL } from '../../src/featureenv/state.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { runFe, type PrEvent } from '../helpers/feature-env.js';

/**
 * The gates of up fail closed (issue 12, item 7): a pull request whose head repository is gone is
 * a fork; with allow-forks, a fork's new code waits until the label is added again; without a token up fails unless the workflow opts out of the checks explicitly; a host-template that gives every environment the same host is an input error. Each refusal creates nothing: no namespace, no write to the cluster, no comment.
 */
describe('feature environments: the gates fail closed (Kubernetes fake)', () => {
  let kube: KubeFake;
  let gh: GitHubFake;
  let ws: string;
  let n = 700;
  beforeAll(async () => {
    [kube, gh] = await Promise.all([
      startKubeFake({ readyDelayMs: 20, tickMs: 50 }),
      startGitHubFake({ owner: 'acme', repo: 'shop' }),
    ]);
    gh.collaborators.set('maintainer', 'write');
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-fe-gates-'));
    await mkdir(path.join(ws, 'k8s'));
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      stringify(deploymentManifest('web', 'registry.example:5000/shop/web:main')),
    );
  });
  afterAll(async () => {
    await Promise.all([kube?.stop(), gh?.stop()]);
    if (ws) await rm(ws, { recursive: true, force: true });
    closeHttpAgents();
  });
  beforeEach(() => kube.resetRequestLog());

  const inputs = () => ({
    manifests: 'k8s/',
    'pin-digests': 'false',
    timeout: '20s',
    kubeconfig: kube.kubeconfig,
  });
  function pr(p: { headRepo?: string | null } = {}) {
    const number = ++n;
    const sha = `${number}`.padStart(40, 'a');
    gh.addPullRequest({ number, headSha: sha, ...p });
    gh.label(number, 'feature-env', 'maintainer');
    return { number, sha };
  }
  const labeled = (p: { number: number; sha: string }): PrEvent => ({
    action: 'labeled',
    number: p.number,
    label: 'feature-env',
    labels: ['feature-env'],
    sha: p.sha,
  });
  /** Nothing made: no namespace of the pull request, no write to the cluster, no comment. */
  const nothingMade = (number: number) => {
    expect(
      kube.list('v1', 'Namespace').filter((ns) => ns.metadata.labels?.[PR_LABEL] === String(number)),
    ).toEqual([]);
    expect(kube.writes()).toEqual([]);
    expect(gh.comments.filter((c) => c.issue === number)).toEqual([]);
  };

  it('a pull request whose head repository is null (a deleted fork) is a fork: refused', async () => {
    const p = pr({ headRepo: null });
    await expect(runFe(gh, labeled(p), inputs(), { workspace: ws })).rejects.toThrow(
      /#\d+ comes from a fork that was deleted \(its head repository is null\).*allow-forks/,
    );
    nothingMade(p.number);
    // The same pull request from the repository itself is made: the refusal was the null head.
    const own = pr();
    const made = await runFe(gh, labeled(own), inputs(), { workspace: ws });
    expect(made.r.status, made.logger.text()).toBe('up');
  });

  it('no token: up is an error naming the checks it cannot make; nothing made', async () => {
    const p = pr();
    const before = gh.requests.length;
    for (const optOut of [{}, { 'allow-forks': 'true' }, { 'required-permission': 'none' }])
      await expect(
        runFe(gh, labeled(p), { ...inputs(), token: '', ...optOut }, { workspace: ws }),
      ).rejects.toThrow(
        /^Input 'token': is empty, so pull request #\d+ cannot be checked: whether it is open, whether it comes from a fork .*who added the label 'feature-env' \(they need the permission '(write|none)'\).*Expected a GitHub token .*or, to make environments without any of these checks, both 'allow-forks: true' and 'required-permission: none'/,
      );
    nothingMade(p.number);
    expect(gh.requests.length).toBe(before);
  });

  it("no token with 'allow-forks: true' and 'required-permission: none': made unchecked, with a warning", async () => {
    const p = pr();
    const made = await runFe(
      gh,
      labeled(p),
      { ...inputs(), token: '', 'allow-forks': 'true', 'required-permission': 'none' },
      { workspace: ws },
    );
    expect(made.r.status, made.logger.text()).toBe('up');
    expect(made.logger.text()).toMatch(
      /no GitHub token, and 'allow-forks: true' with 'required-permission: none'/,
    );
  });

  it('required-permission: none takes a label added by anyone (with a token)', async () => {
    const p = pr();
    gh.label(p.number, 'feature-env', 'visitor', 'unlabeled');
    gh.label(p.number, 'feature-env', 'visitor');
    await expect(runFe(gh, labeled(p), inputs(), { workspace: ws })).rejects.toThrow(
      /visitor added the label/,
    );
    const made = await runFe(
      gh,
      labeled(p),
      { ...inputs(), 'required-permission': 'none' },
      { workspace: ws },
    );
    expect(made.r.status, made.logger.text()).toBe('up');
  });

  it("allow-forks: a push to a fork's pull request takes the label off and says why; nothing made for the new code", async () => {
    const fork = { ...inputs(), 'allow-forks': 'true' };
    const p = pr({ headRepo: 'stranger/shop' });
    const first = await runFe(gh, { ...labeled(p), headRepo: 'stranger/shop' }, fork, { workspace: ws });
    expect(first.r.status, first.logger.text()).toBe('up');
    const ns = first.r.namespace;
    const shaOf = async () =>
      (kube.list('v1', 'Namespace').find((x) => x.metadata.name === ns)!.metadata.annotations ?? {})[A_SHA];
    expect(await shaOf()).toBe(p.sha);

    // The fork pushes new code: GitHub's head moves, the event is synchronize with the label still on.
    const sha2 = `${p.number}`.padStart(40, 'b');
    gh.issues.get(p.number)!.headSha = sha2;
    kube.resetRequestLog();
    const pushed = await runFe(
      gh,
      {
        action: 'synchronize',
        number: p.number,
        labels: ['feature-env'],
        sha: sha2,
        headRepo: 'stranger/shop',
      },
      fork,
      { workspace: ws },
    );
    expect(pushed.r.status, pushed.logger.text()).toBe('skipped');
    expect(pushed.r.reason).toMatch(
      /synchronize of pull request #\d+ from the fork stranger\/shop: its new code is not deployed; the label 'feature-env' was removed, someone with the permission 'write' must add it again after reading the new code/,
    );
    expect(gh.issues.get(p.number)!.labels).not.toContain('feature-env');
    const comments = gh.comments.filter((c) => c.issue === p.number);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.user.login).toBe('github-actions[bot]');
    expect(comments[0]!.body).toMatch(
      /the label `feature-env` was removed.*from the fork stranger\/shop.*someone with the permission `write` on the repository must read the new code and then add the label `feature-env` again/s,
    );
    // Nothing written to the cluster: the environment still runs the commit that was read.
    expect(kube.writes()).toEqual([]);
    expect(await shaOf()).toBe(p.sha);

    // Reopened (or any pull request event but the label being added) is no review either.
    gh.issues.get(p.number)!.labels.push('feature-env');
    const reopened = await runFe(
      gh,
      { action: 'reopened', number: p.number, labels: ['feature-env'], sha: sha2, headRepo: 'stranger/shop' },
      fork,
      { workspace: ws },
    );
    expect(reopened.r.status).toBe('skipped');
    expect(kube.writes()).toEqual([]);

    // A maintainer reads the code and adds the label again: now the new commit is deployed.
    gh.label(p.number, 'feature-env', 'maintainer');
    const relabeled = await runFe(gh, { ...labeled({ ...p, sha: sha2 }), headRepo: 'stranger/shop' }, fork, {
      workspace: ws,
    });
    expect(relabeled.r.status, relabeled.logger.text()).toBe('updated');
    expect(await shaOf()).toBe(sha2);
  });

  it('a push to a pull request of the repository itself still updates its environment', async () => {
    const p = pr();
    expect((await runFe(gh, labeled(p), inputs(), { workspace: ws })).r.status).toBe('up');
    const sha2 = `${p.number}`.padStart(40, 'b');
    gh.issues.get(p.number)!.headSha = sha2;
    const pushed = await runFe(
      gh,
      { action: 'synchronize', number: p.number, labels: ['feature-env'], sha: sha2 },
      { ...inputs(), 'allow-forks': 'true' },
      { workspace: ws },
    );
    expect(pushed.r.status, pushed.logger.text()).toBe('updated');
    expect(gh.issues.get(p.number)!.labels).toContain('feature-env');
  });

  it('a host-template without {number} or {namespace} is an input error: nothing made', async () => {
    const p = pr();
    await expect(
      runFe(gh, labeled(p), { ...inputs(), 'host-template': '{service}.{domain}' }, { workspace: ws }),
    ).rejects.toThrow(
      /^Input 'host-template': '\{service\}.\{domain\}' has neither \{number\} nor \{namespace\}/,
    );
    nothingMade(p.number);
  });
});
