import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpAgents } from '../../src/core/http.js';
import { deployOutputs } from '../../src/deploy/inputs.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { makeRootImage } from '../helpers/base-image.js';
import { useBuildahStore } from '../helpers/use-buildah-store.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { haveTools } from '../helpers/tools.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { deployHarness, type DeployHarness } from '../helpers/deploy-harness.js';

/**
 * Issue 14 item 1: `services` builds only the services whose content hash has no image yet, in
 * parallel, then deploys the whole set in one apply; a failed build applies nothing.
 */
describe.skipIf(!haveTools('docker-registry', 'buildah', 'busybox'))(
  'services: many services in one step',
  () => {
    let kube: KubeFake;
    let reg: RegistryServer;
    let h: DeployHarness;
    let root: string;
    useBuildahStore('services');
    const NAMES = ['api', 'web', 'worker'];

    async function service(dir: string, dockerfile: string | undefined, text = `${dir}\n`) {
      await mkdir(path.join(h.ws, dir), { recursive: true });
      if (dockerfile !== undefined) await writeFile(path.join(h.ws, dir, 'Dockerfile'), dockerfile);
      await writeFile(path.join(h.ws, dir, 'hello.txt'), text);
    }
    const DOCKERFILE = 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY hello.txt /srv/hello.txt\n';

    beforeAll(async () => {
      [kube, reg] = await Promise.all([startKubeFake({ readyDelayMs: 20, tickMs: 50 }), startRegistry()]);
      root = await makeRootImage(reg.host, 'svc/root');
      h = await deployHarness(kube.kubeconfig);
      for (const n of NAMES) await service(`services/${n}`, DOCKERFILE);
      // A directory of the glob without a Dockerfile is not a service.
      await service('services/shared', undefined);
    });
    afterAll(async () => {
      await Promise.all([kube?.stop(), reg?.stop(), h?.close()]);
      closeHttpAgents();
    });

    const inputs = (ns: string, file: string, extra: Record<string, string> = {}) => ({
      manifests: file,
      namespace: ns,
      services: 'services/*',
      image: `${reg.host}/svc/shop-{service}`,
      'base-image': root,
      builder: 'buildah',
      parallel: '2',
      ...extra,
    });
    const manifests = () => h.write(NAMES.map((n) => deploymentManifest(n, `${reg.host}/svc/shop-${n}:dev`)));

    it('builds the changed services only, and deploys the whole set in one step', async () => {
      const ns = await h.namespace('svc');
      const file = await manifests();
      const first = await h.deploy(inputs(ns, file));
      expect(first.r.result, first.logger.text()).toBe('success');
      expect(first.r.builds.map((b) => [b.name, b.built])).toEqual(NAMES.map((n) => [n, true]));
      const out = deployOutputs(first.r);
      const images = JSON.parse(out.images) as Record<string, string>;
      expect(Object.keys(images)).toEqual(NAMES);
      for (const n of NAMES) {
        expect(images[n]).toMatch(new RegExp(`^${reg.host}/svc/shop-${n}@sha256:[0-9a-f]{64}$`));
        // Pinned to the digest it was pushed with.
        const live = kube.get('apps/v1', 'Deployment', ns, n)!;
        expect(live.spec.template.spec.containers[0].image).toBe(images[n]);
      }
      expect(out.built.split('\n')).toEqual(NAMES);
      expect(out.reused).toBe('');
      // Tagged by content: src-<16 hex>.
      const tags = (await (await fetch(`${reg.url}/v2/svc/shop-api/tags/list`)).json()) as { tags: string[] };
      expect(tags.tags).toEqual([expect.stringMatching(/^src-[0-9a-f]{16}$/)]);

      // Nothing changed: nothing built, nothing written.
      kube.resetRequestLog();
      const again = await h.deploy(inputs(ns, file));
      expect(again.r.result, again.logger.text()).toBe('success');
      expect(again.logger.text()).not.toMatch(/group: Build and push/);
      expect(deployOutputs(again.r).built).toBe('');
      expect(deployOutputs(again.r).reused.split('\n')).toEqual(NAMES);
      expect(deployOutputs(again.r).images).toBe(out.images);
      expect(kube.requestLog.filter((x) => x.method === 'PATCH' && !/dryRun/.test(x.path))).toEqual([]);

      // One service changed: that one is built, the others reused; one apply for the set.
      await writeFile(path.join(h.ws, 'services/web/hello.txt'), 'web, changed\n');
      const third = await h.deploy(inputs(ns, file));
      expect(third.r.result, third.logger.text()).toBe('success');
      expect(third.r.builds.filter((b) => b.built).map((b) => b.name)).toEqual(['web']);
      const after = JSON.parse(deployOutputs(third.r).images) as Record<string, string>;
      expect(after.web).not.toBe(images.web);
      expect(after.api).toBe(images.api);
      expect(third.r.applied).toEqual([
        `Deployment/${ns}/api (unchanged)`,
        `Deployment/${ns}/web`,
        `Deployment/${ns}/worker (unchanged)`,
      ]);
    });

    it("push-to (a pull request's run): a changed service is pushed there, never to `image`; an unchanged one runs main's image; the next run finds its own", async () => {
      const ns = await h.namespace('svc');
      const file = await manifests();
      // main's deploy: every service in shop-<service>.
      const main = await h.deploy(inputs(ns, file));
      expect(main.r.result, main.logger.text()).toBe('success');
      const mainImages = JSON.parse(deployOutputs(main.r).images) as Record<string, string>;
      const tagsOf = async (repo: string) =>
        ((await (await fetch(`${reg.url}/v2/${repo}/tags/list`)).json()) as { tags: string[] | null }).tags ??
        [];
      const before = await tagsOf('svc/shop-web');

      // A pull request changes web, and pushes to pr-<service>.
      await service('services/web', DOCKERFILE, 'web, changed on a branch\n');
      try {
        const pr = await h.deploy(inputs(ns, file, { 'push-to': `${reg.host}/svc/pr-{service}` }));
        expect(pr.r.result, pr.logger.text()).toBe('success');
        const out = deployOutputs(pr.r);
        expect(out.built).toBe('web');
        const images = JSON.parse(out.images) as Record<string, string>;
        expect(images.web).toMatch(new RegExp(`^${reg.host}/svc/pr-web@sha256:[0-9a-f]{64}$`));
        expect(images.api).toBe(mainImages.api);
        expect(images.worker).toBe(mainImages.worker);
        expect(kube.get('apps/v1', 'Deployment', ns, 'web')!.spec.template.spec.containers[0].image).toBe(
          images.web,
        );
        expect(kube.get('apps/v1', 'Deployment', ns, 'api')!.spec.template.spec.containers[0].image).toBe(
          mainImages.api,
        );
        // main's repository got nothing from the pull request.
        expect(await tagsOf('svc/shop-web')).toEqual(before);
        expect(await tagsOf('svc/pr-api')).toEqual([]);

        // The pull request's next run finds the image it pushed, in its own repository.
        const again = await h.deploy(inputs(ns, file, { 'push-to': `${reg.host}/svc/pr-{service}` }));
        expect(deployOutputs(again.r).built).toBe('');
        expect((JSON.parse(deployOutputs(again.r).images) as Record<string, string>).web).toBe(images.web);
      } finally {
        await service('services/web', DOCKERFILE);
      }
    });

    it('a build that fails names its service and applies nothing', async () => {
      await service('broken/ok', DOCKERFILE, 'ok\n');
      await service('broken/bad', 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo the-bad-step-ran && false\n');
      const ns = await h.namespace('broken');
      const file = await h.write(
        ['ok', 'bad'].map((n) => deploymentManifest(n, `${reg.host}/svc/broken-${n}:dev`)),
      );
      const err = await h
        .deploy(inputs(ns, file, { services: 'broken/*', image: `${reg.host}/svc/broken-{service}` }))
        .catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/1 of 2 image\(s\) failed to build; nothing was applied/);
      expect((err as Error).message).toMatch(/service 'bad'/);
      // With the end of its build's log.
      expect((err as Error).message).toMatch(/the-bad-step-ran/);
      expect((err as Error).message).not.toMatch(/service 'ok'/);
      expect(kube.get('apps/v1', 'Deployment', ns, 'ok')).toBeUndefined();
      expect(kube.get('apps/v1', 'Deployment', ns, 'bad')).toBeUndefined();
    });

    it('bad input: one error naming the input, before any build or write', async () => {
      await service('dup/a/x', DOCKERFILE);
      await service('dup/b/x', DOCKERFILE);
      await service('nodocker/svc', undefined);
      await service('caps/Big', DOCKERFILE);
      const ns = await h.namespace('bad');
      const file = await manifests();
      const cases: Array<[Record<string, string>, RegExp]> = [
        [
          { services: 'nowhere/*' },
          /Input 'services': 'nowhere\/\*' matches no directory holding Dockerfile/,
        ],
        [
          { services: 'nodocker/svc' },
          /Input 'services': the service 'svc' \('nodocker\/svc'\) has no Dockerfile/,
        ],
        [{ services: 'dup/*/x' }, /Input 'services': two services are named 'x': dup\/a\/x and dup\/b\/x/],
        [
          { image: `${reg.host}/svc/shop` },
          /Input 'image': .* has no \{service\}, but 'services' gives 3 services/,
        ],
        [
          { services: 'caps/*', image: `${reg.host}/svc/{service}` },
          /Input 'image': gives '.*\/svc\/Big' for the service 'Big', which is not a valid repository/,
        ],
        [{ 'build-context': 'services/api' }, /Input 'services': and 'build-context' are both set/],
        [{ 'push-to': `${reg.host}/svc/{service}-Caps` }, /Input 'push-to'/],
        [
          { services: 'services/api\nbroken/ok' },
          /Input 'services': the service 'ok' is pushed to '.*\/svc\/shop-ok', the repository of no container/,
        ],
      ];
      for (const [extra, message] of cases) {
        kube.resetRequestLog();
        const err = await h.deploy(inputs(ns, file, extra)).catch((e: unknown) => e as Error);
        expect(err, JSON.stringify(extra)).toBeInstanceOf(Error);
        expect((err as Error).message, JSON.stringify(extra)).toMatch(message);
        expect(kube.requestLog, JSON.stringify(extra)).toEqual([]);
      }
    });
  },
);
