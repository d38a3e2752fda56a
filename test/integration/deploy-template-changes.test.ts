import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpAgents } from '../../src/core/http.js';
import { AUDIT_KEYS } from '../../src/deploy/annotations.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { COMMIT, deployHarness, type DeployHarness } from '../helpers/deploy-harness.js';

/**
 * Issue 6 item 2: a manifest that drops a field of the pod template (limits, an env var, a volume,
 * a securityContext) changes the template: server-side apply removes the field and the Deployment
 * rolls out. That is a change: it gets the commit annotation, is watched, and rolled back when it fails.
 */
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const FIELDS: Record<string, { add: (d: Obj) => void; has: (d: Obj) => boolean }> = {
  'resources.limits': {
    add: (d) => (d.spec.template.spec.containers[0].resources = { limits: { memory: '128Mi' } }),
    has: (d) => !!d.spec.template.spec.containers[0].resources?.limits,
  },
  'an env var': {
    add: (d) => (d.spec.template.spec.containers[0].env = [{ name: 'FEATURE', value: 'on' }]),
    has: (d) => !!d.spec.template.spec.containers[0].env?.some((e: Obj) => e.name === 'FEATURE'),
  },
  'a volume': {
    add: (d) => {
      d.spec.template.spec.volumes = [{ name: 'scratch', emptyDir: {} }];
      d.spec.template.spec.containers[0].volumeMounts = [{ name: 'scratch', mountPath: '/scratch' }];
    },
    has: (d) => !!d.spec.template.spec.volumes?.length,
  },
  securityContext: {
    add: (d) => (d.spec.template.spec.securityContext = { runAsNonRoot: true, runAsUser: 1000 }),
    has: (d) => d.spec.template.spec.securityContext?.runAsUser === 1000,
  },
};

describe('a removed template field is a change (Kubernetes fake)', () => {
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

  const live = (ns: string) => kube.get('apps/v1', 'Deployment', ns, 'web')!;
  const revision = (ns: string) => live(ns).metadata.annotations['deployment.kubernetes.io/revision'];

  async function withThenWithout(field: string) {
    const ns = await h.namespace('rm');
    const withField = deploymentManifest('web', 'registry.example/shop/web:v1') as Obj;
    FIELDS[field]!.add(withField);
    const file = await h.write([withField]);
    const first = await h.deploy(
      { manifests: file, namespace: ns, 'pin-digests': 'false' },
      { audit: { commit: 'f'.repeat(40) } },
    );
    expect(first.r.result, first.logger.text()).toBe('success');
    expect(FIELDS[field]!.has(live(ns))).toBe(true);
    await h.write([deploymentManifest('web', 'registry.example/shop/web:v1')], file);
    return { ns, file, before: revision(ns) };
  }

  for (const field of Object.keys(FIELDS)) {
    it(`dropping ${field}: configured, rolled out, the template names the new commit`, async () => {
      const { ns, file, before } = await withThenWithout(field);
      const dry = await h.deploy({
        manifests: file,
        namespace: ns,
        'pin-digests': 'false',
        'dry-run': 'true',
      });
      expect(dry.r.plan).toEqual([`configured Deployment/${ns}/web`]);
      const { r, logger } = await h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' });
      expect(r.result, logger.text()).toBe('success');
      expect(FIELDS[field]!.has(live(ns))).toBe(false);
      expect(Number(revision(ns))).toBe(Number(before) + 1);
      expect(live(ns).spec.template.metadata.annotations[AUDIT_KEYS.commit]).toBe(COMMIT);
      expect(r.rows.map((x) => x.result)).toEqual(['success']);
    });

    it(`dropping ${field} breaks the pods: rolled back, the field is back`, async () => {
      const { ns, file } = await withThenWithout(field);
      // The app crashes without the field (as it would without its env var or its volume).
      const undo = kube.failContainers((_c, pod) =>
        pod.metadata.namespace === ns && !FIELDS[field]!.has({ spec: { template: { spec: pod.spec } } })
          ? 'CrashLoopBackOff'
          : undefined,
      );
      try {
        const { r, logger } = await h.deploy({
          manifests: file,
          namespace: ns,
          'pin-digests': 'false',
          timeout: '20s',
        });
        expect(r.result, logger.text()).toBe('rolled-back');
        await expect.poll(() => FIELDS[field]!.has(live(ns))).toBe(true);
      } finally {
        undo();
      }
    });
  }
});
