import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveTools } from '../helpers/tools.js';
import { makeRootImage } from '../helpers/base-image.js';
import { startEcrFake, type EcrFake } from '../fakes/ecr.js';
import { runAction } from './runner.js';

/**
 * action-hash-base against ECR: the real AWS SDK (pointed at the ECR loopback endpoint by
 * AWS_ENDPOINT_URL_ECR) gets the authorization token, the repository is created when missing, the
 * real buildah pushes through the token's proxy endpoint, and the second run skips.
 */
describe.skipIf(!haveTools('docker-registry', 'buildah', 'busybox'))(
  'action-hash-base on ECR, bundled',
  () => {
    let ecr: EcrFake;
    let ws: string;
    let root: string;

    beforeAll(async () => {
      ecr = await startEcrFake();
      root = await makeRootImage(ecr.endpoint.host, 'e2e/root', {
        username: ecr.registry.username!,
        password: ecr.registry.password!,
      });
      ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-e2e-ecr-'));
      await writeFile(path.join(ws, 'package-lock.json'), '{"lockfileVersion":3}\n');
      await writeFile(
        path.join(ws, 'Dockerfile.base'),
        'ARG ROOT_IMAGE\nFROM ${ROOT_IMAGE}\nCOPY package-lock.json /app/\n',
      );
    });
    afterAll(async () => {
      await ecr?.stop();
      if (ws) await rm(ws, { recursive: true, force: true });
    });

    it('creates the repository, builds and pushes, then skips; no AWS secret in the log', async () => {
      const inputs = {
        files: 'package-lock.json\nDockerfile.base',
        image: `${ecr.host}/shop/app-base`,
        build: 'true',
        builder: 'buildah',
        'build-args': `ROOT_IMAGE=${root}`,
        'extra-tags': 'latest',
      };
      expect(ecr.repositories.has('shop/app-base')).toBe(false);
      const first = await runAction('action-hash-base', { inputs, workspace: ws, env: ecr.env });
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(first.outputs['needs-build']).toBe('true');
      expect(first.outputs.built).toBe('true');
      expect(first.outputs['image-ref']).toBe(`${ecr.host}/shop/app-base:${first.outputs.tag}`);
      expect(first.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      // deps-<hash> can never be moved; latest, a moving tag, can.
      expect(ecr.repositories.get('shop/app-base')).toMatchObject({
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }],
      });
      expect(ecr.calls.map((c) => c.op)).toContain('GetAuthorizationToken');
      const log = first.stdout + first.stderr;
      expect(log).not.toContain(ecr.secretAccessKey);

      const second = await runAction('action-hash-base', { inputs, workspace: ws, env: ecr.env });
      expect(second.code, second.stdout + second.stderr).toBe(0);
      expect(second.outputs['needs-build']).toBe('false');
      expect(second.outputs.digest).toBe(first.outputs.digest);
    });
  },
);
