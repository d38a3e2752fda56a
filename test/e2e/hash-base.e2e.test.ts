import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveTools } from '../helpers/tools.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { makeRootImage } from '../helpers/base-image.js';
import { ROOT, runAction } from './runner.js';
import { startActionsCacheFake } from '../fakes/actions-cache.js';

async function tagList(reg: RegistryServer, repo: string): Promise<string[]> {
  const auth = Buffer.from(`${reg.username}:${reg.password}`).toString('base64');
  const r = await fetch(`${reg.url}/v2/${repo}/tags/list`, { headers: { authorization: `Basic ${auth}` } });
  if (r.status === 404) return [];
  return ((await r.json()) as { tags: string[] | null }).tags ?? [];
}

describe.skipIf(!haveTools('docker-registry', 'buildah', 'busybox'))(
  'action-hash-base, bundled, run as the runner runs it',
  () => {
    let reg: RegistryServer;
    let ws: string;
    let root: string;
    let inputs: Record<string, string>;

    beforeAll(async () => {
      reg = await startRegistry({ auth: 'basic' });
      root = await makeRootImage(reg.host, 'e2e/root', { username: reg.username!, password: reg.password! });
      ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-e2e-ws-'));
      await writeFile(path.join(ws, 'requirements.txt'), 'flask==3.0.3\n');
      await writeFile(
        path.join(ws, 'Dockerfile.base'),
        'ARG ROOT_IMAGE\nFROM ${ROOT_IMAGE}\nCOPY requirements.txt /opt/requirements.txt\nRUN echo installed > /opt/deps\n',
      );
      inputs = {
        files: 'requirements.txt\nDockerfile.base',
        image: `${reg.host}/e2e/app-base`,
        build: 'true',
        builder: 'buildah',
        'build-args': `ROOT_IMAGE=${root}`,
        'registry-username': reg.username!,
        'registry-password': reg.password!,
      };
    });
    afterAll(async () => {
      await reg?.stop();
      if (ws) await rm(ws, { recursive: true, force: true });
    });

    it('builds and pushes on the first run, skips on the second, and says what changed on the third', async () => {
      const first = await runAction('action-hash-base', { inputs, workspace: ws });
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(first.outputs['needs-build']).toBe('true');
      expect(first.outputs.built).toBe('true');
      expect(first.outputs.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(first.outputs.tag).toBe(`deps-${first.outputs.hash!.slice(0, 16)}`);
      expect(first.outputs['image-ref']).toBe(`${reg.host}/e2e/app-base:${first.outputs.tag}`);
      expect(first.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(first.outputs['files-count']).toBe('2');
      expect(await tagList(reg, 'e2e/app-base')).toContain(first.outputs.tag);
      expect(first.summary).toContain('built and pushed');
      // The OCI labels and the hash manifest travel in the image.
      const auth = {
        authorization: `Basic ${Buffer.from(`${reg.username}:${reg.password}`).toString('base64')}`,
      };
      const manifest = (await (
        await fetch(`${reg.url}/v2/e2e/app-base/manifests/${first.outputs.tag}`, {
          headers: {
            ...auth,
            accept:
              'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
          },
        })
      ).json()) as { config: { digest: string } };
      const config = (await (
        await fetch(`${reg.url}/v2/e2e/app-base/blobs/${manifest.config.digest}`, { headers: auth })
      ).json()) as {
        config: { Labels: Record<string, string> };
      };
      expect(config.config.Labels['org.opencontainers.image.revision']).toBe(
        '0123456789abcdef0123456789abcdef01234567',
      );
      expect(config.config.Labels['org.opencontainers.image.source']).toBe('https://github.com/acme/shop');
      expect(config.config.Labels['org.opencontainers.image.created']).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(config.config.Labels['dev.commit-to-cloud.hash']).toBe(first.outputs.hash);
      // The password is registered with the runner (::add-mask::) before use and never reaches the log otherwise.
      const log = (first.stdout + first.stderr).split('\n');
      expect(log.filter((l) => l.startsWith('::add-mask::')).join('\n')).toContain(reg.password!);
      expect(log.filter((l) => !l.startsWith('::add-mask::') && l.includes(reg.password!))).toEqual([]);

      const second = await runAction('action-hash-base', { inputs, workspace: ws });
      expect(second.code, second.stdout + second.stderr).toBe(0);
      expect(second.outputs['needs-build']).toBe('false');
      expect(second.outputs.built).toBe('false');
      expect(second.outputs.hash).toBe(first.outputs.hash);
      expect(second.outputs.digest).toBe(first.outputs.digest);
      expect(second.summary).toContain('skip');

      await writeFile(path.join(ws, 'requirements.txt'), 'flask==3.0.4\n');
      const third = await runAction('action-hash-base', {
        inputs: { ...inputs, build: 'false' },
        workspace: ws,
      });
      expect(third.code, third.stdout + third.stderr).toBe(0);
      expect(third.outputs['needs-build']).toBe('true');
      expect(third.outputs.built).toBe('false');
      expect(third.outputs.changed).toBe('changed: requirements.txt');
    });

    it('check: cache decides from the Actions cache, and saves an entry after a successful build', async () => {
      const cache = await startActionsCacheFake();
      try {
        const cacheInputs = {
          ...inputs,
          check: 'cache',
          'tag-prefix': 'cached-',
          image: `${reg.host}/e2e/cache-base`,
        };
        const first = await runAction('action-hash-base', {
          inputs: cacheInputs,
          workspace: ws,
          env: cache.env,
        });
        expect(first.code, first.stdout + first.stderr).toBe(0);
        expect(first.outputs['needs-build']).toBe('true');
        expect(first.outputs.built).toBe('true');
        expect(cache.entries.map((e) => e.key)).toContain(`cached-${first.outputs.hash}`);
        const second = await runAction('action-hash-base', {
          inputs: cacheInputs,
          workspace: ws,
          env: cache.env,
        });
        expect(second.code, second.stdout + second.stderr).toBe(0);
        expect(second.outputs['needs-build']).toBe('false');
        expect(second.outputs.built).toBe('false');
        // A cache hit still says which image it is: one HEAD reads the digest.
        expect(second.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(second.outputs.digest).toBe(first.outputs.digest);
      } finally {
        await cache.stop();
      }
    });

    it('the skip path loads only what it uses: no zlib, worker threads, TLS, perf_hooks, builder or cache chunk', async () => {
      // A --require probe records the Node built-ins and the bundle's chunks the process loaded.
      const dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-e2e-loads-'));
      try {
        const probe = path.join(dir, 'probe.cjs');
        const out = path.join(dir, 'loaded.json');
        await writeFile(
          probe,
          `const chunks = [];
require('node:module').registerHooks({ resolve(s, c, next) { if (/\\.index\\.js$/.test(s)) chunks.push(s); return next(s, c); } });
process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ builtins: process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)), chunks })));
`,
        );
        const warm = await runAction('action-hash-base', { inputs, workspace: ws });
        expect(warm.code, warm.stdout + warm.stderr).toBe(0);
        const skip = await runAction('action-hash-base', {
          inputs,
          workspace: ws,
          env: { NODE_OPTIONS: `--require ${probe}` },
        });
        expect(skip.code, skip.stdout + skip.stderr).toBe(0);
        expect(skip.outputs['needs-build']).toBe('false');
        const loaded = JSON.parse(await readFile(out, 'utf8')) as { builtins: string[]; chunks: string[] };
        // What it uses is there: the probe sees what it should.
        expect(loaded.builtins).toEqual(expect.arrayContaining(['crypto', 'http']));
        for (const unused of ['zlib', 'worker_threads', 'https', 'tls', 'perf_hooks', 'child_process'])
          expect(loaded.builtins, unused).not.toContain(unused);
        // The registry client only (in two chunks since its face is shared with the signing code, a
        // chunk of its own). The builders, the cache, the signing code and the AWS SDK stay on disk.
        expect(loaded.chunks.length).toBeGreaterThanOrEqual(1);
        expect(loaded.chunks.length).toBeLessThanOrEqual(2);
        const code = (
          await Promise.all(
            loaded.chunks.map((c) => readFile(path.join(ROOT, 'action-hash-base/dist', c), 'utf8')),
          )
        ).join('\n');
        expect(code).toContain('connectRegistry');
        for (const unused of [
          'buildahBuildAndPush',
          'restoreCache',
          'attestImage',
          'secretbox',
          '@aws-sdk/client-ecr/',
        ])
          expect(code, unused).not.toContain(unused);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('bad input fails with one error naming the input, and pushes nothing', async () => {
      const before = await tagList(reg, 'e2e/bad-input');
      const cases: Array<[Record<string, string>, RegExp]> = [
        [{ mode: 'md5' }, /Input 'mode': 'md5' is not a known value/],
        [{ mode: 'hashfiles', extra: 'salt' }, /Input 'extra'/],
        [{ image: `${reg.host}/e2e/bad-input:v1` }, /Input 'image'.*already carries a tag/],
        [{ files: 'nothing-matches-*.txt' }, /Input 'files'/],
        [{ dockerfile: 'Dockerfile.missing', image: `${reg.host}/e2e/bad-input` }, /Input 'dockerfile'/],
      ];
      for (const [override, message] of cases) {
        const r = await runAction('action-hash-base', {
          inputs: { ...inputs, image: `${reg.host}/e2e/bad-input`, ...override },
          workspace: ws,
        });
        expect(r.code, JSON.stringify(override)).toBe(1);
        expect(r.stdout, JSON.stringify(override)).toMatch(message);
        expect(r.stdout.match(/::error::/g)?.length, r.stdout).toBe(1);
      }
      expect(await tagList(reg, 'e2e/bad-input')).toEqual(before);
    });
  },
);
