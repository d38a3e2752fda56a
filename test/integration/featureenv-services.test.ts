import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { makeRootImage } from '../helpers/base-image.js';
import { useBuildahStore } from '../helpers/use-buildah-store.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { haveTools } from '../helpers/tools.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { runFe, type PrEvent } from '../helpers/feature-env.js';

/**
 * Issue 14 item 1 in a feature environment: `services` builds the services a pull request changed
 * (the others are found under their content tag) and the environment runs the whole set, each
 * container pinned to its service's image.
 */
describe.skipIf(!haveTools('docker-registry', 'buildah', 'busybox'))(
  'feature environments with services (Kubernetes fake, real registry and buildah)',
  () => {
    let kube: KubeFake;
    let gh: GitHubFake;
    let reg: RegistryServer;
    let ws: string;
    let root: string;
    useBuildahStore('fe-services');

    beforeAll(async () => {
      [kube, gh, reg] = await Promise.all([
        startKubeFake({ readyDelayMs: 20, tickMs: 50 }),
        startGitHubFake({ owner: 'acme', repo: 'shop' }),
        startRegistry(),
      ]);
      gh.collaborators.set('maintainer', 'write');
      root = await makeRootImage(reg.host, 'fesvc/root');
      ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-fe-services-'));
      await mkdir(path.join(ws, 'k8s'));
      for (const n of ['api', 'web']) {
        await mkdir(path.join(ws, 'services', n), { recursive: true });
        await writeFile(
          path.join(ws, 'services', n, 'Dockerfile'),
          'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY hello.txt /srv/hello.txt\n',
        );
        await writeFile(path.join(ws, 'services', n, 'hello.txt'), `${n}\n`);
        await writeFile(
          path.join(ws, 'k8s', `${n}.yaml`),
          stringify(deploymentManifest(n, `${reg.host}/fesvc/shop-${n}:main`)),
        );
      }
    });
    afterAll(async () => {
      await Promise.all([kube?.stop(), gh?.stop(), reg?.stop()]);
      if (ws) await rm(ws, { recursive: true, force: true });
      closeHttpAgents();
    });

    it('up builds every service once; a push that changes one service builds that one only', async () => {
      const number = 901;
      const sha = `${number}`.padStart(40, 'a');
      gh.addPullRequest({ number, headSha: sha });
      gh.label(number, 'feature-env', 'maintainer');
      const event = (action: PrEvent['action'], s: string): PrEvent => ({
        action,
        number,
        label: 'feature-env',
        labels: ['feature-env'],
        sha: s,
      });
      const inputs = {
        manifests: 'k8s/',
        services: 'services/*',
        image: `${reg.host}/fesvc/shop-{service}`,
        'base-image': root,
        builder: 'buildah',
        timeout: '30s',
        kubeconfig: kube.kubeconfig,
      };
      const up = await runFe(gh, event('labeled', sha), inputs, { workspace: ws });
      expect(up.r.status, up.logger.text()).toBe('up');
      const images = (ns: string) =>
        Object.fromEntries(
          ['api', 'web'].map((n) => [
            n,
            kube.get('apps/v1', 'Deployment', ns, n)!.spec.template.spec.containers[0].image as string,
          ]),
        );
      const first = images(up.r.namespace);
      for (const n of ['api', 'web'])
        expect(first[n]).toMatch(new RegExp(`^${reg.host}/fesvc/shop-${n}@sha256:[0-9a-f]{64}$`));
      expect(up.logger.text()).toMatch(/Build and push 2 images/);

      await writeFile(path.join(ws, 'services/web/hello.txt'), 'web, changed\n');
      const sha2 = `${number}`.padStart(40, 'b');
      const again = await runFe(gh, event('synchronize', sha2), inputs, { workspace: ws });
      expect(again.r.status, again.logger.text()).toBe('updated');
      const second = images(again.r.namespace);
      expect(second.api).toBe(first.api);
      expect(second.web).not.toBe(first.web);
      expect(again.logger.text()).toMatch(/shop-api:src-[0-9a-f]{16} exists already/);
      expect(again.logger.text()).toMatch(/group: Build and push .*shop-web:src-[0-9a-f]{16}/);
    });
  },
);
