import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAndPush, TagHeldError, type TagHolding } from '../../src/builder/index.js';
import { closeHttpAgents } from '../../src/core/http.js';
import { memoryLogger, nullLogger } from '../../src/core/logger.js';
import { connectRegistry, tagHolding, type Registry } from '../../src/registry/index.js';
import { startEcrFake, type EcrFake } from '../fakes/ecr.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { commitAll } from '../helpers/git.js';
import { useBuildahStore } from '../helpers/use-buildah-store.js';
import { COMMIT, deployHarness, type DeployHarness } from '../helpers/deploy-harness.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { haveTools } from '../helpers/tools.js';

/**
 * Issue 14 item 4: a content tag (sha-…, src-…, deps-…) is never moved. The same image again is
 * success without a push; another image under it is an error naming both, the tag untouched; and
 * a registry that keeps tags itself (ECR IMMUTABLE, its TAG_INVALID refusal) is asked the same way.
 */
describe.skipIf(!haveTools('docker-registry', 'buildah', 'git'))('content tags are never moved', () => {
  let reg: RegistryServer;
  let kube: KubeFake;
  let h: DeployHarness;
  let ecr: EcrFake;
  let src: string;
  useBuildahStore('immutable');

  beforeAll(async () => {
    [reg, kube, ecr] = await Promise.all([
      startRegistry(),
      startKubeFake({ readyDelayMs: 20, tickMs: 50 }),
      startEcrFake(),
    ]);
    h = await deployHarness(kube.kubeconfig);
    await mkdir(path.join(h.ws, 'app'));
    await writeFile(path.join(h.ws, 'app/Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    await writeFile(path.join(h.ws, 'app/hello.txt'), 'hello\n');
    commitAll(h.ws, 'app');
    // Another image's context: what a foreign push puts under a tag.
    src = await mkdtemp(path.join(os.tmpdir(), 'c2c-other-'));
    await writeFile(path.join(src, 'Dockerfile'), 'FROM scratch\nCOPY other.txt /other.txt\n');
    await writeFile(path.join(src, 'other.txt'), `other ${Date.now()}\n`);
  });
  afterAll(async () => {
    await Promise.all([reg?.stop(), kube?.stop(), ecr?.stop(), h?.close()]);
    closeHttpAgents();
  });

  /** Pushes the other image under `ref` the way any tool would: moving the tag. */
  async function pushOther(ref: string, targets: Parameters<typeof buildAndPush>[0]['targets']) {
    return (
      await buildAndPush(
        { context: src, dockerfile: path.join(src, 'Dockerfile'), tags: [ref], targets, logger: nullLogger },
        'buildah',
      )
    ).digest;
  }

  it('deploy: a rebuild of the same content pushes nothing; another image under the tag fails naming both', async () => {
    const ns = await h.namespace('imm');
    const file = await h.write([deploymentManifest('web', `${reg.host}/imm/app:dev`)]);
    const inputs = (extra: Record<string, string> = {}) => ({
      manifests: file,
      namespace: ns,
      'build-context': 'app',
      image: `${reg.host}/imm/app`,
      builder: 'buildah',
      ...extra,
    });
    const first = await h.deploy(inputs());
    expect(first.r.result, first.logger.text()).toBe('success');
    const tag = `sha-${COMMIT.slice(0, 12)}`;

    // The same content again, forced: the registry has this very image, so no push.
    const same = await h.deploy(inputs({ rebuild: 'true' }));
    expect(same.r.result, same.logger.text()).toBe('success');
    expect(same.logger.text()).toMatch(/not pushing .*imm\/app:sha-.*: the registry has it already/);
    expect(same.r.digest).toBe(first.r.digest);

    // Someone moves the tag to another image; a forced rebuild must not move it back.
    const other = await pushOther(`${reg.host}/imm/app:${tag}`, [{ host: reg.host, insecure: true }]);
    expect(other).not.toBe(first.r.digest);
    const err = await h.deploy(inputs({ rebuild: 'true' })).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`already holds another image: ${other}`);
    expect((err as Error).message).toMatch(/this build made image sha256:[0-9a-f]{64}/);
    const client = await connectRegistry(reg.host, { logger: nullLogger });
    expect((await client.head('imm/app', tag))!.digest).toBe(other);
    // Nothing applied: the Deployment still runs the first image.
    const live = kube.get('apps/v1', 'Deployment', ns, 'web')!;
    expect(live.spec.template.spec.containers[0].image).toContain(first.r.digest!);
  });

  describe('with ECR keeping the tag (IMMUTABLE): the race of two runs', () => {
    let client: Registry;
    const targets = () => [
      { host: ecr.endpoint.host, insecure: true, username: 'AWS', password: ecr.registry.password! },
    ];
    beforeAll(async () => {
      ecr.repositories.set('race/app', { createdAt: 0, imageTagMutability: 'IMMUTABLE' });
      client = await connectRegistry(ecr.endpoint.host, {
        username: 'AWS',
        password: ecr.registry.password!,
        logger: nullLogger,
      });
    });

    /**
     * Builds app/ under `tag` as a run that checked the tag before the other run pushed it: the
     * first question finds nothing, so the push itself meets ECR's refusal.
     */
    function buildLate(tag: string, whenHeld: 'fail' | 'use') {
      let asked = 0;
      const logger = memoryLogger();
      const ref = `${ecr.endpoint.host}/race/app:${tag}`;
      const holding = async (): Promise<TagHolding | undefined> =>
        asked++ === 0 ? undefined : tagHolding(client, 'race/app', tag);
      return {
        logger,
        run: () =>
          buildAndPush(
            {
              context: path.join(h.ws, 'app'),
              dockerfile: path.join(h.ws, 'app/Dockerfile'),
              tags: [ref],
              immutableTags: [ref],
              holding,
              whenHeld,
              timestamp: 1767322800,
              targets: targets(),
              logger,
            },
            'buildah',
          ),
      };
    }

    it('ECR refuses another digest under the tag (TAG_INVALID); the run that lost fails naming both, the tag keeps the winner', async () => {
      const winner = await pushOther(`${ecr.endpoint.host}/race/app:src-1`, targets());
      const late = buildLate('src-1', 'fail');
      const err = await late.run().catch((e: Error) => e);
      expect(err).toBeInstanceOf(TagHeldError);
      expect((err as Error).message).toContain(`already holds another image: ${winner}`);
      expect(ecr.endpoint.seen.some((s) => s.method === 'PUT' && s.status === 400)).toBe(true);
      expect((await client.head('race/app', 'src-1'))!.digest).toBe(winner);
    });

    it('without rebuild the run that lost uses the winner: a warning names both, the tag is not moved', async () => {
      const winner = await pushOther(`${ecr.endpoint.host}/race/app:src-2`, targets());
      const late = buildLate('src-2', 'use');
      const built = await late.run();
      expect(built.digest).toBe(winner);
      expect(late.logger.text()).toMatch(
        /another run pushed .*race\/app:src-2 while this one built it: it holds sha256:/,
      );
      expect((await client.head('race/app', 'src-2'))!.digest).toBe(winner);
    });

    it('the same image again under a kept tag is success (ECR takes the same digest)', async () => {
      const first = buildLate('src-3', 'fail');
      const a = await first.run();
      const again = buildLate('src-3', 'fail');
      const b = await again.run();
      expect(b.digest).toBe(a.digest);
    });
  });
});
