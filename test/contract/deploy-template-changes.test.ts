import { expect, it } from 'vitest';
import { AUDIT_KEYS } from '../../src/deploy/annotations.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { COMMIT } from '../helpers/deploy-harness.js';
import { onBothTargets } from '../helpers/targets.js';

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
    add: (d) => (d.spec.template.spec.containers[0].env = [{ name: 'FEATURE', value: 'enabled' }]),
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

onBothTargets('a removed template field is a change', (target, kind) => {
  const live = async (ns: string) => (await target().get('apps/v1', 'Deployment', ns, 'web')) as Obj;
  const revision = async (ns: string) =>
    (await live(ns)).metadata.annotations['deployment.kubernetes.io/revision'];

  async function withThenWithout(field: string) {
    const h = target().harness;
    const ns = await h.namespace('rm');
    const withField = deploymentManifest('web', 'registry.example/shop/web:v1') as Obj;
    FIELDS[field]!.add(withField);
    const file = await h.write([withField]);
    const first = await h.deploy(
      { manifests: file, namespace: ns, 'pin-digests': 'false' },
      { audit: { commit: 'f'.repeat(40) } },
    );
    expect(first.r.result, first.logger.text()).toBe('success');
    expect(FIELDS[field]!.has(await live(ns))).toBe(true);
    await h.write([deploymentManifest('web', 'registry.example/shop/web:v1')], file);
    return { ns, file, before: await revision(ns) };
  }

  for (const field of Object.keys(FIELDS)) {
    it(`dropping ${field}: configured, rolled out, the template names the new commit`, async () => {
      const { ns, file, before } = await withThenWithout(field);
      const h = target().harness;
      const dry = await h.deploy({
        manifests: file,
        namespace: ns,
        'pin-digests': 'false',
        'dry-run': 'true',
      });
      expect(dry.r.preflight).toEqual([`configured Deployment/${ns}/web`]);
      const { r, logger } = await h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' });
      expect(r.result, logger.text()).toBe('success');
      expect(FIELDS[field]!.has(await live(ns))).toBe(false);
      expect(Number(await revision(ns))).toBe(Number(before) + 1);
      expect((await live(ns)).spec.template.metadata.annotations[AUDIT_KEYS.commit]).toBe(COMMIT);
      expect(r.rows.map((x) => x.result)).toEqual(['success']);
    });

    // Fake only: pods that fail because a field is missing need a rule on the pod's spec, which the
    // fake has (failContainers) and kwok's image-name stages do not.
    if (kind === 'fake')
      it(`dropping ${field} breaks the pods: rolled back, the field is back`, async () => {
        const kube = target().fake!;
        const h = target().harness;
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
          await expect.poll(async () => FIELDS[field]!.has(await live(ns))).toBe(true);
        } finally {
          undo();
        }
      });
  }
});
