import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { memoryLogger } from '../../src/core/logger.js';
import { DEPLOY_INPUTS, parseDeployInputs, type DeployRaw } from '../../src/deploy/inputs.js';
import { runDeploy, type DeployContext } from '../../src/deploy/run.js';
import { withDefaults } from '../../src/core/input-spec.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { pushSyntheticImage } from '../helpers/oci.js';
import { haveTools } from '../helpers/tools.js';
import { deploymentManifest } from '../fixtures/workloads.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const audit = {
  commit: COMMIT,
  ref: 'refs/heads/main',
  runUrl: 'https://github.com/acme/shop/actions/runs/4242',
  actor: 'octocat',
};

const deployment = (name: string, image: string, spec: Record<string, unknown> = {}) =>
  deploymentManifest(name, image, { spec });
const service = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
});
const configMap = (name: string, data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data,
});

describe.skipIf(!haveTools('docker-registry'))('runDeploy against the fake cluster', () => {
  let kube: KubeFake;
  let reg: RegistryServer;
  let ws: string;
  let n = 0;

  beforeAll(async () => {
    [kube, reg] = await Promise.all([
      startKubeFake({ readyDelayMs: 50, tickMs: 50, progressDeadlineSeconds: 2, jobDurationMs: 200 }),
      startRegistry(),
    ]);
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-deploy-ws-'));
  });
  afterAll(async () => {
    await kube?.stop();
    await reg?.stop();
    if (ws) await rm(ws, { recursive: true, force: true });
    closeHttpAgents();
  });
  beforeEach(() => {
    kube.faults.clear();
    kube.allowAll();
  });

  /** A fresh namespace and a manifests file in the workspace. */
  async function setup(objects: unknown[], nsName?: string) {
    const ns = nsName ?? `t${++n}`;
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const file = `m${n}-${Math.random().toString(36).slice(2, 6)}.yaml`;
    await writeFile(path.join(ws, file), objects.map((o) => stringify(o)).join('---\n'));
    return { ns, file };
  }

  function opts(raw: Partial<DeployRaw>) {
    return parseDeployInputs(
      withDefaults(DEPLOY_INPUTS, { kubeconfig: kube.kubeconfig, ...raw } as Record<string, string>, 'input'),
      ws,
      { sha: COMMIT },
    );
  }

  async function deploy(raw: Partial<DeployRaw>, ctx: Partial<DeployContext> = {}) {
    const logger = memoryLogger();
    const r = await runDeploy(opts(raw), { logger, audit, ...ctx });
    return { r, logger };
  }

  const dep = (ns: string, name: string) => kube.get('apps/v1', 'Deployment', ns, name)!;
  const image = (o: { spec?: { template?: { spec?: { containers?: { image: string }[] } } } }) =>
    o.spec!.template!.spec!.containers![0]!.image;
  const writes = () => kube.writes();

  it('applies with field manager commit-to-cloud, annotates, substitutes images by host with port', async () => {
    const { ns, file } = await setup([
      configMap('web-config', { MODE: 'prod' }),
      service('web'),
      deployment('web', `${reg.host}/shop/web:old`),
      deployment('worker', 'docker.io/library/busybox:1.36'),
    ]);
    const { r, logger } = await deploy({
      manifests: file,
      namespace: ns,
      images: `${reg.host}/shop/web:v2`,
      'pin-digests': 'false',
    });
    expect(r.result, logger.text()).toBe('success');
    expect(r.applied.sort()).toEqual(
      [
        `ConfigMap/${ns}/web-config`,
        `Deployment/${ns}/web`,
        `Deployment/${ns}/worker`,
        `Service/${ns}/web`,
      ].sort(),
    );
    const web = dep(ns, 'web');
    expect(image(web)).toBe(`${reg.host}/shop/web:v2`);
    expect(image(dep(ns, 'worker'))).toBe('docker.io/library/busybox:1.36');
    expect(web.metadata.managedFields?.map((m: { manager: string }) => m.manager)).toContain(
      'commit-to-cloud',
    );
    expect(web.metadata.annotations).toMatchObject({
      'commit-to-cloud.dev/commit': COMMIT,
      'commit-to-cloud.dev/ref': 'refs/heads/main',
      'commit-to-cloud.dev/run-url': audit.runUrl,
      'commit-to-cloud.dev/actor': 'octocat',
    });
    expect(web.spec.template.metadata.annotations['commit-to-cloud.dev/commit']).toBe(COMMIT);
    const cm = kube.get('v1', 'ConfigMap', ns, 'web-config')!;
    expect(cm.metadata.annotations?.['commit-to-cloud.dev/commit']).toBe(COMMIT);
    expect(web.status.updatedReplicas).toBe(2);
    expect(r.rows.map((x) => [x.name, x.result])).toEqual(
      expect.arrayContaining([
        ['web', 'success'],
        ['worker', 'success'],
      ]),
    );
    expect(r.summary).toContain('web');
  });

  it('pin-digests resolves tags through the real registry and applies repo@sha256', async () => {
    const pushed = await pushSyntheticImage(reg.url, 'shop/api', 'v7');
    const { ns, file } = await setup([deployment('api', `${reg.host}/shop/api:v1`)]);
    const { r, logger } = await deploy({ manifests: file, namespace: ns, images: `${reg.host}/shop/api:v7` });
    expect(r.result, logger.text()).toBe('success');
    expect(image(dep(ns, 'api'))).toBe(`${reg.host}/shop/api@${pushed.digest}`);
    expect(r.changes[0]).toMatchObject({
      from: `${reg.host}/shop/api:v1`,
      to: `${reg.host}/shop/api@${pushed.digest}`,
      // The images are substituted before the objects are placed: the change still names where it went.
      namespace: ns,
    });
    expect(logger.text()).toContain(`Deployment/${ns}/api app: ${reg.host}/shop/api:v1 -> `);
  });

  it('pin-digests: a tag missing from the registry is an error and nothing is applied', async () => {
    const { ns, file } = await setup([deployment('api', `${reg.host}/shop/api:v1`)]);
    kube.resetRequestLog();
    await expect(
      deploy({ manifests: file, namespace: ns, images: `${reg.host}/shop/api:no-such-tag` }),
    ).rejects.toThrow(/no-such-tag.*does not exist|Could not resolve/s);
    expect(writes()).toEqual([]);
    expect(kube.get('apps/v1', 'Deployment', ns, 'api')).toBeUndefined();
  });

  async function failedRollout(how: 'ImagePullBackOff' | 'CrashLoopBackOff') {
    const bad = `${reg.host}/shop/web:bad-${how}`;
    kube.failImage(bad, how);
    const { ns, file } = await setup([
      deployment('web', `${reg.host}/shop/web:good`),
      deployment('other', `${reg.host}/shop/other:v1`),
    ]);
    const first = await deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' });
    expect(first.r.result, first.logger.text()).toBe('success');
    const revBefore = dep(ns, 'web').metadata.annotations['deployment.kubernetes.io/revision'];
    // The second run changes web to a failing image and adds a new workload that fails too.
    await writeFile(
      path.join(ws, file),
      [
        deployment('web', bad, { progressDeadlineSeconds: 2 }),
        deployment('other', `${reg.host}/shop/other:v1`),
        deployment('fresh', bad, { progressDeadlineSeconds: 2 }),
      ]
        .map((o) => stringify(o))
        .join('---\n'),
    );
    const second = await deploy({ manifests: file, namespace: ns, 'pin-digests': 'false', timeout: '30s' });
    return { ns, file, bad, revBefore, ...second };
  }

  for (const how of ['ImagePullBackOff', 'CrashLoopBackOff'] as const) {
    it(`a failed rollout (${how}) is diagnosed and rolled back; a workload created by the run is left in place`, async () => {
      const { ns, r, logger, bad } = await failedRollout(how);
      const log = logger.text();
      if (process.env.SHOW_LOG) console.log(log, r.summary);
      expect(r.result, log).toBe('rolled-back');
      expect(r.rolledBack).toBe(true);
      expect(log).toContain(how);
      // The diagnosis names the reason the watch saw, not the state right after the apply.
      expect(log).toMatch(
        new RegExp(`Deployment ${ns}/web: deployment "web" exceeded its progress deadline`),
      );
      if (how === 'CrashLoopBackOff') expect(log).toContain('simulated crash');
      else expect(log).toMatch(/Back-off pulling image|Failed to pull|ErrImagePull/);
      // Events are part of the diagnosis.
      expect(log).toMatch(/BackOff|Failed/);
      expect(r.failure).toContain(`Deployment/${ns}/web`);
      // The verdict names the cause and the image, not only the progress deadline.
      expect(r.failure).toContain(`cause: ${how} on image ${bad}`);
      expect(r.rows.find((x) => x.name === 'web')!.note).toContain(`cause: ${how} on image ${bad}`);
      expect(r.failure).toMatch(/previous version runs again/);
      expect(r.failure).toContain(`Deployment/${ns}/fresh`);
      // web runs its previous image again; fresh (created by this run) still exists, not deleted.
      await expect.poll(() => image(dep(ns, 'web'))).toBe(`${reg.host}/shop/web:good`);
      expect(dep(ns, 'fresh')).toBeDefined();
      expect(image(dep(ns, 'fresh'))).toBe(bad);
      const row = (name: string) => r.rows.find((x) => x.name === name)!;
      expect(row('web').result).toBe('rolled-back');
      expect(row('fresh').note).toMatch(/created by this run/);
      expect(row('other').result).toBe('unchanged');
      // other was not changed and so not rolled back
      expect(dep(ns, 'other').metadata.annotations['deployment.kubernetes.io/revision']).toBe('1');
    });
  }

  it('rollback-on-failure false: result failed, nothing rolled back', async () => {
    const bad = `${reg.host}/shop/web:bad-norollback`;
    kube.failImage(bad, 'ImagePullBackOff');
    const { ns, file } = await setup([deployment('web', `${reg.host}/shop/web:good`)]);
    const first = await deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' });
    expect(first.r.result).toBe('success');
    const { r, logger } = await deploy({
      manifests: file,
      namespace: ns,
      images: bad,
      'pin-digests': 'false',
      'rollback-on-failure': 'false',
    });
    expect(r.result, logger.text()).toBe('failed');
    expect(r.rolledBack).toBe(false);
    expect(r.failure).toMatch(/Rollout failed/);
    expect(r.failure).not.toMatch(/previous version runs again/);
    expect(image(dep(ns, 'web'))).toBe(bad);
  });

  it('awaits a Job to completion', async () => {
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate' },
      spec: {
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'migrate', image: `${reg.host}/shop/migrate:v1` }],
          },
        },
      },
    };
    const { ns, file } = await setup([job]);
    const { r, logger } = await deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' });
    expect(r.result, logger.text()).toBe('success');
    const live = kube.get('batch/v1', 'Job', ns, 'migrate')!;
    expect(live.status?.succeeded).toBe(1);
    expect(r.rows.find((x) => x.kind === 'Job')?.result).toBe('success');
  });

  it('dry run changes nothing and says created / configured / unchanged', async () => {
    const { ns, file } = await setup([
      configMap('same', { A: '1' }),
      configMap('changes', { A: '1' }),
      deployment('web', `${reg.host}/shop/web:v1`),
    ]);
    const first = await deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' });
    expect(first.r.result).toBe('success');
    await kube.settle();
    await writeFile(
      path.join(ws, file),
      [
        configMap('same', { A: '1' }),
        configMap('changes', { A: '2' }),
        deployment('web', `${reg.host}/shop/web:v1`),
        configMap('brand-new', { B: '1' }),
      ]
        .map((o) => stringify(o))
        .join('---\n'),
    );
    const before =
      JSON.stringify(kube.list('v1', 'ConfigMap', ns)) +
      JSON.stringify(kube.list('apps/v1', 'Deployment', ns));
    kube.resetRequestLog();
    const { r, logger } = await deploy({
      manifests: file,
      namespace: ns,
      images: `${reg.host}/shop/web:v2`,
      'pin-digests': 'false',
      'dry-run': 'true',
    });
    expect(r.result, logger.text()).toBe('dry-run');
    expect(r.preflight.sort()).toEqual(
      [
        `unchanged ConfigMap/${ns}/same`,
        `configured ConfigMap/${ns}/changes`,
        `configured Deployment/${ns}/web`,
        `created ConfigMap/${ns}/brand-new`,
      ].sort(),
    );
    expect(writes()).toEqual([]);
    expect(kube.get('v1', 'ConfigMap', ns, 'brand-new')).toBeUndefined();
    expect(
      JSON.stringify(kube.list('v1', 'ConfigMap', ns)) +
        JSON.stringify(kube.list('apps/v1', 'Deployment', ns)),
    ).toBe(before);
    expect(r.summary).toMatch(/dry run/i);
  });

  it('a second identical run is unchanged (no new revision)', async () => {
    const { ns, file } = await setup([deployment('web', `${reg.host}/shop/web:v1`)]);
    const a = await deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' });
    expect(a.r.result).toBe('success');
    const rv = dep(ns, 'web').metadata.annotations['deployment.kubernetes.io/revision'];
    const d = await deploy({ manifests: file, namespace: ns, 'pin-digests': 'false', 'dry-run': 'true' });
    expect(d.r.preflight).toEqual([`unchanged Deployment/${ns}/web`]);
    const b = await deploy(
      { manifests: file, namespace: ns, 'pin-digests': 'false' },
      { audit: { ...audit, runUrl: 'https://github.com/acme/shop/actions/runs/4243' } },
    );
    expect(b.r.result).toBe('success');
    expect(dep(ns, 'web').metadata.annotations['deployment.kubernetes.io/revision']).toBe(rv);
  });

  it('a rollout that does not finish inside timeout fails with "timed out" and is rolled back', async () => {
    const slow = `${reg.host}/shop/web:never-ready`;
    kube.failImage(slow, 'ImagePullBackOff');
    const { ns, file } = await setup([deployment('web', `${reg.host}/shop/web:good`)]);
    expect((await deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' })).r.result).toBe(
      'success',
    );
    // The progress deadline (the fake's 2 s) comes later: the action's timeout ends the wait.
    await writeFile(
      path.join(ws, file),
      stringify(deployment('web', `${reg.host}/shop/web:good`, { progressDeadlineSeconds: 600 })),
    );
    const t0 = Date.now();
    const { r, logger } = await deploy({
      manifests: file,
      namespace: ns,
      images: slow,
      'pin-digests': 'false',
      timeout: '1s',
    });
    expect(r.result, logger.text()).toBe('rolled-back');
    expect(r.failure).toMatch(/timed out after 1(\.0)?s/);
    expect(r.rows[0]!.result).toBe('rolled-back');
    expect(Date.now() - t0).toBeLessThan(15_000);
    await expect.poll(() => image(dep(ns, 'web'))).toBe(`${reg.host}/shop/web:good`);
  });

  it('StatefulSets and DaemonSets are watched, and rolled back through their ControllerRevisions', async () => {
    const sts = (img: string) => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: {
        replicas: 1,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: img }] } },
      },
    });
    const ds = (img: string) => ({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: { containers: [{ name: 'agent', image: img }] },
        },
      },
    });
    const { ns, file } = await setup([sts(`${reg.host}/shop/db:1`), ds(`${reg.host}/shop/agent:1`)]);
    const first = await deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' });
    expect(first.r.result, first.logger.text()).toBe('success');
    expect(first.r.rows.map((x) => `${x.kind}:${x.result}`).sort()).toEqual([
      'DaemonSet:success',
      'StatefulSet:success',
    ]);
    kube.failImage(`${reg.host}/shop/db:2`, 'CrashLoopBackOff');
    kube.failImage(`${reg.host}/shop/agent:2`, 'ImagePullBackOff');
    const { r, logger } = await deploy({
      manifests: file,
      namespace: ns,
      images: `${reg.host}/shop/db:2\n${reg.host}/shop/agent:2`,
      'pin-digests': 'false',
      timeout: '2s',
    });
    expect(r.result, logger.text()).toBe('rolled-back');
    const tpl = (kind: string, name: string) =>
      kube.get('apps/v1', kind, ns, name)!.spec.template.spec.containers[0].image as string;
    await expect.poll(() => tpl('StatefulSet', 'db')).toBe(`${reg.host}/shop/db:1`);
    await expect.poll(() => tpl('DaemonSet', 'agent')).toBe(`${reg.host}/shop/agent:1`);
  });

  describe('with build-context (no builder runs: these stop before the build)', () => {
    async function buildWs() {
      const { ns, file } = await setup([deployment('web', `${reg.host}/shop/built:dev`)]);
      await mkdir(path.join(ws, 'app'), { recursive: true });
      await writeFile(path.join(ws, 'app/Dockerfile'), 'FROM scratch\n');
      return {
        ns,
        file,
        build: { 'build-context': 'app', image: `${reg.host}/shop/built`, builder: 'buildah' },
      };
    }
    const tags = async () => {
      const res = await fetch(`${reg.url}/v2/shop/built/tags/list`);
      return res.status === 404 ? [] : (((await res.json()) as { tags: string[] | null }).tags ?? []);
    };

    it('a dry run does not build or push, and says it would', async () => {
      const { ns, file, build } = await buildWs();
      const { r, logger } = await deploy({ manifests: file, namespace: ns, ...build, 'dry-run': 'true' });
      expect(r.result).toBe('dry-run');
      expect(logger.text()).toMatch(/would build .*app and push .*shop\/built:sha-0123456789ab/);
      expect(r.preflight).toEqual([`created Deployment/${ns}/web`]);
      expect(await tags()).toEqual([]);
      expect(r.image).toBe('');
    });

    it('a manifest the cluster rejects: nothing is built or pushed', async () => {
      const { ns, file, build } = await buildWs();
      kube.forbid({ verb: 'patch', resource: 'deployments', namespace: ns });
      await expect(deploy({ manifests: file, namespace: ns, ...build })).rejects.toThrow(
        /forbidden to patch/,
      );
      expect(await tags()).toEqual([]);
    });
  });
});
