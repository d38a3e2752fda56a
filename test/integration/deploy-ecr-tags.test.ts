import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpAgents } from '../../src/core/http.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { startEcrFake, type EcrFake } from '../fakes/ecr.js';
import { makeRootImage } from '../helpers/base-image.js';
import { privateBuildahStore } from '../helpers/buildah-store.js';
import { haveTools } from '../helpers/tools.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { deployHarness, type DeployHarness } from '../helpers/deploy-harness.js';

/**
 * Issue 14 item 4: the ECR repositories a deploy creates keep content-addressed tags from moving.
 * A service's repository (src-<hash>) and a build-context one with the default sha-<commit> tag are
 * IMMUTABLE; a `tag` the user chose (latest) stays movable, as the one exclusion.
 */
describe.skipIf(!haveTools('docker-registry', 'buildah', 'busybox'))(
  'deploy to ECR: repositories created with immutable tags',
  () => {
    let kube: KubeFake;
    let ecr: EcrFake;
    let h: DeployHarness;
    let root: string;
    let store: { remove(): Promise<void> } | undefined;
    const saved = { ...process.env };

    beforeAll(async () => {
      [kube, ecr] = await Promise.all([startKubeFake({ readyDelayMs: 20, tickMs: 50 }), startEcrFake()]);
      Object.assign(process.env, ecr.env);
      root = await makeRootImage(ecr.endpoint.host, 'tags/root', {
        username: ecr.registry.username!,
        password: ecr.registry.password!,
      });
      const s = await privateBuildahStore('ecr-tags');
      store = s;
      Object.assign(process.env, s.env);
      h = await deployHarness(kube.kubeconfig);
      await mkdir(path.join(h.ws, 'services/api'), { recursive: true });
      await writeFile(
        path.join(h.ws, 'services/api/Dockerfile'),
        'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY a.txt /a.txt\n',
      );
      await writeFile(path.join(h.ws, 'services/api/a.txt'), 'a\n');
    });
    afterAll(async () => {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      await Promise.all([kube?.stop(), ecr?.stop(), h?.close(), store?.remove()]);
      closeHttpAgents();
    });

    it('services and the default tag: IMMUTABLE; a tag of the user: IMMUTABLE_WITH_EXCLUSION of that tag; the layer cache: MUTABLE', async () => {
      const ns = await h.namespace('tags');
      const svc = await h.write([deploymentManifest('api', `${ecr.host}/tags/shop-api:dev`)]);
      const bySvc = await h.deploy({
        manifests: svc,
        namespace: ns,
        services: 'services/api',
        image: `${ecr.host}/tags/shop-{service}`,
        'base-image': root,
        builder: 'buildah',
      });
      expect(bySvc.r.result, bySvc.logger.text()).toBe('success');
      expect(ecr.repositories.get('tags/shop-api')!.imageTagMutability).toBe('IMMUTABLE');
      // The layer cache next to it (cache: registry, the default): every build may push its step keys again.
      expect(ecr.repositories.get('tags/shop-api-cache')!.imageTagMutability).toBe('MUTABLE');
      expect(bySvc.logger.text()).toMatch(/Pushing cache .*tags\/shop-api-cache:/);

      const one = await h.write([deploymentManifest('one', `${ecr.host}/tags/one:dev`)]);
      const base = {
        manifests: one,
        namespace: ns,
        'build-context': 'services/api',
        'base-image': root,
        builder: 'buildah',
      };
      const byCommit = await h.deploy({ ...base, image: `${ecr.host}/tags/one` });
      expect(byCommit.r.result, byCommit.logger.text()).toBe('success');
      expect(ecr.repositories.get('tags/one')!.imageTagMutability).toBe('IMMUTABLE');

      const latest = await h.write([deploymentManifest('two', `${ecr.host}/tags/two:dev`)]);
      const moving = await h.deploy({
        ...base,
        manifests: latest,
        image: `${ecr.host}/tags/two`,
        tag: 'latest',
      });
      expect(moving.r.result, moving.logger.text()).toBe('success');
      expect(ecr.repositories.get('tags/two')).toMatchObject({
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }],
      });
    });
  },
);
