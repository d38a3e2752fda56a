import { expect, it } from 'vitest';
import { deploymentManifest } from '../fixtures/workloads.js';
import { onBothTargets } from '../helpers/targets.js';

/**
 * Issue 15 item 6: a workload's annotations commit-to-cloud.dev/timeout, fail-fast-grace and
 * watch: "false" override the deploy's inputs for that workload (krane's timeout-override, skaffold's
 * per-resource deadlines). A workload whose pulls fail (fail-pull: a marker the fake and kwok honour)
 * stands in for one that is slow or broken.
 */
const REG = 'registry.example:5000/shop';
const slowDeadline = { progressDeadlineSeconds: 600 };

function annotated(name: string, image: string, annotations: Record<string, string>) {
  const d = deploymentManifest(name, image, { replicas: 1, spec: slowDeadline });
  return { ...d, metadata: { ...d.metadata, annotations } };
}

onBothTargets('per-workload overrides', (target) => {
  const deploy = async (objects: object[], extra: Record<string, string> = {}) => {
    const { harness: h } = target();
    const ns = await h.namespace('ov');
    const file = await h.write(objects);
    const t0 = Date.now();
    const out = await h.deploy({
      manifests: file,
      namespace: ns,
      'pin-digests': 'false',
      'rollback-on-failure': 'false',
      ...extra,
    });
    return { ...out, ns, ms: Date.now() - t0 };
  };

  it('commit-to-cloud.dev/timeout: that workload times out at its own deadline; the others keep the input', async () => {
    const { r, logger, ms } = await deploy(
      [
        annotated('slow', `${REG}/slow:fail-pull`, { 'commit-to-cloud.dev/timeout': '3s' }),
        deploymentManifest('web', `${REG}/web:v1`, { replicas: 1, spec: slowDeadline }),
      ],
      { timeout: '20s', 'fail-fast': 'false' },
    );
    expect(r.result, logger.text()).toBe('failed');
    const slow = r.rows.find((x) => x.name === 'slow')!;
    expect(slow.result).toBe('timed-out');
    expect(slow.note).toMatch(/^timed out after 3(\.0)?s/);
    expect(r.rows.find((x) => x.name === 'web')!.result).toBe('success');
    // Not the input's 20 s.
    expect(ms).toBeLessThan(15_000);
    expect(logger.text()).toMatch(/Deployment\/\S+\/slow: .*\[[\d.]+m?s of 3\.0s\]/);
  });

  it('commit-to-cloud.dev/fail-fast-grace: a pull failure fails that workload after its own grace', async () => {
    const { r, logger, ms } = await deploy(
      [annotated('slow', `${REG}/slow:fail-pull`, { 'commit-to-cloud.dev/fail-fast-grace': '1s' })],
      { timeout: '20s', 'fail-fast-grace': '10m' },
    );
    expect(r.result, logger.text()).toBe('failed');
    const slow = r.rows.find((x) => x.name === 'slow')!;
    expect(slow.result).toBe('failed');
    expect(slow.note).toMatch(/failing fast/);
    expect(ms).toBeLessThan(15_000);
  });

  it('commit-to-cloud.dev/watch: "false": applied, not waited for; the deploy succeeds on the others', async () => {
    const { r, logger, ns } = await deploy(
      [
        annotated('batch', `${REG}/batch:fail-pull`, { 'commit-to-cloud.dev/watch': 'false' }),
        deploymentManifest('web', `${REG}/web:v1`, { replicas: 1, spec: slowDeadline }),
      ],
      { timeout: '20s', 'fail-fast-grace': '1s' },
    );
    expect(r.result, logger.text()).toBe('success');
    expect(r.rows.find((x) => x.name === 'batch')!.result).toBe('not-watched');
    expect(r.rows.find((x) => x.name === 'web')!.result).toBe('success');
    expect(r.applied).toContain(`Deployment/${ns}/batch`);
    expect(logger.text()).toContain('Watch 1 rollout(s)');
  });

  it('a bad override is one error before anything is applied, naming the object and the annotation', async () => {
    const { harness: h } = target();
    const ns = await h.namespace('ov');
    const file = await h.write([
      deploymentManifest('web', `${REG}/web:v1`, { replicas: 1 }),
      annotated('slow', `${REG}/slow:v1`, { 'commit-to-cloud.dev/timeout': '10 minutes' }),
    ]);
    await expect(h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' })).rejects.toThrow(
      /Deployment\/slow: annotation commit-to-cloud\.dev\/timeout: '10 minutes' is not a duration; expected a duration such as '90s'/,
    );
    expect(await target().get('apps/v1', 'Deployment', ns, 'web')).toBeUndefined();

    const onService = await h.write([
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', annotations: { 'commit-to-cloud.dev/watch': 'false' } },
        spec: { ports: [{ port: 80 }] },
      },
    ]);
    await expect(h.deploy({ manifests: onService, namespace: ns })).rejects.toThrow(
      /Service\/web: annotation commit-to-cloud\.dev\/watch is on a Service, whose rollout is not watched/,
    );
    const badWatch = await h.write([annotated('w', `${REG}/w:v1`, { 'commit-to-cloud.dev/watch': 'maybe' })]);
    await expect(h.deploy({ manifests: badWatch, namespace: ns })).rejects.toThrow(
      /annotation commit-to-cloud\.dev\/watch: 'maybe' is neither "true" nor "false"/,
    );
    // Unquoted, YAML reads it as a boolean (as the API server would refuse it).
    const unquoted = await h.write([annotated('w', `${REG}/w:v1`, { 'commit-to-cloud.dev/watch': 'no' })]);
    await expect(h.deploy({ manifests: unquoted, namespace: ns })).rejects.toThrow(
      /annotation commit-to-cloud\.dev\/watch is false, not a string .*; quote it, e\.g\. "false"/,
    );
  });
});
