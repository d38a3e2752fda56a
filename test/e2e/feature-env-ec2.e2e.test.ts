import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { prepareEc2Account, publishKubeconfigs } from '../helpers/ec2.js';
import { eventPayload, type PrEvent } from '../helpers/feature-env.js';
import { haveMoto, startMoto, type MotoServer } from '../helpers/moto.js';
import { CLUSTER_SETUP_TIMEOUT_MS, haveCluster, sharedCluster } from '../helpers/shared-cluster.js';
import type { Cluster } from '../helpers/cluster.js';
import { runAction } from './runner.js';

/**
 * The bundled action-feature-env with `isolation: ec2`, as the runner runs it: the AWS SDK finds
 * moto by AWS_ENDPOINT_URL (as it would find AWS by the region), the user data script ships beside
 * the bundle, and the genuine control plane plays the instance's Minikube.
 */
const CLI = path.join(import.meta.dirname, '../../cli/dist/index.js');

describe.skipIf(!haveCluster() || !haveMoto())('action-feature-env, isolation: ec2 (bundled)', () => {
  let cluster: Cluster;
  let moto: MotoServer;
  let gh: GitHubFake;
  let ws: string;
  let ec2: EC2Client;
  let ssm: SSMClient;
  let minikube: ReturnType<typeof publishKubeconfigs>;
  let subnet: string;
  const number = 91;
  const sha = 'c'.repeat(40);

  beforeAll(async () => {
    [cluster, moto, gh] = await Promise.all([
      sharedCluster(),
      startMoto(),
      startGitHubFake({ owner: 'acme', repo: 'shop' }),
    ]);
    gh.collaborators.set('maintainer', 'maintain');
    gh.addPullRequest({ number, headSha: sha });
    gh.label(number, 'feature-env', 'maintainer');
    const cfg = { region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials };
    ec2 = new EC2Client(cfg);
    ssm = new SSMClient(cfg);
    ({ subnet } = await prepareEc2Account(ec2));
    minikube = publishKubeconfigs(ec2, ssm, cluster.kubeconfig);
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-e2e-fe-ec2-'));
    await mkdir(path.join(ws, 'k8s'));
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      stringify(deploymentManifest('web', 'registry.example:5000/shop/web:main')),
    );
  }, CLUSTER_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    minikube?.stop();
    ec2?.destroy();
    ssm?.destroy();
    await gh?.stop();
    await moto?.stop();
    if (ws) await rm(ws, { recursive: true, force: true });
  });

  const aws = () => ({
    AWS_REGION: moto.region,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
  });
  const run = (e: PrEvent) => {
    const ev = eventPayload(gh, e);
    return runAction('action-feature-env', {
      inputs: {
        isolation: 'ec2',
        'ami-name': 'minikube-service-*',
        'subnet-id': subnet,
        'allow-cidrs': '10.20.0.0/16',
        manifests: 'k8s/',
        'pin-digests': 'false',
        'namespace-prefix': 'e2e-ec2-',
        timeout: '60s',
      },
      env: {
        ...gh.env,
        INPUT_TOKEN: gh.token,
        GITHUB_EVENT_NAME: ev.name,
        GITHUB_SHA: ev.sha,
        GITHUB_ACTOR: ev.actor,
        ...aws(),
      },
      event: ev.payload,
      workspace: ws,
    });
  };
  const running = async () =>
    (
      (
        await ec2.send(
          new DescribeInstancesCommand({
            Filters: [{ Name: 'instance-state-name', Values: ['running', 'pending'] }],
          }),
        )
      ).Reservations ?? []
    )
      .flatMap((r) => r.Instances ?? [])
      .filter((i) => i.Tags?.some((t) => t.Key === 'commit-to-cloud.dev/fe-pr'));

  it('labeled → an instance, ready, its id an output; unlabeled → terminated', async () => {
    const up = await run({ action: 'labeled', number, label: 'feature-env', labels: ['feature-env'], sha });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.outputs.status).toBe('up');
    expect(up.outputs['instance-id']).toMatch(/^i-[0-9a-f]+$/);
    expect((await running()).map((i) => i.InstanceId)).toEqual([up.outputs['instance-id']]);
    // c2c feature-env list --isolation ec2: the repository's instances, from their tags.
    const listed = await promisify(execFile)(
      process.execPath,
      [CLI, 'feature-env', 'list', '--isolation', 'ec2', '--repository', 'acme/shop', '--json'],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...aws() } },
    );
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({
        'pull-request': number,
        state: 'active',
        'instance-id': up.outputs['instance-id'],
        'instance-state': 'running',
        expired: false,
      }),
    ]);
    const down = await run({ action: 'unlabeled', number, label: 'feature-env', labels: [], sha });
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(down.outputs.status).toBe('down');
    expect(await running()).toEqual([]);
  });
});
