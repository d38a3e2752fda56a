import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeHttpAgents } from '../../src/core/http.js';
import { memoryLogger } from '../../src/core/logger.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { deployHarness, type DeployHarness } from '../helpers/deploy-harness.js';

/**
 * Issue 6 item 3: one rejected object means nothing is applied, also in a namespace this run
 * creates; an apply that fails half-way is undone; a missing namespace is one clear error.
 */
const configMap = (name: string, data: Record<string, string>, namespace?: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(namespace ? { namespace } : {}) },
  data,
});
const service = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
});

describe('apply is all or nothing (Kubernetes fake)', () => {
  let kube: KubeFake;
  let h: DeployHarness;
  beforeAll(async () => {
    kube = await startKubeFake({ readyDelayMs: 50, tickMs: 50, progressDeadlineSeconds: 2 });
    h = await deployHarness(kube.kubeconfig);
  });
  afterAll(async () => {
    await kube?.stop();
    await h?.close();
    closeHttpAgents();
  });
  beforeEach(() => {
    kube.faults.clear();
    kube.allowAll();
  });

  const writes = () => kube.writes();

  it('a Namespace created by this run: its objects are validated by the server too, and applied', async () => {
    const ns = `fresh-${Math.random().toString(36).slice(2, 7)}`;
    const file = await h.write([
      {
        ...deploymentManifest('web', 'registry.example/shop/web:v1'),
        metadata: { name: 'web', namespace: ns },
      },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    ]);
    kube.resetRequestLog();
    const { r, logger } = await h.deploy({ manifests: file, 'pin-digests': 'false' });
    expect(r.result, logger.text()).toBe('success');
    expect(r.applied[0]).toBe(`Namespace/${ns}`);
    // The Deployment went through a server-side dry run inside its new namespace before the apply.
    const deploymentRequests = kube.requestLog.filter((x) =>
      x.path.includes(`/namespaces/${ns}/deployments/web`),
    );
    expect(deploymentRequests.map((x) => [/dryRun=All/.test(x.path), x.status])).toEqual([
      [true, 201],
      [false, 201],
    ]);
  });

  it('an object rejected in a namespace this run creates: nothing stays, the namespace is removed again', async () => {
    const ns = `fresh-${Math.random().toString(36).slice(2, 7)}`;
    // An admission webhook refuses it (RBAC would be named before anything changes: permissions.ts).
    kube.faults.add({
      kind: 'status',
      status: 403,
      method: 'PATCH',
      pathIncludes: `/namespaces/${ns}/configmaps/settings`,
      dryRun: true,
      reason: 'Forbidden',
      message: 'admission webhook "policy.example.com" denied the request: settings are frozen',
    });
    const file = await h.write([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      {
        ...deploymentManifest('web', 'registry.example/shop/web:v1'),
        metadata: { name: 'web', namespace: ns },
      },
      configMap('settings', { A: '1' }, ns),
    ]);
    const err = await h.deploy({ manifests: file, 'pin-digests': 'false' }).catch((e) => e);
    expect(err.message).toMatch(/rejected 1 object.*nothing was applied/);
    expect(err.message).toMatch(/ConfigMap\/.*\/settings: .*settings are frozen/);
    await expect.poll(() => kube.get('v1', 'Namespace', undefined, ns)).toBeUndefined();
    expect(kube.get('apps/v1', 'Deployment', ns, 'web')).toBeUndefined();
  });

  it('the second of two namespaces this run creates is refused: the first is removed again, nothing stays', async () => {
    const suffix = Math.random().toString(36).slice(2, 7);
    const [first, second] = [`one-${suffix}`, `two-${suffix}`];
    const file = await h.write([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: first } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: second } },
      configMap('settings', { A: '1' }, first),
      configMap('settings', { A: '1' }, second),
    ]);
    kube.faults.add({
      kind: 'status',
      status: 403,
      method: 'PATCH',
      pathIncludes: `/namespaces/${second}?`,
      dryRun: false,
      reason: 'Forbidden',
      message: 'exceeded quota: namespaces, requested: 1, limited: 50',
    });
    const err = await h.deploy({ manifests: file, 'pin-digests': 'false' }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(kube.get('v1', 'Namespace', undefined, second)).toBeUndefined();
    await expect.poll(() => kube.get('v1', 'Namespace', undefined, first)).toBeUndefined();
    expect(err.message).toMatch(/exceeded quota: namespaces/);
    expect(err.message).toContain(`Created by this run, deleted again: Namespace/${first}.`);
  });

  it('a namespace that does not exist: one error that names it and the fix, each object annotated', async () => {
    const file = await h.write([
      deploymentManifest('web', 'registry.example/shop/web:v1'),
      service('web'),
      configMap('settings', { A: '1' }),
    ]);
    kube.resetRequestLog();
    const err = await h
      .deploy({ manifests: file, namespace: 'nowhere', 'pin-digests': 'false' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.message.match(/does not exist/g)).toHaveLength(1);
    expect(err.message).toMatch(/namespace 'nowhere' does not exist/);
    expect(err.message).toMatch(/Namespace manifest|create-namespace: true/);
    expect(err.problems.map((p: { message: string }) => p.message).sort()).toEqual(
      ['ConfigMap/nowhere/settings', 'Deployment/nowhere/web', 'Service/nowhere/web'].map(
        (k) => `${k}: namespace 'nowhere' does not exist`,
      ),
    );
    expect(err.problems.every((p: { where?: { file: string } }) => p.where?.file === file)).toBe(true);
    expect(writes()).toEqual([]);
  });

  it('create-namespace: true creates the namespace of the `namespace` input, validates in it, applies', async () => {
    const ns = `made-${Math.random().toString(36).slice(2, 7)}`;
    const file = await h.write([deploymentManifest('web', 'registry.example/shop/web:v1'), service('web')]);
    const { r, logger } = await h.deploy({
      manifests: file,
      namespace: ns,
      'create-namespace': 'true',
      'pin-digests': 'false',
    });
    expect(r.result, logger.text()).toBe('success');
    expect(kube.get('v1', 'Namespace', undefined, ns)).toBeDefined();
    expect(r.applied).toContain(`Namespace/${ns}`);
    expect(kube.get('apps/v1', 'Deployment', ns, 'web')).toBeDefined();
  });

  it('an apply that fails on a later write: what this run changed is restored, what it created removed', async () => {
    const ns = await h.namespace('undo');
    const file = await h.write([
      configMap('settings', { MODE: 'v1' }),
      deploymentManifest('web', 'registry.example/shop/web:v1'),
    ]);
    expect((await h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' })).r.result).toBe(
      'success',
    );
    await h.write(
      [
        configMap('settings', { MODE: 'v2' }),
        configMap('extra', { B: '1' }),
        service('web'),
        deploymentManifest('web', 'registry.example/shop/web:v2'),
      ],
      file,
    );
    // An admission webhook denies the Deployment's real write (its dry run passed).
    kube.faults.add({
      kind: 'status',
      status: 400,
      method: 'PATCH',
      pathIncludes: `/namespaces/${ns}/deployments/web`,
      dryRun: false,
      reason: 'BadRequest',
      message: 'admission webhook "policy.example.com" denied the request: image not signed',
    });
    const err = await h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' }).catch((e) => e);
    expect(err.message).toMatch(/Apply failed for Deployment\/.*\/web.*image not signed/s);
    expect(err.message).toMatch(/Restored ConfigMap\/.*\/settings/);
    expect(err.message).toMatch(/[Rr]emoved .*(ConfigMap\/.*\/extra|Service\/.*\/web)/);
    expect(kube.get('v1', 'ConfigMap', ns, 'settings')!.data).toEqual({ MODE: 'v1' });
    expect(kube.get('v1', 'ConfigMap', ns, 'extra')).toBeUndefined();
    expect(kube.get('v1', 'Service', ns, 'web')).toBeUndefined();
    const web = kube.get('apps/v1', 'Deployment', ns, 'web')!;
    expect(web.spec.template.spec.containers[0].image).toBe('registry.example/shop/web:v1');
  });

  it('an object that cannot be restored is named', async () => {
    const ns = await h.namespace('undo');
    const file = await h.write([
      configMap('settings', { MODE: 'v1' }),
      deploymentManifest('web', 'registry.example/shop/web:v1'),
    ]);
    expect((await h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' })).r.result).toBe(
      'success',
    );
    await h.write(
      [
        configMap('settings', { MODE: 'v2' }),
        configMap('extra', { B: '1' }),
        deploymentManifest('web', 'registry.example/shop/web:v2'),
      ],
      file,
    );
    kube.faults.add({
      kind: 'status',
      status: 403,
      method: 'PATCH',
      pathIncludes: `/namespaces/${ns}/deployments/web`,
      dryRun: false,
      reason: 'Forbidden',
      message: 'exceeded quota: compute, requested: pods=2, used: pods=9, limited: pods=10',
    });
    // A change freeze (an admission webhook) refuses the undo's delete.
    kube.faults.add({
      kind: 'status',
      status: 403,
      method: 'DELETE',
      pathIncludes: `/namespaces/${ns}/configmaps/extra`,
      reason: 'Forbidden',
      message: 'admission webhook "freeze.example.com" denied the request: change freeze',
    });
    const err = await h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' }).catch((e) => e);
    expect(err.message).toMatch(/exceeded quota/);
    expect(err.message).toMatch(/[Cc]ould not be restored: ConfigMap\/.*\/extra/);
    expect(kube.get('v1', 'ConfigMap', ns, 'settings')!.data).toEqual({ MODE: 'v1' });
  });

  it('a failed rollout whose ConfigMap cannot be put back: named, and the previous version is not said to run', async () => {
    const ns = await h.namespace('rbcm');
    const file = await h.write([
      configMap('settings', { MODE: 'v1' }),
      deploymentManifest('web', 'registry.example/shop/web:v1'),
    ]);
    expect((await h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' })).r.result).toBe(
      'success',
    );
    await h.write(
      [configMap('settings', { MODE: 'v2' }), deploymentManifest('web', 'registry.example/shop/web:v2')],
      file,
    );
    kube.failImage('registry.example/shop/web:v2', 'ImagePullBackOff');
    // A change freeze starts while the rollout fails: the ConfigMap's restore is refused.
    const logger = memoryLogger();
    const group = logger.group.bind(logger);
    logger.group = <T>(name: string, fn: () => Promise<T>) => {
      if (name === 'Roll back')
        kube.faults.add({
          kind: 'status',
          status: 403,
          method: 'PATCH',
          pathIncludes: `/namespaces/${ns}/configmaps/settings`,
          reason: 'Forbidden',
          message: 'admission webhook "freeze.example.com" denied the request: change freeze',
        });
      return group(name, fn);
    };
    try {
      const { r } = await h.deploy(
        { manifests: file, namespace: ns, 'pin-digests': 'false', 'fail-fast-grace': '1s' },
        { logger },
      );
      expect(r.result, logger.text()).toBe('rolled-back');
      expect(r.failure).toContain(`Rolled back Deployment/${ns}/web`);
      expect(r.failure).toMatch(new RegExp(`did not complete: ConfigMap/${ns}/settings: .*change freeze`));
      expect(r.failure).not.toContain('the previous version runs again');
      expect(kube.get('v1', 'ConfigMap', ns, 'settings')!.data).toEqual({ MODE: 'v2' });
    } finally {
      kube.healImage('registry.example/shop/web:v2');
    }
  });

  it('rollback-on-failure false: a failed apply is reported, not undone', async () => {
    const ns = await h.namespace('keep');
    const file = await h.write([
      configMap('settings', { MODE: 'v2' }),
      deploymentManifest('web', 'registry.example/shop/web:v2'),
    ]);
    kube.faults.add({
      kind: 'status',
      status: 400,
      method: 'PATCH',
      pathIncludes: `/namespaces/${ns}/deployments/web`,
      dryRun: false,
      reason: 'BadRequest',
      message: 'admission webhook "x" denied the request',
    });
    const err = await h
      .deploy({ manifests: file, namespace: ns, 'pin-digests': 'false', 'rollback-on-failure': 'false' })
      .catch((e) => e);
    expect(err.message).toMatch(/Applied before the failure: ConfigMap\/.*\/settings/);
    expect(kube.get('v1', 'ConfigMap', ns, 'settings')).toBeDefined();
  });

  it('the rollback waits `rollback-timeout`, not a second `timeout`, and the summary shows both', async () => {
    // A fake of its own: the shared one cuts every progress deadline to 2 s, which would race
    // the 2 s rollback-timeout this test measures; here the manifest's 600 s holds.
    const own = await startKubeFake({ readyDelayMs: 50, tickMs: 50 });
    const oh = await deployHarness(own.kubeconfig);
    try {
      const ns = await oh.namespace('rbt');
      const file = await oh.write([
        deploymentManifest('web', 'registry.example/shop/web:v1', { spec: { progressDeadlineSeconds: 600 } }),
      ]);
      expect((await oh.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' })).r.result).toBe(
        'success',
      );
      // Both the new image and (from now on) the old one fail: the rollback cannot become ready.
      own.failImage('registry.example/shop/web:v2', 'ImagePullBackOff');
      own.failImage('registry.example/shop/web:v1', 'ImagePullBackOff');
      const t0 = Date.now();
      const { r } = await oh.deploy({
        manifests: file,
        namespace: ns,
        images: 'registry.example/shop/web:v2',
        'pin-digests': 'false',
        timeout: '1s',
        'rollback-timeout': '2s',
      });
      const took = Date.now() - t0;
      expect(r.result).toBe('rolled-back');
      expect(r.failure).toMatch(/rollback itself did not complete.*timed out after 2(\.0)?s/);
      expect(took).toBeLessThan(10_000);
      expect(r.summary).toMatch(/timeout 1(\.0)?s/i);
      expect(r.summary).toMatch(/rollback timeout 2(\.0)?s/i);
    } finally {
      await own.stop();
      await oh.close();
    }
  });
});
