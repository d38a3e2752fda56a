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

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const audit = {
  commit: COMMIT,
  ref: 'refs/heads/main',
  runUrl: 'https://github.com/acme/shop/actions/runs/4242',
  actor: 'octocat',
};

function deployment(name: string, image: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image }] },
      },
      ...extra,
    },
  };
}
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
  const writes = () =>
    kube.requestLog.filter((r) => r.method !== 'GET' && !/dryRun=All/.test(r.path));

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
      [`ConfigMap/${ns}/web-config`, `Deployment/${ns}/web`, `Deployment/${ns}/worker`, `Service/${ns}/web`].sort(),
    );
    const web = dep(ns, 'web');
    expect(image(web)).toBe(`${reg.host}/shop/web:v2`);
    expect(image(dep(ns, 'worker'))).toBe('docker.io/library/busybox:1.36');
    expect(web.metadata.managedFields?.map((m: { manager: string }) => m.manager)).toContain('commit-to-cloud');
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
});
