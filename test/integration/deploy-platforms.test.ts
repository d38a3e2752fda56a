import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpAgents } from '../../src/core/http.js';
import { nullLogger } from '../../src/core/logger.js';
import { connectRegistry, isIndexMediaType, type Registry } from '../../src/registry/index.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { useBuildahStore } from '../helpers/use-buildah-store.js';
import { COMMIT, deployHarness, type DeployHarness } from '../helpers/deploy-harness.js';
import { commitAll } from '../helpers/git.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { haveTools } from '../helpers/tools.js';

/**
 * Issue 14 item 3: app images for several platforms (e.g. Graviton node groups beside amd64): one
 * build pushes one image index, and the manifests are pinned to the index digest. A Dockerfile that
 * needs no emulation (FROM scratch + COPY) builds for both platforms on this machine.
 */
describe.skipIf(!haveTools('docker-registry', 'buildah', 'git'))(
  'platforms: one image index per build',
  () => {
    let reg: RegistryServer;
    let kube: KubeFake;
    let h: DeployHarness;
    let client: Registry;
    useBuildahStore('platforms');

    beforeAll(async () => {
      [reg, kube] = await Promise.all([startRegistry(), startKubeFake({ readyDelayMs: 20, tickMs: 50 })]);
      h = await deployHarness(kube.kubeconfig);
      for (const dir of ['app', 'services/api', 'services/web']) {
        await mkdir(path.join(h.ws, dir), { recursive: true });
        await writeFile(path.join(h.ws, dir, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
        await writeFile(path.join(h.ws, dir, 'hello.txt'), `hello from ${dir}\n`);
      }
      commitAll(h.ws, 'apps');
      client = await connectRegistry(reg.host, { logger: nullLogger });
    });
    afterAll(async () => {
      await Promise.all([reg?.stop(), kube?.stop(), h?.close()]);
      closeHttpAgents();
    });

    /** The platforms of the index at repository@digest, and each one's image architecture. */
    async function platformsOf(repository: string, digest: string) {
      const { info, json } = await client.getManifest(repository, digest);
      expect(isIndexMediaType(info.mediaType)).toBe(true);
      const entries = json.manifests as Array<{
        digest: string;
        platform: { os: string; architecture: string };
      }>;
      const out: string[] = [];
      for (const e of entries) {
        const { config } = await client.imageConfig(repository, e.digest);
        // The image under each entry is really built for that platform.
        expect(`${String(config.os)}/${String(config.architecture)}`).toBe(
          `${e.platform.os}/${e.platform.architecture}`,
        );
        out.push(`${e.platform.os}/${e.platform.architecture}`);
      }
      return out.sort();
    }

    it('build-context: one index for linux/amd64 and linux/arm64, the Deployment pinned to its digest; a rebuild pushes nothing', async () => {
      const ns = await h.namespace('plat');
      const file = await h.write([deploymentManifest('web', `${reg.host}/plat/app:dev`)]);
      const inputs = (extra: Record<string, string> = {}) => ({
        manifests: file,
        namespace: ns,
        'build-context': 'app',
        image: `${reg.host}/plat/app`,
        builder: 'buildah',
        platforms: 'linux/amd64,linux/arm64',
        ...extra,
      });
      const first = await h.deploy(inputs());
      expect(first.r.result, first.logger.text()).toBe('success');
      const index = first.r.digest!;
      expect(await platformsOf('plat/app', index)).toEqual(['linux/amd64', 'linux/arm64']);
      expect((await client.head('plat/app', `sha-${COMMIT.slice(0, 12)}`))!.digest).toBe(index);
      const live = kube.get('apps/v1', 'Deployment', ns, 'web')!;
      expect(live.spec.template.spec.containers[0].image).toBe(`${reg.host}/plat/app@${index}`);

      // A forced rebuild makes the same two images (the commit's time): nothing pushed, same index.
      const again = await h.deploy(inputs({ rebuild: 'true' }));
      expect(again.r.result, again.logger.text()).toBe('success');
      expect(again.logger.text()).toMatch(/not pushing .*: the registry has it already/);
      expect(again.r.digest).toBe(index);

      // One more platform under the same content tag: refused before anything is built or applied.
      const more = await h
        .deploy(inputs({ platforms: 'linux/amd64,linux/arm64,linux/arm/v7' }))
        .catch((e: Error) => e);
      expect((more as Error).message).toMatch(
        /exists, but not for linux\/arm\/v7, and a content tag is never moved/,
      );
      expect(kube.get('apps/v1', 'Deployment', ns, 'web')!.spec.template.spec.containers[0].image).toBe(
        `${reg.host}/plat/app@${index}`,
      );
    });

    it('services: each service one index; the platforms are part of the content tag', async () => {
      const ns = await h.namespace('platsvc');
      const file = await h.write([
        deploymentManifest('api', `${reg.host}/plat/shop-api:dev`),
        deploymentManifest('web', `${reg.host}/plat/shop-web:dev`),
      ]);
      const inputs = (platforms: string) => ({
        manifests: file,
        namespace: ns,
        services: 'services/*',
        image: `${reg.host}/plat/shop-{service}`,
        builder: 'buildah',
        platforms,
      });
      const one = await h.deploy(inputs(''));
      expect(one.r.result, one.logger.text()).toBe('success');
      const two = await h.deploy(inputs('linux/arm64\nlinux/amd64'));
      expect(two.r.result, two.logger.text()).toBe('success');
      expect(two.r.builds!.map((b) => b.built)).toEqual([true, true]);
      for (const b of two.r.builds!) {
        const [repo, digest] = b.image.slice(reg.host.length + 1).split('@') as [string, string];
        expect(await platformsOf(repo, digest)).toEqual(['linux/amd64', 'linux/arm64']);
        expect(one.r.builds!.find((o) => o.name === b.name)!.image).not.toBe(b.image);
        const name = b.name;
        expect(kube.get('apps/v1', 'Deployment', ns, name)!.spec.template.spec.containers[0].image).toBe(
          b.image,
        );
      }
      // The same platforms in another order are the same content: reused.
      const three = await h.deploy(inputs('linux/amd64,linux/arm64'));
      expect(three.r.builds!.map((b) => b.built)).toEqual([false, false]);
    });

    it('an unknown platform is one clear error naming the input, and nothing runs', async () => {
      const file = await h.write([deploymentManifest('web', `${reg.host}/plat/app:dev`)]);
      const err = await h
        .deploy({
          manifests: file,
          'build-context': 'app',
          image: `${reg.host}/plat/app`,
          platforms: 'linux/amd46',
        })
        .catch((e: Error) => e);
      expect((err as Error).message).toBe(
        "Input 'platforms': 'linux/amd46': 'amd46' is not a known architecture. Expected one of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64.",
      );
    });
  },
);
