import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { makeRootImage } from '../helpers/base-image.js';
import { pushSyntheticImage } from '../helpers/oci.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { haveTools } from '../helpers/tools.js';
import { runAction } from './runner.js';
import { deploymentManifest } from '../fixtures/workloads.js';

const SHA = '0123456789abcdef0123456789abcdef01234567'; // what the runner harness sets as GITHUB_SHA
const RUN_ID = 4242; // the harness's GITHUB_RUN_ID

const deployment = (name: string, image: string) =>
  deploymentManifest(name, image, { container: 'web', ports: [8080], spec: { progressDeadlineSeconds: 2 } });

describe.skipIf(!haveTools('docker-registry', 'buildah', 'busybox'))(
  'action-deploy-k8s, bundled, run as the runner runs it',
  () => {
    let reg: RegistryServer;
    let kube: KubeFake;
    let gh: GitHubFake;
    let ws: string;
    let root: string;
    let base: Record<string, string>;
    let env: Record<string, string>;
    const ns = 'shop';
    const webImage = () =>
      kube.get('apps/v1', 'Deployment', ns, 'web')!.spec.template.spec.containers[0].image;

    beforeAll(async () => {
      [reg, kube, gh] = await Promise.all([
        startRegistry({ auth: 'basic' }),
        startKubeFake({ readyDelayMs: 50, tickMs: 50, progressDeadlineSeconds: 2, namespaces: [ns] }),
        startGitHubFake({ owner: 'acme', repo: 'shop' }),
      ]);
      gh.addRun(RUN_ID, [{ user: 'release-manager', environments: ['production'], state: 'approved' }]);
      root = await makeRootImage(reg.host, 'e2e/root', { username: reg.username!, password: reg.password! });
      ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-e2e-deploy-'));
      await mkdir(path.join(ws, 'k8s'));
      await mkdir(path.join(ws, 'app'));
      await writeFile(
        path.join(ws, 'app/Dockerfile'),
        'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY hello.txt /srv/hello.txt\nCMD ["cat", "/srv/hello.txt"]\n',
      );
      await writeFile(path.join(ws, 'app/hello.txt'), 'hello from the app\n');
      await writeFile(
        path.join(ws, 'k8s/app.yaml'),
        [
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config' }, data: { MODE: 'prod' } },
          deployment('web', `${reg.host}/e2e/web:latest`),
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'web' },
            spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
          },
        ]
          .map((o) => stringify(o))
          .join('---\n'),
      );
      base = {
        manifests: 'k8s/',
        namespace: ns,
        kubeconfig: kube.kubeconfig,
        'registry-username': reg.username!,
        'registry-password': reg.password!,
      };
      env = { ...gh.env, INPUT_TOKEN: gh.token };
    });
    afterAll(async () => {
      await Promise.all([reg?.stop(), kube?.stop(), gh?.stop()]);
      if (ws) await rm(ws, { recursive: true, force: true });
    });

    it('(a) builds on the base, pushes, pins, applies, watches, records the Deployment', async () => {
      const r = await runAction('action-deploy-k8s', {
        inputs: {
          ...base,
          'build-context': 'app',
          image: `${reg.host}/e2e/web`,
          'base-image': root,
          builder: 'buildah',
          environment: 'production',
          'environment-url': 'https://shop.example.com',
        },
        env,
        workspace: ws,
      });
      const log = r.stdout + r.stderr;
      expect(r.code, log).toBe(0);
      expect(r.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(r.outputs.image).toBe(`${reg.host}/e2e/web@${r.outputs.digest}`);
      expect(r.outputs.result).toBe('success');
      expect(r.outputs['rolled-back']).toBe('false');
      expect(r.outputs.applied!.split('\n').sort()).toEqual(
        [`ConfigMap/${ns}/web-config`, `Deployment/${ns}/web`, `Service/${ns}/web`].sort(),
      );
      expect(webImage()).toBe(r.outputs.image);
      const live = kube.get('apps/v1', 'Deployment', ns, 'web')!;
      expect(live.metadata.annotations['commit-to-cloud.dev/commit']).toBe(SHA);
      expect(live.metadata.annotations['commit-to-cloud.dev/approved-by']).toBe('release-manager');
      expect(live.spec.template.metadata.annotations['commit-to-cloud.dev/commit']).toBe(SHA);
      // The GitHub Deployment: in_progress then success.
      const d = gh.deployments.find((x) => String(x.id) === r.outputs['deployment-id'])!;
      expect(d.environment).toBe('production');
      expect(d.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
      expect(d.statuses[1]!.environment_url).toBe('https://shop.example.com');
      // No empty groups: a phase with nothing to say opens none.
      expect(r.stdout).not.toMatch(/::group::Read what runs now\n::endgroup::/);
      for (const g of r.stdout.matchAll(/::group::([^\n]*)\n::endgroup::/g))
        expect.fail(`empty group ${g[1]}`);
      // The job summary: the workload, its images, the result, the Deployment link.
      expect(r.summary).toContain(`Deployment/${ns}/web`);
      expect(r.summary).toContain('success');
      expect(r.summary).toMatch(/deployments/);
      // Secrets: registered with the runner, and never printed otherwise.
      const lines = log.split('\n');
      expect(lines.filter((l) => l.startsWith('::add-mask::')).join('\n')).toContain(reg.password!);
      expect(lines.filter((l) => !l.startsWith('::add-mask::') && l.includes(reg.password!))).toEqual([]);
      expect(lines.filter((l) => !l.startsWith('::add-mask::') && l.includes(gh.token))).toEqual([]);
    });

    it('(b) a failed rollout is rolled back by itself: the step fails, the previous version runs again', async () => {
      const before = webImage();
      expect(before).toMatch(/@sha256:/);
      const broken = await pushSyntheticImage(
        { url: reg.url, username: reg.username!, password: reg.password! },
        'e2e/web',
        'broken',
      );
      kube.failImage(`${reg.host}/e2e/web@${broken.digest}`, 'CrashLoopBackOff');
      const r = await runAction('action-deploy-k8s', {
        inputs: { ...base, images: `${reg.host}/e2e/web:broken`, timeout: '60s' },
        env,
        workspace: ws,
      });
      const log = r.stdout + r.stderr;
      if (process.env.SHOW_LOG) console.log(log, r.summary);
      expect(r.code, log).toBe(1);
      expect(r.outputs['rolled-back']).toBe('true');
      expect(r.outputs.result).toBe('rolled-back');
      const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error'));
      const failure = errors.at(-1)!;
      expect(failure).toContain(`Deployment/${ns}/web`);
      expect(failure).toMatch(/exceeded its progress deadline/);
      expect(failure).toMatch(/previous version runs again/);
      // The diagnosis in the log: waiting reason, events, log lines.
      expect(log).toContain('CrashLoopBackOff');
      expect(log).toContain('simulated crash');
      expect(webImage()).toBe(before);
      expect(r.summary).toMatch(/rolled.back/);
    });

    it('(c) a dry run says what would change and changes nothing', async () => {
      const before = JSON.stringify([
        kube.list('apps/v1', 'Deployment', ns),
        kube.list('v1', 'ConfigMap', ns),
      ]);
      const pushed = await pushSyntheticImage(
        { url: reg.url, username: reg.username!, password: reg.password! },
        'e2e/web',
        'next',
      );
      kube.resetRequestLog();
      const r = await runAction('action-deploy-k8s', {
        inputs: { ...base, images: `${reg.host}/e2e/web:next`, 'dry-run': 'true' },
        env,
        workspace: ws,
      });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.outputs.result).toBe('dry-run');
      expect(r.stdout).toContain(`configured Deployment/${ns}/web`);
      expect(r.stdout).toContain(`unchanged ConfigMap/${ns}/web-config`);
      expect(r.summary).toMatch(/dry run/i);
      expect(r.summary).toContain(pushed.digest.slice('sha256:'.length));
      expect(kube.writes()).toEqual([]);
      expect(JSON.stringify([kube.list('apps/v1', 'Deployment', ns), kube.list('v1', 'ConfigMap', ns)])).toBe(
        before,
      );
    });

    it('(d) manifests the cluster rejects: the step fails, one annotation per object, and a summary lists them', async () => {
      await mkdir(path.join(ws, 'k8s-missing-ns'), { recursive: true });
      await writeFile(
        path.join(ws, 'k8s-missing-ns/app.yaml'),
        [
          deployment('web', `${reg.host}/e2e/web:latest`),
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { A: '1' } },
        ]
          .map((o) => stringify(o))
          .join('---\n'),
      );
      const r = await runAction('action-deploy-k8s', {
        inputs: { ...base, manifests: 'k8s-missing-ns/', namespace: 'not-there', 'pin-digests': 'false' },
        env,
        workspace: ws,
      });
      expect(r.code).not.toBe(0);
      const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error'));
      // One annotation per object concerned, each on its own line of the file, and the failure itself.
      expect(errors.filter((l) => l.includes('file=k8s-missing-ns/app.yaml'))).toHaveLength(2);
      expect(r.summary).toMatch(/failed/);
      expect(r.summary).toContain("namespace 'not-there' does not exist");
      expect(r.summary).toContain('`k8s-missing-ns/app.yaml:1`');
      expect(r.summary).toMatch(/create-namespace: true/);
    });
  },
);
