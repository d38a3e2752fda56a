import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpAgents } from '../../src/core/http.js';
import { makeRootImage } from '../helpers/base-image.js';
import { deployHarness, type DeployHarness } from '../helpers/deploy-harness.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { CLUSTER_SETUP_TIMEOUT_MS, haveCluster, sharedCluster } from '../helpers/shared-cluster.js';
import { haveTools } from '../helpers/tools.js';
import { deploymentManifest } from '../fixtures/workloads.js';

/**
 * The review's first finding on the genuine control plane (issue 6 item 1, issue 7): another writer
 * changes the Deployment while the image is built (the window between reading what runs and the
 * apply), at a realistic rate (seconds apart, as an HPA or an operator does). Its events show the old
 * generation, complete: they must not end the watch as a success.
 */
describe.skipIf(!haveCluster() || !haveTools('docker-registry', 'buildah', 'busybox'))(
  'a concurrent writer during the build (genuine control plane)',
  () => {
    let reg: RegistryServer;
    let h: DeployHarness;
    let root: string;
    beforeAll(async () => {
      const cluster = await sharedCluster();
      reg = await startRegistry();
      root = await makeRootImage(reg.host, 'findings/root');
      h = await deployHarness(cluster.kubeconfig);
      await mkdir(path.join(h.ws, 'app'));
      // A build that takes a few seconds (never from the layer cache: NONCE differs every time): the
      // window in which the other writer writes.
      await writeFile(
        path.join(h.ws, 'app/Dockerfile'),
        'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG NONCE\nRUN echo "$NONCE" > /nonce && sleep 3\n',
      );
    }, CLUSTER_SETUP_TIMEOUT_MS);
    afterAll(async () => {
      await Promise.all([reg?.stop(), h?.close()]);
      closeHttpAgents();
    });

    async function withWriter(tag: string) {
      const ns = await h.namespace('writer');
      const file = await h.write([deploymentManifest('web', `${reg.host}/findings/app:v1`)]);
      const first = await h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' });
      expect(first.r.result, first.logger.text()).toBe('success');
      let writes = 0;
      let stop = false;
      const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' };
      const writer = (async () => {
        while (!stop) {
          await h.client.patch(
            ref,
            { metadata: { annotations: { 'ops.example.com/poke': String(++writes) } } },
            'merge',
            {
              fieldManager: 'kubectl-annotate',
            },
          );
          await new Promise((r) => setTimeout(r, 1000));
        }
      })();
      try {
        const r = await h.deploy({
          manifests: file,
          namespace: ns,
          'build-context': 'app',
          image: `${reg.host}/findings/app`,
          tag,
          'base-image': root,
          builder: 'buildah',
          'build-args': `NONCE=${tag}`,
          // The tag carries the failure marker of the cluster's simulated kubelets: no digest pinning.
          'pin-digests': 'false',
          timeout: '90s',
          'fail-fast-grace': '3s',
        });
        return { ...r, writes };
      } finally {
        stop = true;
        await writer;
      }
    }

    it('an unpullable image built meanwhile: the rollout fails and is rolled back', async () => {
      const { r, logger, writes } = await withWriter(`fail-pull-${Date.now()}`);
      expect(writes).toBeGreaterThanOrEqual(2);
      expect(r.result, logger.text()).toBe('rolled-back');
      expect(r.failure).toMatch(/ErrImagePull|ImagePullBackOff/);
    });

    it('a good image built meanwhile: success', async () => {
      const { r, logger } = await withWriter(`good-${Date.now()}`);
      expect(r.result, logger.text()).toBe('success');
    });
  },
);
