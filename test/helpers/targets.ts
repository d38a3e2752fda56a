import { afterAll, beforeAll, describe } from 'vitest';
import { closeHttpAgents } from '../../src/core/http.js';
import type { KubeObject } from '../../src/kube/index.js';
import { startKubeFake, type KubeFake, type KubeFakeOptions } from '../fakes/kube/index.js';
import type { Cluster } from './cluster.js';
import { deployHarness, type DeployHarness } from './deploy-harness.js';
import { CLUSTER_SETUP_TIMEOUT_MS, haveCluster, sharedCluster } from './shared-cluster.js';

/**
 * Contract tests: one body of cases run against the Kubernetes fake and against the genuine control
 * plane (test/helpers/cluster.ts), so the fake is held to the real server. Cases use only what both
 * have: the deploy harness (a kubeconfig, a workspace, namespaces), a client to read objects, and
 * failures asked for by image name (fail-pull, crash-loop, invalid-name, config-error, fail-job:
 * the fake and the control plane's kwok stages honour the same markers). A case that needs what only
 * the fake can do (an injected 429, a cut watch) uses `onlyFake`, with its reason.
 */
export interface Target {
  kind: 'fake' | 'cluster';
  harness: DeployHarness;
  kubeconfig: string;
  fake?: KubeFake;
  cluster?: Cluster;
  /** An object as the server has it now. */
  get(apiVersion: string, kind: string, namespace: string, name: string): Promise<KubeObject | undefined>;
}

export function onBothTargets(
  title: string,
  body: (target: () => Target, kind: 'fake' | 'cluster') => void,
  opts: { fake?: KubeFakeOptions } = {},
): void {
  for (const kind of ['fake', 'cluster'] as const) {
    describe.skipIf(kind === 'cluster' && !haveCluster())(`${title} [${kind}]`, () => {
      let t: Target | undefined;
      beforeAll(async () => {
        let kubeconfig: string;
        let fake: KubeFake | undefined;
        let cluster: Cluster | undefined;
        if (kind === 'fake') {
          fake = await startKubeFake({ readyDelayMs: 50, tickMs: 50, ...opts.fake });
          kubeconfig = fake.kubeconfig;
        } else {
          cluster = await sharedCluster();
          kubeconfig = cluster.kubeconfig;
        }
        const harness = await deployHarness(kubeconfig);
        t = {
          kind,
          harness,
          kubeconfig,
          ...(fake ? { fake } : {}),
          ...(cluster ? { cluster } : {}),
          get: (apiVersion, k, namespace, name) =>
            harness.client.get({ apiVersion, kind: k, namespace, name }),
        };
      }, CLUSTER_SETUP_TIMEOUT_MS);
      afterAll(async () => {
        await t?.harness.close();
        await t?.fake?.stop();
        closeHttpAgents();
      });
      body(() => {
        if (!t) throw new Error(`the ${kind} target did not start (see beforeAll)`);
        return t;
      }, kind);
    });
  }
}
