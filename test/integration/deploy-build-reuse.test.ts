import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpAgents } from '../../src/core/http.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { makeRootImage } from '../helpers/base-image.js';
import { commitAll } from '../helpers/git.js';
import { useBuildahStore } from '../helpers/use-buildah-store.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { haveTools } from '../helpers/tools.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { AUDIT, deployHarness, type DeployHarness } from '../helpers/deploy-harness.js';

/**
 * Issue 6 item 12: a re-run of the same commit restarts nothing. The image under `image:tag` built
 * from this commit is used as it is (one HEAD and its revision label), and a build is reproducible:
 * the commit's time on the image and its files, so the same commit gives the same digest.
 */
describe.skipIf(!haveTools('docker-registry', 'buildah', 'busybox', 'git'))(
  'the built image: reused when it exists, reproducible when rebuilt',
  () => {
    let kube: KubeFake;
    let reg: RegistryServer;
    let h: DeployHarness;
    let root: string;
    let revision: string;
    const buildah = useBuildahStore('reuse');

    beforeAll(async () => {
      [kube, reg] = await Promise.all([startKubeFake({ readyDelayMs: 20, tickMs: 50 }), startRegistry()]);
      root = await makeRootImage(reg.host, 'reuse/root');
      h = await deployHarness(kube.kubeconfig);
      await mkdir(path.join(h.ws, 'app'));
      await writeFile(
        path.join(h.ws, 'app/Dockerfile'),
        'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY hello.txt /srv/hello.txt\nCMD ["cat", "/srv/hello.txt"]\n',
      );
      await writeFile(path.join(h.ws, 'app/hello.txt'), 'hello\n');
      revision = commitAll(h.ws, 'app');
    });
    afterAll(async () => {
      await Promise.all([kube?.stop(), reg?.stop(), h?.close()]);
      closeHttpAgents();
    });

    const inputs = (ns: string, file: string, extra: Record<string, string> = {}) => ({
      manifests: file,
      namespace: ns,
      'build-context': 'app',
      image: `${reg.host}/reuse/app`,
      'base-image': root,
      builder: 'buildah',
      ...extra,
    });

    it('a re-run of the same commit builds nothing and restarts nothing; a forced rebuild gives the same digest', async () => {
      const ns = await h.namespace('reuse');
      const file = await h.write([deploymentManifest('web', `${reg.host}/reuse/app:dev`)]);
      await buildah.fresh(); // a cold store, as on a new CI runner
      const first = await h.deploy(inputs(ns, file), { revision });
      expect(first.r.result, first.logger.text()).toBe('success');
      expect(first.logger.text()).toMatch(/group: Build and push/);
      const revisionOf = () =>
        kube.get('apps/v1', 'Deployment', ns, 'web')!.metadata.annotations[
          'deployment.kubernetes.io/revision'
        ];
      const before = revisionOf();

      // The same commit again (a re-run): one HEAD finds the image, no build, nothing written.
      kube.resetRequestLog();
      const again = await h.deploy(inputs(ns, file), {
        revision,
        audit: { ...AUDIT, runUrl: `${AUDIT.runUrl}/attempts/2` },
      });
      expect(again.r.result, again.logger.text()).toBe('success');
      expect(again.logger.text()).not.toMatch(/group: Build and push/);
      expect(again.logger.text()).toMatch(/exists already .*not built again/);
      expect(again.r.digest).toBe(first.r.digest);
      expect(again.r.applied).toEqual([`Deployment/${ns}/web (unchanged)`]);
      expect(kube.requestLog.filter((x) => x.method === 'PATCH' && !/dryRun/.test(x.path))).toEqual([]);

      // rebuild: true, on an empty builder store: built again, and the same digest (reproducible).
      await buildah.fresh(); // a cold store, as on a new CI runner
      const rebuilt = await h.deploy(inputs(ns, file, { rebuild: 'true' }), { revision });
      expect(rebuilt.r.result, rebuilt.logger.text()).toBe('success');
      expect(rebuilt.logger.text()).toMatch(/group: Build and push/);
      expect(rebuilt.r.digest).toBe(first.r.digest);
      expect(revisionOf()).toBe(before);
    });

    it('a moving tag built from another commit is built again', async () => {
      const ns = await h.namespace('moving');
      const file = await h.write([deploymentManifest('web', `${reg.host}/reuse/app:dev`)]);
      const first = await h.deploy(inputs(ns, file, { tag: 'latest' }), { revision: 'a'.repeat(40) });
      expect(first.r.result, first.logger.text()).toBe('success');
      const second = await h.deploy(inputs(ns, file, { tag: 'latest' }), { revision });
      expect(second.r.result, second.logger.text()).toBe('success');
      expect(second.logger.text()).toMatch(/built from revision a{40}, not [0-9a-f]{40}: building it again/);
      expect(second.logger.text()).toMatch(/group: Build and push/);
    });

    it('a namespace created with create-namespace during a build is applied whole: the next run leaves it unchanged', async () => {
      const ns = `made-${Date.now().toString(36)}`;
      const file = await h.write([deploymentManifest('web', `${reg.host}/reuse/app:dev`)]);
      const tag = `ns-${Date.now()}`;
      const first = await h.deploy(inputs(ns, file, { 'create-namespace': 'true', tag }), { revision });
      expect(first.r.result, first.logger.text()).toBe('success');
      const live = kube.get('v1', 'Namespace', undefined, ns)!;
      expect(live.metadata.annotations?.['commit-to-cloud.dev/commit']).toBe(AUDIT.commit);
      const again = await h.deploy(inputs(ns, file, { 'create-namespace': 'true', tag }), { revision });
      expect(again.r.applied).toContain(`Namespace/${ns} (unchanged)`);
    });
  },
);
