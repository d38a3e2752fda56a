import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeHttpAgents } from '../../src/core/http.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import type { ImageFailure } from '../fakes/kube/controllers.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { deployHarness, type DeployHarness } from '../helpers/deploy-harness.js';

/**
 * Issue 6 item 11: pod states that will not heal fail the rollout early (naming the cause), then
 * it is rolled back, long before the progress deadline (here 600 s) or the timeout (here 2 min).
 */
describe('fail fast (Kubernetes fake)', () => {
  let kube: KubeFake;
  let h: DeployHarness;
  beforeAll(async () => {
    kube = await startKubeFake({ readyDelayMs: 100, tickMs: 50 });
    h = await deployHarness(kube.kubeconfig);
  });
  afterAll(async () => {
    await kube?.stop();
    await h?.close();
    closeHttpAgents();
  });
  beforeEach(() => kube.controllers.failImages.clear());

  const slowDeadline = { spec: { progressDeadlineSeconds: 600 } };

  async function badDeploy(how: ImageFailure, extra: Record<string, string> = {}) {
    const ns = await h.namespace('ff');
    const file = await h.write([deploymentManifest('web', 'registry.example/shop/web:v1', slowDeadline)]);
    const first = await h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' });
    expect(first.r.result, first.logger.text()).toBe('success');
    const bad = `registry.example/shop/web:bad-${how.toLowerCase()}`;
    kube.failImage(bad, how);
    const t0 = Date.now();
    const second = await h.deploy({
      manifests: file,
      namespace: ns,
      images: bad,
      'pin-digests': 'false',
      timeout: '2m',
      'fail-fast-grace': '2s',
      ...extra,
    });
    return { ...second, ms: Date.now() - t0, bad, ns };
  }

  for (const how of [
    'ImagePullBackOff',
    'InvalidImageName',
    'CreateContainerConfigError',
    'CrashLoopBackOff',
  ] as const) {
    it(`${how}: failed early with the cause and the image in the verdict, then rolled back`, async () => {
      const { r, logger, ms, bad, ns } = await badDeploy(how);
      expect(r.result, logger.text()).toBe('rolled-back');
      expect(ms).toBeLessThan(30_000);
      expect(r.failure).toContain(how);
      expect(r.failure).toContain(bad);
      expect(r.failure).toMatch(/previous version runs again/);
      const row = r.rows.find((x) => x.name === 'web')!;
      expect(row.result).toBe('rolled-back');
      expect(row.note).toContain(how);
      expect(r.summary).toContain(how);
      await expect
        .poll(() => kube.get('apps/v1', 'Deployment', ns, 'web')!.spec.template.spec.containers[0].image)
        .toBe('registry.example/shop/web:v1');
    });
  }

  it('an image pull failure shorter than the grace period is waited out', async () => {
    const ns = await h.namespace('ff');
    const file = await h.write([deploymentManifest('web', 'registry.example/shop/web:v1', slowDeadline)]);
    expect((await h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' })).r.result).toBe(
      'success',
    );
    const flaky = 'registry.example/shop/web:flaky';
    kube.failImage(flaky, 'ImagePullBackOff');
    setTimeout(() => kube.healImage(flaky), 1500);
    const { r, logger } = await h.deploy({
      manifests: file,
      namespace: ns,
      images: flaky,
      'pin-digests': 'false',
      timeout: '1m',
      'fail-fast-grace': '6s',
    });
    expect(r.result, logger.text()).toBe('success');
  });

  it('fail-fast false: the same pull failure waits for the timeout', async () => {
    const { r, logger, ms } = await badDeploy('ImagePullBackOff', { 'fail-fast': 'false', timeout: '4s' });
    expect(r.result, logger.text()).toBe('rolled-back');
    expect(r.failure).toMatch(/timed out after 4(\.0)?s/);
    expect(ms).toBeGreaterThanOrEqual(4000);
  });
});
