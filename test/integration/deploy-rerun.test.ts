import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpAgents } from '../../src/core/http.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { AUDIT, deployHarness, type DeployHarness } from '../helpers/deploy-harness.js';

/** Issue 6 item 8: a re-run of the same commit changes nothing and costs one request per object. */
const configMap = (name: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data: { A: '1' },
});
const service = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
});

describe('re-runs cost nothing (Kubernetes fake)', () => {
  let kube: KubeFake;
  let h: DeployHarness;
  beforeAll(async () => {
    kube = await startKubeFake({ readyDelayMs: 30, tickMs: 50 });
    h = await deployHarness(kube.kubeconfig);
  });
  afterAll(async () => {
    await kube?.stop();
    await h?.close();
    closeHttpAgents();
  });

  async function firstDeploy() {
    const ns = await h.namespace('rr');
    const objects = [
      configMap('settings'),
      service('web'),
      deploymentManifest('web', 'registry.example/shop/web:v1'),
      deploymentManifest('worker', 'registry.example/shop/worker:v1'),
    ];
    const file = await h.write(objects);
    const first = await h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' });
    expect(first.r.result, first.logger.text()).toBe('success');
    return { ns, file, count: objects.length };
  }

  it('a re-run of the same commit writes nothing, watches nothing, says unchanged', async () => {
    const { ns, file, count } = await firstDeploy();
    kube.resetRequestLog();
    const { r, logger } = await h.deploy(
      { manifests: file, namespace: ns, 'pin-digests': 'false' },
      { audit: { ...AUDIT, runUrl: 'https://github.com/acme/shop/actions/runs/4242/attempts/2' } },
    );
    expect(r.result, logger.text()).toBe('success');
    const writes = kube.writes();
    expect(writes).toEqual([]);
    expect(kube.requestLog.filter((x) => x.watch)).toEqual([]);
    // One dry run per object, plus a constant: version, discovery of v1, apps/v1 and autoscaling/v2,
    // one read per collection (3 here) and the namespace's HorizontalPodAutoscalers.
    const reviews = kube.requestLog.filter((x) => x.path.endsWith('/selfsubjectaccessreviews')).length;
    expect(r.requestCount - reviews).toBeLessThanOrEqual(count + 8);
    // And the permission check, before anything: one review per verb and resource the run may use
    // (configmaps and services: get, create, patch, delete; deployments: list, create, patch, watch,
    // delete, get; replicasets list; the HPAs, pods (list, watch), events and logs for the
    // hand-over, fail-fast and the failure report: 5), each asked once.
    expect(reviews).toBe(4 + 4 + 6 + 1 + 5);
    expect(r.applied.sort()).toEqual(
      [
        `ConfigMap/${ns}/settings (unchanged)`,
        `Deployment/${ns}/web (unchanged)`,
        `Deployment/${ns}/worker (unchanged)`,
        `Service/${ns}/web (unchanged)`,
      ].sort(),
    );
    expect(r.rows.map((x) => [x.name, x.result])).toEqual([
      ['web', 'unchanged'],
      ['worker', 'unchanged'],
    ]);
    expect(logger.text()).toMatch(new RegExp(`unchanged ConfigMap/${ns}/settings`));
    expect(r.summary).toMatch(/unchanged/);
  });

  it('a new commit that changes no template: metadata written, no rollout, nothing watched', async () => {
    const { ns, file } = await firstDeploy();
    const revision = () =>
      kube.get('apps/v1', 'Deployment', ns, 'web')!.metadata.annotations['deployment.kubernetes.io/revision'];
    const before = revision();
    kube.resetRequestLog();
    const commit = 'a'.repeat(40);
    const { r, logger } = await h.deploy(
      { manifests: file, namespace: ns, 'pin-digests': 'false' },
      { audit: { ...AUDIT, commit } },
    );
    expect(r.result, logger.text()).toBe('success');
    expect(kube.requestLog.filter((x) => x.watch)).toEqual([]);
    expect(revision()).toBe(before);
    expect(
      kube.get('apps/v1', 'Deployment', ns, 'web')!.metadata.annotations['commit-to-cloud.dev/commit'],
    ).toBe(commit);
    expect(r.rows.map((x) => x.result)).toEqual(['not-watched', 'not-watched']);
  });

  it('only the workload whose image changed is watched', async () => {
    const { ns, file } = await firstDeploy();
    kube.resetRequestLog();
    const { r, logger } = await h.deploy({
      manifests: file,
      namespace: ns,
      'pin-digests': 'false',
      images: 'registry.example/shop/web:v2',
    });
    expect(r.result, logger.text()).toBe('success');
    expect(Object.fromEntries(r.rows.map((x) => [x.name, x.result]))).toEqual({
      web: 'success',
      worker: 'unchanged',
    });
  });
});

describe('a rollout that takes a while speaks (Kubernetes fake)', () => {
  let kube: KubeFake;
  let h: DeployHarness;
  beforeAll(async () => {
    kube = await startKubeFake({ readyDelayMs: 6000, tickMs: 100 });
    h = await deployHarness(kube.kubeconfig);
  });
  afterAll(async () => {
    await kube?.stop();
    await h?.close();
    closeHttpAgents();
  });

  it('prints kubectl-style progress when it changes, at most one line per workload every few seconds, with the elapsed time', async () => {
    const ns = await h.namespace('slow');
    const file = await h.write([deploymentManifest('web', 'registry.example/shop/web:v1')]);
    const t0 = Date.now();
    const { r, logger } = await h.deploy({
      manifests: file,
      namespace: ns,
      'pin-digests': 'false',
      timeout: '1m',
    });
    const took = Date.now() - t0;
    expect(r.result, logger.text()).toBe('success');
    const progress = logger.lines.filter((l) =>
      l.message.startsWith(`Deployment/${ns}/web: Waiting for deployment "web" rollout to finish`),
    );
    expect(progress.length, logger.text()).toBeGreaterThanOrEqual(1);
    expect(progress[0]!.message).toMatch(/\[\d+(\.\d)?s of 1m0s\]$/);
    // At most one line per workload every 5 s (plus the first and a last change).
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(took / 5000) + 1);
    expect(logger.text()).toMatch(
      new RegExp(`Deployment/${ns}/web: deployment "web" successfully rolled out`),
    );
  });
});
