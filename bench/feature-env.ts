/**
 * action-feature-env on the genuine control plane (kwok nodes: pods are ready as soon as they are
 * scheduled, so the time measured is the action's own): 10 services, time to ready cold (a new
 * namespace, every service deployed) against warm (a spare of the warm pool claimed, only the
 * service under test rolls), alternating, side by side, medians. The whole bundled action process,
 * run as the runner runs it, with the GitHub fake.
 *
 *   npx tsx bench/feature-env.ts        BENCH_RUNS=3 (default)  BENCH_SERVICES=10 (default)
 *
 * Target (issue 8): the warm path rolls only the changed services, and its action overhead is under
 * 3 s. The original design (an EC2 instance with Minikube and an RDS restore) took about 12 minutes.
 *
 * Label to usable (issue 16): `ready-probe: /healthz` on the first service's Ingress, and
 * ready-seconds counted from the label event's time in the payload (set just before the runner
 * starts the action). A stand-in ingress controller gives every new Ingress an address (a loopback
 * listener that answers 200, as the controller would once it routes to the pods; kwok runs no
 * container) as soon as it sees it, polling every 100 ms.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startCluster } from '../test/helpers/cluster.js';
import { startGitHubFake } from '../test/fakes/github.js';
import { eventPayload } from '../test/helpers/feature-env.js';
import { deploymentManifest, ingressManifest } from '../test/fixtures/workloads.js';
import { runAction } from '../test/e2e/runner.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SERVICES = Number(process.env.BENCH_SERVICES ?? 10);
const REG = 'registry.example:5000/bench';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const cluster = await startCluster({ log: () => {} });
  const gh = await startGitHubFake({ owner: 'acme', repo: 'bench' });
  gh.collaborators.set('maintainer', 'write');
  const ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-bench-fe-'));
  // The ingress controller's listener (it answers for every host) and its address for each Ingress.
  const listener = http.createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const port = (listener.address() as AddressInfo).port;
  let stop = false;
  const controller = (async () => {
    while (!stop) {
      const list = await cluster.request('GET', '/apis/networking.k8s.io/v1/ingresses');
      type Ing = {
        metadata: { name: string; namespace: string };
        status?: { loadBalancer?: { ingress?: unknown[] } };
      };
      for (const ing of (list.body?.items ?? []) as Ing[]) {
        if (ing.status?.loadBalancer?.ingress?.length) continue;
        ing.status = { loadBalancer: { ingress: [{ ip: '127.0.0.1', ports: [{ port, protocol: 'TCP' }] }] } };
        await cluster.request(
          'PUT',
          `/apis/networking.k8s.io/v1/namespaces/${ing.metadata.namespace}/ingresses/${ing.metadata.name}/status`,
          { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', ...ing },
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await mkdir(path.join(ws, 'k8s'));
    const names = Array.from({ length: SERVICES }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      names
        .flatMap((n) => [
          deploymentManifest(n, `${REG}/${n}:main`),
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: n },
            spec: { selector: { app: n }, ports: [{ port: 80 }] },
          },
        ])
        .concat([ingressManifest(names[0]!) as unknown as ReturnType<typeof deploymentManifest>])
        .map((o) => stringify(o))
        .join('---\n'),
    );
    let number = 0;
    const run = async (warm: boolean) => {
      const n = ++number;
      const sha = `${n}`.padStart(40, 'a');
      gh.addPullRequest({ number: n, headSha: sha });
      gh.label(n, 'feature-env', 'maintainer');
      const inputs = {
        manifests: 'k8s/',
        kubeconfig: cluster.kubeconfig,
        'pin-digests': 'false',
        images: `${REG}/svc-00:pr-${n}`,
        'warm-pool': warm ? '1' : '0',
        timeout: '2m',
        domain: 'preview.example.com',
        'ready-probe': '/healthz',
      };
      const invoke = (e: Parameters<typeof eventPayload>[1]) => {
        const ev = eventPayload(gh, e);
        return runAction('action-feature-env', {
          inputs,
          env: {
            ...gh.env,
            INPUT_TOKEN: gh.token,
            GITHUB_EVENT_NAME: ev.name,
            GITHUB_SHA: ev.sha,
            GITHUB_ACTOR: ev.actor,
          },
          event: ev.payload,
          workspace: ws,
        });
      };
      if (warm) {
        // Fill the pool first (the reaper's job, or the refill after the previous claim): not timed.
        const fill = await invoke({ name: 'workflow_dispatch' });
        if (fill.code !== 0) throw new Error(`refill failed:\n${fill.stdout}\n${fill.stderr}`);
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
      const rolled = (up.summary.match(/✅ success/g) ?? []).length;
      const fromPool = /from the warm pool/.test(up.summary);
      const ready = Number(up.outputs['ready-seconds']) * 1000;
      const down = await invoke({ action: 'closed', number: n, labels: ['feature-env'], sha });
      if (down.code !== 0) throw new Error(`down failed:\n${down.stdout}\n${down.stderr}`);
      return { ms: up.durationMs, ready, rolled, fromPool };
    };
    const cold: Awaited<ReturnType<typeof run>>[] = [];
    const warm: Awaited<ReturnType<typeof run>>[] = [];
    for (let i = 0; i < RUNS; i++) {
      cold.push(await run(false));
      warm.push(await run(true));
    }
    const row = (label: string, xs: typeof cold) =>
      `  ${label.padEnd(34)} ${median(xs.map((x) => x.ms))
        .toFixed(0)
        .padStart(
          7,
        )} ms  ready-seconds ${(median(xs.map((x) => x.ready)) / 1000).toFixed(2).padStart(6)}  rolled ${median(xs.map((x) => x.rolled))} of ${SERVICES}  from the pool ${xs.filter((x) => x.fromPool).length}/${xs.length}`;
    console.log(
      `action-feature-env: ${SERVICES} services, genuine control plane (kwok), ${RUNS} runs each, alternated; ${os.availableParallelism()} cores`,
    );
    console.log(
      '  ready-seconds: from the label event (its time in the payload) to the first URL answering /healthz through the Ingress address',
    );
    console.log(row('cold (new namespace, all deployed)', cold));
    console.log(row('warm (a spare claimed)', warm));
    const c = median(cold.map((x) => x.ms));
    const w = median(warm.map((x) => x.ms));
    const cr = median(cold.map((x) => x.ready));
    const wr = median(warm.map((x) => x.ready));
    console.log(
      `  label to usable (ready-seconds), warm ${(wr / 1000).toFixed(2)} s, cold ${(cr / 1000).toFixed(2)} s, warm / cold: ${(wr / cr).toFixed(2)}x; whole process, warm / cold: ${(w / c).toFixed(2)}x ` +
        '(the warm run also refills the pool after the environment is ready; on kwok pods start at once, so a cold start here is as fast as a real cluster is slow)',
    );
    console.log(
      `  target: the warm path rolls only the changed service -> ${warm.every((x) => x.rolled === 1 && x.fromPool) ? 'met' : 'NOT met'}`,
    );
    console.log(
      `  target: warm action overhead (whole process) under 3 s -> ${w < 3000 ? 'met' : 'NOT met'} (${(w / 1000).toFixed(2)} s)`,
    );
    console.log('  the original design (EC2 + Minikube + an RDS restore): about 12 minutes per environment');
  } finally {
    stop = true;
    await controller.catch(() => undefined);
    await new Promise((r) => listener.close(r));
    await gh.stop();
    await cluster.stop({ removeDir: true });
    await rm(ws, { recursive: true, force: true });
  }
}

await main();
