import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpAgents } from '../../src/core/http.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { deployHarness, type DeployHarness } from '../helpers/deploy-harness.js';

/**
 * Issue 15 item 8: every permission a run needs is asked about before its first write, and what is
 * missing is one error (the paths test/cluster/rbac.test.ts does not take: pre-deploy Jobs, the
 * canary, prune of a kind the set no longer holds, a server that answers no review). On the fake,
 * whose reviews answer by the same forbid() rules its requests are refused by.
 */
const REG = 'registry.example/shop';
const job = (name: string) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, annotations: { 'commit-to-cloud.dev/phase': 'pre-deploy' } },
  spec: {
    template: { spec: { restartPolicy: 'Never', containers: [{ name, image: `${REG}/migrate:v1` }] } },
  },
});
const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: name } });

describe('permissions checked before the first write (Kubernetes fake)', () => {
  let kube: KubeFake;
  let h: DeployHarness;
  beforeAll(async () => {
    kube = await startKubeFake({ readyDelayMs: 30, tickMs: 50 });
    h = await deployHarness(kube.kubeconfig);
  });
  afterEach(() => {
    kube.allowAll();
    kube.faults.clear();
  });
  afterAll(async () => {
    await kube?.stop();
    await h?.close();
    closeHttpAgents();
  });

  const deploy = async (ns: string, objects: object[], extra: Record<string, string> = {}) =>
    h.deploy(
      { manifests: await h.write(objects), namespace: ns, 'pin-digests': 'false', ...extra },
      { lock: { holder: 'permissions-test' } },
    );

  it('a pre-deploy Job and a canary need delete (a changed Job is run again, the canary goes): named before anything, nothing written', async () => {
    const ns = await h.namespace('perm');
    kube.forbid({ verb: 'delete', resource: 'jobs', namespace: ns });
    kube.forbid({ verb: 'delete', resource: 'deployments', namespace: ns });
    kube.resetRequestLog();
    const err = (await deploy(ns, [job('migrate'), deploymentManifest('web', `${REG}/web:v1`)], {
      'rollback-on-failure': 'false',
      strategy: 'canary',
      'canary-duration': '1s',
    }).catch((e) => e)) as Error;
    expect(err.message).toMatch(
      /^The deploying identity lacks 2 permission\(s\) this deploy needs; nothing was changed/,
    );
    expect(err.message).toContain(
      `forbidden to delete jobs.batch in namespace "${ns}" (a pre-deploy Job whose template changed is run again as a new Job)`,
    );
    expect(err.message).toContain(
      `forbidden to delete deployments.apps in namespace "${ns}" (the canary Deployment is removed)`,
    );
    expect(err.message).toContain('  - apiGroups: [batch]\n    resources: [jobs]\n    verbs: [delete]');
    // Not even the lock's Lease was written.
    expect(kube.writes()).toEqual([]);
  });

  it('prune needs delete on the kinds the set held, even one it no longer holds; listed with its rule', async () => {
    const ns = await h.namespace('perm');
    const first = await deploy(ns, [cm('a'), deploymentManifest('web', `${REG}/web:v1`)], {
      prune: 'true',
      'prune-set': 'shop',
    });
    expect(first.r.result, first.logger.text()).toBe('success');
    // The ConfigMaps go: prune would delete ConfigMap a, a kind the set no longer holds.
    kube.forbid({ verb: 'delete', resource: 'configmaps', namespace: ns });
    kube.resetRequestLog();
    const err = (await deploy(ns, [deploymentManifest('web', `${REG}/web:v2`)], {
      prune: 'true',
      'prune-set': 'shop',
      'rollback-on-failure': 'false',
    }).catch((e) => e)) as Error;
    expect(err.message).toContain(
      `forbidden to delete configmaps in namespace "${ns}" (prune: a member no longer in the set is removed)`,
    );
    expect(kube.writes()).toEqual([]);
    expect(kube.get('v1', 'ConfigMap', ns, 'a')).toBeDefined();
  });

  it('a server that answers no review: a warning, and the deploy goes on as it would have', async () => {
    const ns = await h.namespace('perm');
    kube.faults.add({
      kind: 'status',
      status: 404,
      method: 'POST',
      pathIncludes: '/selfsubjectaccessreviews',
      times: 1000,
    });
    const { r, logger } = await deploy(ns, [cm('a'), deploymentManifest('web', `${REG}/web:v1`)]);
    expect(r.result, logger.text()).toBe('success');
    expect(logger.text()).toMatch(
      /could not check the deploying identity's permissions before the deploy \(SelfSubjectAccessReview\): .*a missing one shows when it is used/,
    );
  });

  it('what only makes the deploy better (the failure report, fail-fast) is one warning, and the deploy goes on', async () => {
    const ns = await h.namespace('perm');
    kube.forbid({ verb: 'list', resource: 'events', namespace: ns });
    kube.forbid({ verb: 'watch', resource: 'pods', namespace: ns });
    const { r, logger } = await deploy(ns, [deploymentManifest('web', `${REG}/web:v1`)]);
    expect(r.result, logger.text()).toBe('success');
    const warnings = logger.lines.filter((l) => l.level === 'warning').map((l) => l.message);
    const said = warnings.find((w) => w.includes('the deploy goes on without'));
    expect(said, warnings.join('\n')).toMatch(
      /lacks 2 permission\(s\) the deploy goes on without \(it does less\)/,
    );
    expect(said).toContain(`forbidden to list events in namespace "${ns}" (the failure report)`);
    expect(said).toContain(`forbidden to watch pods in namespace "${ns}" (fail-fast's pod watch)`);
  });
});
