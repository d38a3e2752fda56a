/**
 * action-feature-env with `isolation: ec2`, the bundled action as the runner runs it, against moto
 * (EC2, SSM) with the genuine control plane playing each instance's Minikube: the test's stand-in
 * publishes the kubeconfig as soon as it sees the tagged instance running (polling every 100 ms),
 * so the instance's own boot, Minikube's start and the image pulls (minutes, on AWS) are zero here
 * and what is measured is the action's own part: the checks, the launch or the claim, the wait for
 * the kubeconfig (polled every 5 s) and the API server, the deploy of every service.
 *
 *   npx tsx bench/feature-env-ec2.ts     BENCH_RUNS=3 (default)  BENCH_SERVICES=10 (default)
 *
 * Side by side, alternated, medians: a new instance (warm-pool 0) against a warm one claimed from
 * the pool (warm-pool 1, filled before by a reap, not timed). The paper estimate of the rest (the
 * boot, Minikube, the pulls) is in action-feature-env's README, "Choosing a provider".
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { stringify } from 'yaml';
import { startCluster } from '../test/helpers/cluster.js';
import { prepareEc2Account, publishKubeconfigs } from '../test/helpers/ec2.js';
import { startGitHubFake } from '../test/fakes/github.js';
import { eventPayload } from '../test/helpers/feature-env.js';
import { startMoto } from '../test/helpers/moto.js';
import { deploymentManifest } from '../test/fixtures/workloads.js';
import { runAction } from '../test/e2e/runner.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SERVICES = Number(process.env.BENCH_SERVICES ?? 10);
const REG = 'registry.example:5000/bench';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const [cluster, moto, gh] = await Promise.all([
    startCluster({ log: () => {} }),
    startMoto(),
    startGitHubFake({ owner: 'acme', repo: 'bench' }),
  ]);
  gh.collaborators.set('maintainer', 'write');
  const cfg = { region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials };
  const ec2 = new EC2Client(cfg);
  const ssm = new SSMClient(cfg);
  const { subnet } = await prepareEc2Account(ec2);
  const minikube = publishKubeconfigs(ec2, ssm, cluster.kubeconfig);
  const ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-bench-fe-ec2-'));
  try {
    await mkdir(path.join(ws, 'k8s'));
    const names = Array.from({ length: SERVICES }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      names.map((n) => stringify(deploymentManifest(n, `${REG}/${n}:main`))).join('---\n'),
    );
    let number = 0;
    const run = async (warm: boolean) => {
      const n = ++number;
      const sha = `${n}`.padStart(40, 'a');
      gh.addPullRequest({ number: n, headSha: sha });
      gh.label(n, 'feature-env', 'maintainer');
      const invoke = (e: Parameters<typeof eventPayload>[1]) => {
        const ev = eventPayload(gh, e);
        return runAction('action-feature-env', {
          inputs: {
            isolation: 'ec2',
            'ami-name': 'minikube-service-*',
            'subnet-id': subnet,
            'allow-cidrs': '10.20.0.0/16',
            manifests: 'k8s/',
            'pin-digests': 'false',
            images: `${REG}/svc-00:pr-${n}`,
            'warm-pool': warm ? '1' : '0',
            // Each run a set of its own: the warm one's pool is its own.
            'namespace-prefix': `b${n}-`,
            timeout: '2m',
          },
          env: {
            ...gh.env,
            INPUT_TOKEN: gh.token,
            GITHUB_EVENT_NAME: ev.name,
            GITHUB_SHA: ev.sha,
            GITHUB_ACTOR: ev.actor,
            AWS_REGION: moto.region,
            AWS_ENDPOINT_URL: moto.endpoint,
            AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
          },
          event: ev.payload,
          workspace: ws,
        });
      };
      if (warm) {
        // The reaper's job: launch the warm instance (not timed), and let it publish.
        const fill = await invoke({ name: 'workflow_dispatch' });
        if (fill.code !== 0) throw new Error(`refill failed:\n${fill.stdout}\n${fill.stderr}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
      const up = await invoke({
        action: 'labeled',
        number: n,
        label: 'feature-env',
        labels: ['feature-env'],
        sha,
      });
      if (up.code !== 0 || up.outputs.status !== 'up')
        throw new Error(`up failed:\n${up.stdout}\n${up.stderr}`);
      const fromPool = /takes the warm instance/.test(up.stdout);
      const down = await invoke({ action: 'closed', number: n, labels: ['feature-env'], sha });
      if (down.code !== 0) throw new Error(`down failed:\n${down.stdout}\n${down.stderr}`);
      return { ms: up.durationMs, ready: Number(up.outputs['ready-seconds']) * 1000, fromPool };
    };
    const cold: Awaited<ReturnType<typeof run>>[] = [];
    const warm: Awaited<ReturnType<typeof run>>[] = [];
    for (let i = 0; i < RUNS; i++) {
      cold.push(await run(false));
      warm.push(await run(true));
    }
    const row = (label: string, xs: typeof cold) =>
      `  ${label.padEnd(40)} process ${median(xs.map((x) => x.ms))
        .toFixed(0)
        .padStart(
          6,
        )} ms  ready-seconds ${(median(xs.map((x) => x.ready)) / 1000).toFixed(2).padStart(6)}  from the pool ${xs.filter((x) => x.fromPool).length}/${xs.length}`;
    console.log(
      `action-feature-env isolation: ec2: ${SERVICES} services, moto + genuine control plane (kwok), ${RUNS} runs each, alternated; ${os.availableParallelism()} cores`,
    );
    console.log(
      '  the instance boot, Minikube start and image pulls are zero here (the kubeconfig is published at once)',
    );
    console.log(row('new instance (warm-pool 0)', cold));
    console.log(row('warm instance claimed (warm-pool 1)', warm));
    const c = median(cold.map((x) => x.ready));
    const w = median(warm.map((x) => x.ready));
    console.log(
      `  ready-seconds, warm / new: ${(w / c).toFixed(2)}x (the new one waits for at least one 5 s poll of its kubeconfig)`,
    );
    console.log(
      '  the original design (a Lambda, an instance from the AMI, an RDS restore): about 12 minutes',
    );
  } finally {
    minikube.stop();
    ec2.destroy();
    ssm.destroy();
    await gh.stop();
    await moto.stop();
    await cluster.stop({ removeDir: true });
    await rm(ws, { recursive: true, force: true });
  }
}

await main();
