import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { PR_LABEL } from '../../src/featureenv/state.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { runFe } from '../helpers/feature-env.js';

/**
 * Faults the genuine control plane cannot make on demand, on the Kubernetes fake: an apply refused
 * half-way through up, a delete that keeps failing during down, a run that dies after its claim.
 * Whatever is left, the next run or reap cleans up.
 */
describe('feature environments under faults (Kubernetes fake)', () => {
  let kube: KubeFake;
  let gh: GitHubFake;
  let ws: string;
  let n = 500;
  beforeAll(async () => {
    [kube, gh] = await Promise.all([
      startKubeFake({ readyDelayMs: 20, tickMs: 50 }),
      startGitHubFake({ owner: 'acme', repo: 'shop' }),
    ]);
    gh.collaborators.set('maintainer', 'write');
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-fe-faults-'));
    await mkdir(path.join(ws, 'k8s'));
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      [
        deploymentManifest('api', 'registry.example:5000/shop/api:main'),
        deploymentManifest('web', 'registry.example:5000/shop/web:main'),
      ]
        .map((o) => stringify(o))
        .join('---\n'),
    );
  });
  afterAll(async () => {
    await Promise.all([kube?.stop(), gh?.stop()]);
    if (ws) await rm(ws, { recursive: true, force: true });
    closeHttpAgents();
  });
  beforeEach(() => kube.faults.clear());

  const inputs = { manifests: 'k8s/', 'pin-digests': 'false', timeout: '20s' };
  function pr() {
    const number = ++n;
    const sha = `${number}`.padStart(40, 'a');
    gh.addPullRequest({ number, headSha: sha });
    gh.label(number, 'feature-env', 'maintainer');
    return { number, sha };
  }
  const envsOf = (number: number) =>
    kube.list('v1', 'Namespace').filter((ns) => ns.metadata.labels?.[PR_LABEL] === String(number));
  const up = (p: { number: number; sha: string }) =>
    runFe(
      gh,
      { action: 'labeled', number: p.number, label: 'feature-env', labels: ['feature-env'], sha: p.sha },
      { ...inputs, kubeconfig: kube.kubeconfig },
      {
        workspace: ws,
        kubeRetry: { attempts: 2, baseDelayMs: 5 },
      },
    );

  it('an apply refused half-way through up: what it took is given back, the next up succeeds', async () => {
    const p = pr();
    kube.faults.add({
      kind: 'status',
      status: 400,
      method: 'PATCH',
      pathIncludes: '/deployments/web',
      dryRun: false,
      reason: 'BadRequest',
      message: 'admission webhook "policy.example.com" denied the request',
    });
    await expect(up(p)).rejects.toThrow(/denied the request/);
    expect(envsOf(p.number)).toEqual([]);
    const again = await up(p);
    expect(again.r.status, again.logger.text()).toBe('up');
    expect(envsOf(p.number)).toHaveLength(1);
  });

  it('a delete that keeps failing during down: down fails, the next down (or reap) removes it', async () => {
    const p = pr();
    const first = await up(p);
    expect(first.r.status).toBe('up');
    kube.faults.add({
      kind: 'status',
      status: 500,
      method: 'DELETE',
      pathIncludes: `/namespaces/${first.r.namespace}`,
      times: 10,
    });
    const down = () =>
      runFe(
        gh,
        { action: 'closed', number: p.number, labels: ['feature-env'], sha: p.sha },
        { ...inputs, kubeconfig: kube.kubeconfig },
        {
          workspace: ws,
          kubeRetry: { attempts: 2, baseDelayMs: 5 },
        },
      );
    await expect(down()).rejects.toThrow(/500/);
    expect(envsOf(p.number)).toHaveLength(1);
    kube.faults.clear();
    gh.issues.get(p.number)!.state = 'closed';
    const reaped = await runFe(
      gh,
      { name: 'schedule' },
      { ...inputs, kubeconfig: kube.kubeconfig },
      { workspace: ws },
    );
    expect(reaped.r.removed!.map((r) => r.number)).toContain(p.number);
    expect(envsOf(p.number)).toEqual([]);
  });

  it('a run that died after its claim: the next up of that pull request still gets an environment, reap drops the stale claim', async () => {
    const p = pr();
    // The claim is written and the namespace made, then the write right after it (the engine's
    // RoleBinding inside) fails every time (as if the run died there).
    kube.faults.add({
      kind: 'status',
      status: 500,
      method: 'PATCH',
      pathIncludes: `-pr-${p.number}/rolebindings/`,
      times: 10,
    });
    await expect(up(p)).rejects.toThrow();
    kube.faults.clear();
    const again = await up(p);
    expect(again.r.status, again.logger.text()).toBe('up');
    expect(envsOf(p.number)).toHaveLength(1);
  });

  it('refused before anything is created: no domain for the Ingresses, invalid manifests', async () => {
    const p = pr();
    await mkdir(path.join(ws, 'with-ingress'), { recursive: true });
    await writeFile(
      path.join(ws, 'with-ingress/app.yaml'),
      stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'web' },
        spec: { rules: [{ host: 'x' }] },
      }),
    );
    kube.resetRequestLog();
    const opts = { ...inputs, kubeconfig: kube.kubeconfig };
    const ev = {
      action: 'labeled' as const,
      number: p.number,
      label: 'feature-env',
      labels: ['feature-env'],
      sha: p.sha,
    };
    await expect(runFe(gh, ev, { ...opts, manifests: 'with-ingress/' }, { workspace: ws })).rejects.toThrow(
      /Input 'domain': is empty, but 'host-template' uses \{domain\}/,
    );
    await mkdir(path.join(ws, 'broken'), { recursive: true });
    await writeFile(path.join(ws, 'broken/app.yaml'), 'kind: Deployment\nmetadata: {name: x}\n');
    await expect(runFe(gh, ev, { ...opts, manifests: 'broken/' }, { workspace: ws })).rejects.toThrow(
      /apiVersion/,
    );
    expect(kube.writes()).toEqual([]);
    expect(envsOf(p.number)).toEqual([]);
  });
});
