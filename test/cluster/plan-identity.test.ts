import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { errorMessage } from '../../src/core/errors.js';
import { closeHttpAgents } from '../../src/core/http.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import type { Cluster } from '../helpers/cluster.js';
import { deployHarness } from '../helpers/deploy-harness.js';
import { docsOf, kubeconfigFor, rulesInForce, type Doc } from '../helpers/rbac.js';
import {
  CLUSTER_SETUP_TIMEOUT_MS,
  haveCluster,
  sharedCluster,
  testNamespace,
} from '../helpers/shared-cluster.js';

/**
 * Issue 15 item 9: the plan identity of rbac/plan-role.yaml, for `c2c plan` on branches nobody has
 * reviewed (the CircleCI example's plan job). It holds the deploy Role (a server-side dry run is
 * authorized like the write), and its ValidatingAdmissionPolicy refuses every write of it that is
 * not a dry run. On the genuine API server, which evaluates the policy's CEL.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const IMG = 'registry.example/shop';

describe.skipIf(!haveCluster())('the plan identity (rbac/plan-role.yaml): dry runs only', () => {
  let cluster: Cluster;
  const cleanup: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    cluster = await sharedCluster();
  }, CLUSTER_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await Promise.all(cleanup.map((c) => c().catch(() => undefined)));
    closeHttpAgents();
  });

  const kubectl = async (args: string[], input: string, token?: string) =>
    cluster.kubectl(args, { input, ...(token ? { token } : {}) });

  it('a dry run as the planner succeeds; a deploy and a plain kubectl apply as the planner are refused, and nothing is written', async () => {
    const ns = await testNamespace(cluster, 'plan');
    cleanup.push(ns.delete);
    // Both files, for this namespace, as the README says: sed 's/my-app/<ns>/g'.
    const docs: Doc[] = [
      ...docsOf(path.join(ROOT, 'rbac/deploy-role.yaml')),
      ...docsOf(path.join(ROOT, 'rbac/plan-role.yaml')),
    ].map((d) => JSON.parse(JSON.stringify(d).replaceAll('my-app', ns.name)) as Doc);
    const applied = await kubectl(
      ['apply', '--server-side', '-f', '-'],
      docs.map((d) => stringify(d)).join('---\n'),
    );
    expect(applied.code, applied.stderr).toBe(0);
    const policy = docs.find((d) => d.kind === 'ValidatingAdmissionPolicy')!.metadata.name;
    cleanup.push(() =>
      kubectl(
        [
          'delete',
          'validatingadmissionpolicy,validatingadmissionpolicybinding',
          policy,
          '--ignore-not-found',
        ],
        '',
      ),
    );
    const role = docs.find((d) => d.kind === 'Role')!;
    const { token, kubeconfig } = await kubeconfigFor(cluster, ns.name, 'planner');
    await rulesInForce(cluster, token, ns.name, role.rules!);
    const h = await deployHarness(kubeconfig);
    cleanup.push(() => h.close());
    const manifests = await h.write([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { A: '1' } },
      deploymentManifest('web', `${IMG}/web:v1`, { replicas: 1 }),
    ]);
    const inputs = { manifests, namespace: ns.name, 'pin-digests': 'false', timeout: '30s' };
    const gone = async () => {
      for (const p of [
        `/api/v1/namespaces/${ns.name}/configmaps/settings`,
        `/apis/apps/v1/namespaces/${ns.name}/deployments/web`,
        `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/commit-to-cloud-deploy`,
      ])
        expect((await cluster.request('GET', p)).status, p).toBe(404);
    };

    // The policy reaches the admission chain a moment after it is stored: poll the refusal.
    await expect
      .poll(
        async () =>
          (
            await kubectl(
              ['apply', '--server-side', '-n', ns.name, '-f', '-'],
              stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'probe' } }),
              token,
            )
          ).stderr,
        { timeout: 30_000, interval: 500 },
      )
      .toContain('the plan identity may only dry-run');
    const dryKubectl = await kubectl(
      ['apply', '--server-side', '--dry-run=server', '-n', ns.name, '-f', '-'],
      stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'probe' } }),
      token,
    );
    expect(dryKubectl.code, dryKubectl.stderr).toBe(0);

    // The plan: the permission check sees the deploy Role (no warning), the dry run passes.
    const dry = await h.deploy({ ...inputs, 'dry-run': 'true' }, { lock: { holder: 'plan-test' } });
    expect(dry.r.result, dry.logger.text()).toBe('dry-run');
    expect(dry.logger.lines.filter((l) => l.level === 'warning').map((l) => l.message)).toEqual([]);
    await gone();

    // A deploy as the planner: refused at its first write (the lock's Lease), nothing left.
    let error = '';
    try {
      await h.deploy(inputs, { lock: { holder: 'plan-test' } });
    } catch (e) {
      error = errorMessage(e);
    }
    expect(error).toContain('the plan identity may only dry-run');
    await gone();
  });
});
