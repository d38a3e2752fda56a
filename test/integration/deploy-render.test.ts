import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { makeRootImage } from '../helpers/base-image.js';
import { pushSyntheticImage } from '../helpers/oci.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { haveTools } from '../helpers/tools.js';
import { deploymentManifest } from '../fixtures/workloads.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const COMMIT = 'aaaaaaaaaaaabbbbbbbbbbbbccccccccccccdddd';

/** Runs `c2c` from source (tsx) as a child process. */
function c2c(args: string[], env: Record<string, string>, cwd: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(
      path.join(ROOT, 'node_modules/.bin/tsx'),
      [path.join(ROOT, 'src/cli/main.ts'), ...args],
      {
        cwd,
        env: { PATH: process.env.PATH!, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

const deployment = (name: string, image: string) => deploymentManifest(name, image, { replicas: 1 });

describe.skipIf(!haveTools('docker-registry'))('c2c deploy --render', () => {
  let reg: RegistryServer;
  let kube: KubeFake;
  let ws: string;
  let home: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    [reg, kube] = await Promise.all([
      startRegistry(),
      startKubeFake({ readyDelayMs: 20, tickMs: 50, namespaces: ['shop'] }),
    ]);
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-render-ws-'));
    home = await mkdtemp(path.join(os.tmpdir(), 'c2c-render-home-'));
    await mkdir(path.join(ws, 'k8s'));
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      [
        deployment('web', `${reg.host}/shop/web:dev`),
        deployment('api', `${reg.host}/shop/api:dev`),
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } },
      ]
        .map((o) => stringify(o))
        .join('---\n'),
    );
    // A kubeconfig that points at a live cluster: render must not touch it.
    env = { HOME: home, KUBECONFIG: kube.kubeconfigPath, C2C_REVISION: COMMIT, C2C_ACTOR: 'dev' };
  });
  afterAll(async () => {
    await reg?.stop();
    await kube?.stop();
    for (const d of [ws, home]) if (d) await rm(d, { recursive: true, force: true });
  });

  it('prints the final YAML, images substituted and pinned, annotated, without contacting any cluster', async () => {
    const pushed = await pushSyntheticImage(reg.url, 'shop/web', 'v3');
    kube.resetRequestLog();
    const r = await c2c(
      [
        'deploy',
        '--render',
        '--manifests',
        'k8s/',
        '--namespace',
        'shop',
        '--images',
        `${reg.host}/shop/web:v3`,
      ],
      env,
      ws,
    );
    expect(r.code, r.stderr).toBe(0);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered YAML, read field by field
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, any>);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'Service/web',
      'Deployment/web',
      'Deployment/api',
    ]);
    const web = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'web')!;
    expect(web.metadata.namespace).toBe('shop');
    expect(web.spec.template.spec.containers[0].image).toBe(`${reg.host}/shop/web@${pushed.digest}`);
    expect(web.metadata.annotations['commit-to-cloud.dev/commit']).toBe(COMMIT);
    expect(web.spec.template.metadata.annotations['commit-to-cloud.dev/commit']).toBe(COMMIT);
    // Left alone: an image no entry names.
    expect(docs.find((d) => d.metadata.name === 'api')!.spec.template.spec.containers[0].image).toBe(
      `${reg.host}/shop/api:dev`,
    );
    expect(kube.countRequests()).toBe(0);
  });

  it('works without any kubeconfig, and bad input is still one clear error', async () => {
    const noCluster = { ...env, KUBECONFIG: path.join(home, 'none') };
    const ok = await c2c(
      ['deploy', '--render', '--manifests', 'k8s/', '--pin-digests', 'false'],
      noCluster,
      ws,
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`image: ${reg.host}/shop/web:dev`);
    const bad = await c2c(
      ['deploy', '--render', '--manifests', 'k8s/', '--images', `${reg.host}/shop/typo:v1`],
      noCluster,
      ws,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Input 'images'.*typo.*matches no container/);
    expect(bad.stdout).toBe('');
  });

  it.skipIf(!haveTools('buildah', 'busybox'))(
    'with --build-context: builds, pushes and pins the built image',
    async () => {
      const root = await makeRootImage(reg.host, 'render/root');
      await mkdir(path.join(ws, 'app'), { recursive: true });
      await writeFile(
        path.join(ws, 'app/Dockerfile'),
        'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo hello > /hello\nCMD ["cat", "/hello"]\n',
      );
      const r = await c2c(
        [
          'deploy',
          '--render',
          '--json',
          '--manifests',
          'k8s/',
          '--build-context',
          'app',
          '--image',
          `${reg.host}/shop/web`,
          '--base-image',
          root,
          '--builder',
          'buildah',
        ],
        env,
        ws,
      );
      expect(r.code, r.stderr).toBe(0);
      const outputs = JSON.parse(r.stderr.slice(r.stderr.lastIndexOf('\n{'))) as {
        image: string;
        digest: string;
      };
      expect(outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(outputs.image).toBe(`${reg.host}/shop/web@${outputs.digest}`);
      expect(r.stdout).toContain(`image: ${reg.host}/shop/web@${outputs.digest}`);
      const head = await fetch(`${reg.url}/v2/shop/web/manifests/sha-${COMMIT.slice(0, 12)}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      expect(head.status).toBe(200);
      expect(head.headers.get('docker-content-digest')).toBe(outputs.digest);
    },
  );

  it('without --render the same command deploys to the cluster of $KUBECONFIG', async () => {
    const r = await c2c(
      ['deploy', '--manifests', 'k8s/', '--namespace', 'shop', '--pin-digests', 'false'],
      env,
      ws,
    );
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^result=success$/m);
    expect(r.stdout).toContain('applied="');
    expect(
      kube.get('apps/v1', 'Deployment', 'shop', 'web')!.metadata.annotations['commit-to-cloud.dev/actor'],
    ).toBe('dev');
    const bad = await c2c(['lint', '--render'], env, ws);
    expect(bad.code).not.toBe(0);
    const wrong = await c2c(['hash-base', '--render', '--files', 'x'], env, ws);
    expect(wrong.stderr).toMatch(/--render is a flag of 'c2c deploy'/);
  });
});
