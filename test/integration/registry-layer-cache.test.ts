import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HASH_BASE_INPUTS, parseHashBaseInputs, type HashBaseRaw } from '../../src/baseimage/inputs.js';
import { runHashBase } from '../../src/baseimage/run.js';
import { closeHttpAgents } from '../../src/core/http.js';
import { memoryLogger, nullLogger } from '../../src/core/logger.js';
import { connectRegistry, type Registry } from '../../src/registry/index.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { makeRootImage } from '../helpers/base-image.js';
import { useBuildahStore } from '../helpers/use-buildah-store.js';
import { deployHarness, type DeployHarness } from '../helpers/deploy-harness.js';
import { commitAll, git } from '../helpers/git.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { haveTools } from '../helpers/tools.js';

/**
 * Issue 14 item 2: a layer cache in the registry (`cache: registry`, the default). Every build here
 * starts on an empty builder store, as on a fresh runner. The slow step writes random bytes, so
 * its layer is the same in two images only when the second build did not run it.
 */
describe.skipIf(!haveTools('docker-registry', 'buildah', 'busybox', 'git'))(
  'the registry layer cache: a cold builder, a warm cache',
  () => {
    let reg: RegistryServer;
    let kube: KubeFake;
    let h: DeployHarness;
    let client: Registry;
    let root: string;
    const buildah = useBuildahStore('layer-cache');

    const SLOW = 'RUN sleep 1 && head -c 32 /dev/urandom | od -An -tx1 > /slow.txt';

    beforeAll(async () => {
      [reg, kube] = await Promise.all([startRegistry(), startKubeFake({ readyDelayMs: 20, tickMs: 50 })]);
      await buildah.fresh(); // a cold store, as on a new CI runner
      root = await makeRootImage(reg.host, 'cache/root');
      h = await deployHarness(kube.kubeconfig);
      await mkdir(path.join(h.ws, 'app'));
      await writeFile(
        path.join(h.ws, 'app/Dockerfile'),
        `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nCOPY deps.txt /deps.txt\n${SLOW}\nCOPY app.txt /app.txt\n`,
      );
      await writeFile(path.join(h.ws, 'app/deps.txt'), 'deps 1\n');
      await writeFile(path.join(h.ws, 'app/app.txt'), 'app 1\n');
      await writeFile(
        path.join(h.ws, 'Dockerfile.base'),
        `ARG ROOT\nFROM \${ROOT}\n${SLOW}\nCOPY package.json /package.json\n`,
      );
      await writeFile(path.join(h.ws, 'package.json'), '{"dependencies":{"a":"1.0.0"}}\n');
      commitAll(h.ws, 'one');
      client = await connectRegistry(reg.host, { logger: nullLogger });
    });
    afterAll(async () => {
      await Promise.all([reg?.stop(), kube?.stop(), h?.close()]);
      closeHttpAgents();
    });

    /** The layers (uncompressed digests) of repository@digest, bottom first. */
    async function layersOf(repository: string, digest: string): Promise<string[]> {
      const { config } = await client.imageConfig(repository, digest);
      return (config.rootfs as { diff_ids: string[] }).diff_ids;
    }

    /** A new commit that changes `file` only. */
    async function change(file: string, content: string) {
      await writeFile(path.join(h.ws, file), content);
      git(h.ws, 'commit', '-qam', `change ${file}`);
      return git(h.ws, 'rev-parse', 'HEAD');
    }

    it('deploy: the next commit on a fresh runner takes the slow step from the cache; with cache: none it runs again', async () => {
      const ns = await h.namespace('cache');
      const file = await h.write([deploymentManifest('web', `${reg.host}/cache/app:dev`)]);
      const deploy = async (revision: string, extra: Record<string, string> = {}) => {
        await buildah.fresh(); // a cold store, as on a new CI runner
        const { r, logger } = await h.deploy(
          {
            manifests: file,
            namespace: ns,
            'build-context': 'app',
            image: `${reg.host}/cache/app`,
            'base-image': root,
            builder: 'buildah',
            // The harness's commit is fixed; each revision gets a tag of its own.
            tag: `rev-${revision.slice(0, 12)}`,
            ...extra,
          },
          { revision },
        );
        expect(r.result, logger.text()).toBe('success');
        return { layers: await layersOf('cache/app', r.digest!), log: logger.text() };
      };
      const first = await deploy(git(h.ws, 'rev-parse', 'HEAD'));
      // The cache lives next to the image, one tag per cached step.
      expect((await client.listTags('cache/app-cache')).length).toBeGreaterThanOrEqual(3);

      const second = await deploy(await change('app/app.txt', 'app 2\n'));
      expect(second.log).toMatch(/RUN sleep 1[\s\S]*Cache pulled from remote .*cache\/app-cache/);
      const slow = first.layers.length - 2; // FROM's layers, deps.txt, slow, app.txt
      expect(second.layers.slice(0, slow + 1)).toEqual(first.layers.slice(0, slow + 1));
      expect(second.layers.at(-1)).not.toBe(first.layers.at(-1));

      const third = await deploy(await change('app/app.txt', 'app 3\n'), { cache: 'none' });
      expect(third.log).not.toMatch(/Cache pulled from remote/);
      expect(third.layers[slow]).not.toBe(first.layers[slow]);
    });

    it('hash-base: a base rebuilt after a dependency change reuses the steps before it', async () => {
      const raw = (over: Partial<HashBaseRaw>) =>
        ({
          ...Object.fromEntries(
            Object.entries(HASH_BASE_INPUTS).map(([k, v]) => [k, 'default' in v ? v.default : '']),
          ),
          files: 'package.json',
          image: `${reg.host}/cache/base`,
          'build-args': `ROOT=${root}`,
          build: 'true',
          builder: 'buildah',
          ...over,
        }) as HashBaseRaw;
      const build = async () => {
        await buildah.fresh(); // a cold store, as on a new CI runner
        const logger = memoryLogger();
        const r = await runHashBase(parseHashBaseInputs(raw({}), h.ws), { logger, manifestDir: h.ws });
        expect(r.built, logger.text()).toBe(true);
        return { layers: await layersOf('cache/base', r.digest!), log: logger.text() };
      };
      const first = await build();
      await change('package.json', '{"dependencies":{"a":"2.0.0"}}\n');
      const second = await build();
      expect(second.log).toMatch(/Cache pulled from remote .*cache\/base-cache/);
      const slow = first.layers.length - 2;
      expect(second.layers[slow]).toBe(first.layers[slow]);
      expect(second.layers.at(-1)).not.toBe(first.layers.at(-1));
    });
  },
);
