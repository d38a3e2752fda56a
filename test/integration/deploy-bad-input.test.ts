import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { withDefaults } from '../../src/core/input-spec.js';
import { memoryLogger } from '../../src/core/logger.js';
import { DEPLOY_INPUTS, parseDeployInputs, type DeployRaw } from '../../src/deploy/inputs.js';
import { runDeploy } from '../../src/deploy/run.js';
import { freePort } from '../helpers/net.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';

function deployment(name: string, image: string, ns?: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, ...(ns ? { namespace: ns } : {}), labels: { app: name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}
const configMap = (name: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data: { a: '1' },
});

describe('runDeploy: bad input is one clear error, and nothing is applied', () => {
  let kube: KubeFake;
  let ws: string;
  let n = 0;

  beforeAll(async () => {
    kube = await startKubeFake({ readyDelayMs: 20, tickMs: 50 });
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-deploy-bad-'));
  });
  afterAll(async () => {
    await kube?.stop();
    if (ws) await rm(ws, { recursive: true, force: true });
    closeHttpAgents();
  });
  beforeEach(() => {
    kube.faults.clear();
    kube.allowAll();
    kube.resetRequestLog();
  });

  /** Writes the manifests (objects or raw text) into a fresh namespace's file. */
  async function setup(content: unknown[] | string) {
    const ns = `bad${++n}`;
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const file = `bad${n}.yaml`;
    await writeFile(
      path.join(ws, file),
      typeof content === 'string' ? content : content.map((o) => stringify(o)).join('---\n'),
    );
    kube.resetRequestLog();
    return { ns, file };
  }

  const raw = (r: Partial<DeployRaw>) =>
    withDefaults(DEPLOY_INPUTS, { kubeconfig: kube.kubeconfig, 'pin-digests': 'false', ...r } as Record<
      string,
      string
    >);

  async function deploy(r: Partial<DeployRaw>) {
    const logger = memoryLogger();
    const opts = parseDeployInputs(raw(r), ws, { sha: COMMIT });
    return runDeploy(opts, {
      logger,
      audit: { commit: COMMIT },
      kubeRetry: { baseDelayMs: 20, maxDelayMs: 200 },
    });
  }

  /** Writes that reached the cluster: anything but GETs and dry runs. */
  const writes = () => kube.writes();

  async function expectRejected(p: Promise<unknown>, message: RegExp, ns?: string) {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    if (process.env.SHOW_LOG) console.log(err?.message);
    expect(err?.message).toMatch(message);
    expect(writes()).toEqual([]);
    if (ns) {
      expect(kube.list('apps/v1', 'Deployment', ns)).toEqual([]);
      expect(kube.list('v1', 'ConfigMap', ns).filter((c) => c.metadata.name !== 'kube-root-ca.crt')).toEqual(
        [],
      );
    }
  }

  it('unparsable YAML: file and line', async () => {
    const { ns, file } = await setup(
      `${stringify(configMap('ok'))}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata: [a, b\n`,
    );
    await expectRejected(
      deploy({ manifests: file, namespace: ns }),
      new RegExp(`Input 'manifests': ${file}:\\d+`),
      ns,
    );
  });

  it('an object without kind', async () => {
    const { ns, file } = await setup([configMap('ok'), { apiVersion: 'v1', metadata: { name: 'nokind' } }]);
    await expectRejected(
      deploy({ manifests: file, namespace: ns }),
      new RegExp(`${file}:\\d+.*kind`, 's'),
      ns,
    );
  });

  it('a kind the cluster does not serve', async () => {
    const { ns, file } = await setup([
      configMap('ok'),
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
      { apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'typo' } },
    ]);
    const p = deploy({ manifests: file, namespace: ns });
    await expectRejected(p, /does not serve kind 'Widget' in apiVersion 'example.com\/v1'/, ns);
    await expect(p).rejects.toThrow(/kind 'Deploymnet'.*'apps\/v1' serves .*Deployment/s);
  });

  it('an object whose namespace contradicts the namespace input', async () => {
    const { ns, file } = await setup([
      configMap('ok'),
      deployment('web', 'reg.example.com/web:1', 'elsewhere'),
    ]);
    await expectRejected(
      deploy({ manifests: file, namespace: ns }),
      new RegExp(
        `Input 'namespace': is '${ns}', but ${file}:\\d+: Deployment/web names namespace 'elsewhere'`,
      ),
      ns,
    );
  });

  it('an images entry that matches no container', async () => {
    const { ns, file } = await setup([deployment('web', 'reg.example.com:5000/shop/web:1')]);
    await expectRejected(
      deploy({ manifests: file, namespace: ns, images: 'reg.example.com/shop/web:2' }),
      /Input 'images': 'reg.example.com\/shop\/web:2' matches no container image.*reg.example.com:5000\/shop\/web/s,
      ns,
    );
  });

  it('a built `image` whose repository matches no container names the input `image`, exactly', async () => {
    const { ns, file } = await setup([deployment('web', 'reg.example.com:5000/shop/web:1')]);
    await mkdir(path.join(ws, 'app'), { recursive: true });
    await writeFile(path.join(ws, 'app/Dockerfile'), 'FROM scratch\n');
    await expectRejected(
      deploy({ manifests: file, namespace: ns, 'build-context': 'app', image: 'reg.example.com/shop/web' }),
      /^Input 'image': 'reg.example.com\/shop\/web' is the repository of no container.*exactly.*reg.example.com:5000\/shop\/web/s,
      ns,
    );
  });

  it('a malformed image reference, or one without a tag, fails before the cluster is contacted', async () => {
    const { ns, file } = await setup([deployment('web', 'reg.example.com/web:1')]);
    for (const [images, message] of [
      ['reg.example.com/Web:1', /Input 'images'/],
      ['reg.example.com/web:bad tag!', /Input 'images'/],
      ['reg.example.com/web', /Input 'images': 'reg.example.com\/web' has no tag or digest/],
    ] as const) {
      expect(() =>
        parseDeployInputs(raw({ manifests: file, namespace: ns, images }), ws, { sha: COMMIT }),
      ).toThrow(message);
    }
    expect(kube.requestLog).toEqual([]);
  });

  it('timeout that is not a duration; both kubeconfig and cluster-name', () => {
    expect(() => parseDeployInputs(raw({ manifests: 'x.yaml', timeout: 'soon' }), ws)).toThrow(
      /Input 'timeout'/,
    );
    expect(() => parseDeployInputs(raw({ manifests: 'x.yaml', timeout: '10' }), ws)).toThrow(
      /Input 'timeout'/,
    );
    expect(() =>
      parseDeployInputs(raw({ manifests: 'x.yaml', 'cluster-name': 'prod', 'aws-region': 'eu-west-1' }), ws),
    ).toThrow(/Input 'kubeconfig': and 'cluster-name' are both set/);
  });

  it('an invalid kubeconfig', async () => {
    const { file } = await setup([configMap('ok')]);
    await expectRejected(
      deploy({ manifests: file, kubeconfig: 'clusters: [unclosed' }),
      /Input 'kubeconfig'/,
    );
    await expectRejected(
      deploy({ manifests: file, kubeconfig: 'apiVersion: v1\nkind: Config\nclusters: []\n' }),
      /Input 'kubeconfig'/,
    );
  });

  it('the cluster unreachable: a bounded number of attempts, then a clear error', async () => {
    const { file } = await setup([configMap('ok')]);
    const port = await freePort();
    const closed = kube.kubeconfig.replace(/https:\/\/127\.0\.0\.1:\d+/, `https://127.0.0.1:${port}`);
    const t0 = Date.now();
    await expectRejected(
      deploy({ manifests: file, kubeconfig: closed }),
      new RegExp(
        `Cannot reach the Kubernetes API server at https://127\\.0\\.0\\.1:${port}.*ECONNREFUSED`,
        's',
      ),
    );
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('RBAC forbidden on apply says which verb on which resource, before anything changes', async () => {
    const { ns, file } = await setup([configMap('ok'), deployment('web', 'reg.example.com/web:1')]);
    kube.forbid({ verb: 'patch', resource: 'deployments', namespace: ns });
    await expectRejected(
      deploy({ manifests: file, namespace: ns }),
      new RegExp(`forbidden to patch deployments.apps in namespace "${ns}" \\(server-side apply`),
      ns,
    );
  });

  it('a server-side apply conflict with another manager is explained; force-conflicts takes over', async () => {
    const { ns, file } = await setup([deployment('web', 'reg.example.com/web:1')]);
    // Someone else (kubectl edit, another pipeline) owns the image now.
    const other = deployment('web', 'reg.example.com/web:hotfix', ns);
    const res = await fetchApply(kube, ns, other, 'hotfixer');
    expect(res).toBe(201);
    kube.resetRequestLog();
    await expectRejected(deploy({ manifests: file, namespace: ns }), /conflict.*hotfixer.*force-conflicts/s);
    expect(writes()).toEqual([]);
    expect(kube.get('apps/v1', 'Deployment', ns, 'web')!.spec.template.spec.containers[0].image).toBe(
      'reg.example.com/web:hotfix',
    );
    const r = await deploy({ manifests: file, namespace: ns, 'force-conflicts': 'true' });
    expect(r.result).toBe('success');
    expect(kube.get('apps/v1', 'Deployment', ns, 'web')!.spec.template.spec.containers[0].image).toBe(
      'reg.example.com/web:1',
    );
  });
});

/** A server-side apply by another field manager, straight over HTTPS with the fake's client certificate. */
async function fetchApply(kube: KubeFake, ns: string, obj: unknown, manager: string): Promise<number> {
  const https = await import('node:https');
  const body = JSON.stringify(obj);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${kube.url}/apis/apps/v1/namespaces/${ns}/deployments/web?fieldManager=${manager}`,
      {
        method: 'PATCH',
        ca: kube.ca,
        cert: kube.pki.clientCert,
        key: kube.pki.clientKey,
        headers: {
          'content-type': 'application/apply-patch+yaml',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
