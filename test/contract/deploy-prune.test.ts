import { expect, it } from 'vitest';
import { stringify } from 'yaml';
import { APPLYSET_ID, CONTAINS, PART_OF, applySetId } from '../../src/deploy/prune.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { onBothTargets } from '../helpers/targets.js';

/**
 * Issue 15 item 2: prune as a kubectl ApplySet (KEP-3659). On the fake and on the genuine control
 * plane; there, kubectl's own --applyset makes the same parent id for the same name.
 */
const REG = 'registry.example:5000/shop';
const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: name } });
const svc = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80 }] },
});
const pvc = (name: string) => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
});
const web = (image = `${REG}/web:v1`) => deploymentManifest('web', image, { replicas: 1 });

onBothTargets('prune (ApplySet)', (target, kind) => {
  const deploy = async (ns: string, objects: object[], extra: Record<string, string> = {}) => {
    const { harness: h } = target();
    const file = await h.write(objects);
    return h.deploy({
      manifests: file,
      namespace: ns,
      'pin-digests': 'false',
      prune: 'true',
      'prune-set': 'shop',
      ...extra,
    });
  };
  const exists = async (apiVersion: string, k: string, ns: string, name: string) =>
    (await target().get(apiVersion, k, ns, name)) !== undefined;

  it('removes what the set no longer holds after a good rollout; the dry run lists it first; what the set never applied stays', async () => {
    const { harness: h } = target();
    const ns = await h.namespace('pr');
    const first = await deploy(ns, [cm('a'), cm('b'), svc('web'), web()]);
    expect(first.r.result, first.logger.text()).toBe('success');
    const parent = (await target().get('v1', 'ConfigMap', ns, 'shop'))!;
    expect(parent.metadata.labels?.[APPLYSET_ID]).toBe(applySetId('shop', ns));
    expect(parent.metadata.annotations?.[CONTAINS]).toBe('ConfigMap,Deployment.apps,Service');
    expect((await target().get('v1', 'ConfigMap', ns, 'a'))!.metadata.labels?.[PART_OF]).toBe(
      applySetId('shop', ns),
    );
    // Not the set's: made by someone else in the same namespace.
    await h.client.apply(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'theirs', namespace: ns } },
      {
        fieldManager: 'someone-else',
      },
    );

    const dry = await deploy(ns, [cm('a'), web()], { 'dry-run': 'true' });
    expect(dry.r.pruned!.sort()).toEqual([`ConfigMap/${ns}/b`, `Service/${ns}/web`]);
    expect(dry.logger.text()).toContain(`would prune ConfigMap/${ns}/b (no longer in the set)`);
    expect(await exists('v1', 'ConfigMap', ns, 'b')).toBe(true);

    const second = await deploy(ns, [cm('a'), web()]);
    expect(second.r.result, second.logger.text()).toBe('success');
    expect(second.r.pruned!.sort()).toEqual([`ConfigMap/${ns}/b`, `Service/${ns}/web`]);
    await expect.poll(() => exists('v1', 'ConfigMap', ns, 'b')).toBe(false);
    await expect.poll(() => exists('v1', 'Service', ns, 'web')).toBe(false);
    expect(await exists('v1', 'ConfigMap', ns, 'a')).toBe(true);
    expect(await exists('v1', 'ConfigMap', ns, 'theirs')).toBe(true);
    expect((await target().get('v1', 'ConfigMap', ns, 'shop'))!.metadata.annotations?.[CONTAINS]).toBe(
      'ConfigMap,Deployment.apps',
    );
  });

  it('a rollout that fails prunes nothing; PersistentVolumeClaims stay without prune-volumes', async () => {
    const { harness: h } = target();
    const ns = await h.namespace('pr');
    expect((await deploy(ns, [cm('a'), pvc('data'), web()])).r.result).toBe('success');
    const bad = await deploy(ns, [web(`${REG}/web:fail-pull`)], { 'fail-fast-grace': '1s', timeout: '30s' });
    expect(bad.r.result, bad.logger.text()).toBe('rolled-back');
    expect(bad.r.pruned).toBeUndefined();
    expect(await exists('v1', 'ConfigMap', ns, 'a')).toBe(true);

    const good = await deploy(ns, [web()]);
    expect(good.r.result, good.logger.text()).toBe('success');
    expect(good.r.pruned).toEqual([`ConfigMap/${ns}/a`]);
    expect(good.logger.text()).toContain(`kept: PersistentVolumeClaim/${ns}/data (prune-volumes is false)`);
    expect(await exists('v1', 'PersistentVolumeClaim', ns, 'data')).toBe(true);
    const withVolumes = await deploy(ns, [web()], { 'prune-volumes': 'true' });
    expect(withVolumes.r.pruned).toEqual([`PersistentVolumeClaim/${ns}/data`]);
  });

  it('a prune-set naming a ConfigMap that is not an ApplySet parent is refused, nothing changed', async () => {
    const { harness: h } = target();
    const ns = await h.namespace('pr');
    await h.client.apply(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shop', namespace: ns } },
      {
        fieldManager: 'someone-else',
      },
    );
    await expect(deploy(ns, [cm('a')])).rejects.toThrow(
      /Input 'prune-set': ConfigMap \S+\/shop exists and is not this ApplySet's parent/,
    );
    expect(await exists('v1', 'ConfigMap', ns, 'a')).toBe(false);
  });

  // Fake only: a denial of one verb needs the fake's forbid(); the control plane's RBAC is shown
  // by test/cluster/rbac.test.ts.
  if (kind === 'fake')
    it('an identity that may not delete what prune would remove is told so before anything changes', async () => {
      const { harness: h, fake } = target();
      const ns = await h.namespace('pr');
      expect((await deploy(ns, [cm('a'), cm('b'), web()])).r.result).toBe('success');
      fake!.forbid({ verb: 'delete', resource: 'configmaps', namespace: ns });
      try {
        const err = (await deploy(ns, [cm('a'), web(`${REG}/web:v2`)]).catch((e) => e)) as Error;
        expect(err.message).toMatch(
          /^The deploying identity lacks 1 permission\(s\) this deploy needs; nothing was changed/,
        );
        expect(err.message).toContain(
          `forbidden to delete configmaps in namespace "${ns}" (the undo: what this run created is deleted again; prune: a member no longer in the set is removed)`,
        );
        expect(err.message).toMatch(
          /- apiGroups: \[''\]\n {4}resources: \[configmaps\]\n {4}verbs: \[delete\]/,
        );
      } finally {
        fake!.allowAll();
      }
      expect(await exists('v1', 'ConfigMap', ns, 'b')).toBe(true);
      const d = (await target().get('apps/v1', 'Deployment', ns, 'web')) as unknown as {
        spec: { template: { spec: { containers: { image: string }[] } } };
      };
      expect(d.spec.template.spec.containers[0]!.image).toBe(`${REG}/web:v1`);
    });

  if (kind === 'cluster')
    it("kubectl's own --applyset gives the parent the id this suite computes, and its members the label prune looks for", async () => {
      const { cluster, harness: h } = target();
      const ns = await h.namespace('pr');
      process.env.KUBECTL_APPLYSET = 'true';
      try {
        // prettier-ignore
        const r = await cluster!.kubectl(
          ['apply', '--server-side', '--applyset=configmap/kset', '--prune', '-f', '-'],
          { namespace: ns, input: stringify(cm('from-kubectl')) },
        );
        expect(r.code, r.stderr).toBe(0);
      } finally {
        delete process.env.KUBECTL_APPLYSET;
      }
      const parent = (await target().get('v1', 'ConfigMap', ns, 'kset'))!;
      expect(parent.metadata.labels?.[APPLYSET_ID]).toBe(applySetId('kset', ns));
      const member = (await target().get('v1', 'ConfigMap', ns, 'from-kubectl'))!;
      expect(member.metadata.labels?.[PART_OF]).toBe(applySetId('kset', ns));
    });
});
