/**
 * Many services in one step (issue 14 item 6): 12 services on one base, on the real registry and
 * buildah, the whole action-deploy-k8s process (its bundle, as the runner starts it) against a
 * Kubernetes API (the project's fake: the bench measures builds, skips and one apply, not a
 * cluster's rollouts). Three scenarios, each arm in turn in one run:
 *
 *  - all new: every service's code changes;
 *  - one changed: one service's code changes;
 *  - none changed: nothing changes.
 *
 * Arms:
 *  (ours) one action step with `services: services/*` (content tags, only the changed ones built,
 *         in parallel, one apply);
 *  (a)    the naive pipeline of copied workflows: build and push every service on every push, one
 *         after another (buildah, the same builder), no deploy counted (in its favour);
 *  (b)    our own action once per service (`services: services/<name>`): 12 steps, 12 applies.
 *
 * Each service's Dockerfile copies its code and runs about BENCH_BUILD_SECONDS (default 1.5) of CPU
 * work on one core, a stand-in for the compile a real service's build does.
 *
 * Targets: one changed ≥ 8× faster than (a) and ≥ 2× faster than (b); none changed, 12 services, the
 * whole step < 2 s with nothing pushed and nothing restarted.
 *
 * Then the registry layer cache (issue 14 item 2): one service whose Dockerfile has a slow dependency
 * step (BENCH_DEPS_SECONDS, default 6, of CPU) before its code; its code changes, and it is rebuilt on
 * a fresh runner (an empty builder store) by the whole action, `cache: registry` (the default) against
 * `cache: none`, BENCH_CACHE_ROUNDS (default 3) rounds alternating. Target: the warm cache ≥ 3× faster.
 *
 *   npx tsx bench/services.ts   BENCH_SERVICES=12  BENCH_PARALLEL=0 (CPUs)  BENCH_BUILD_SECONDS=1.5 (defaults)
 */
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startRegistry } from '../test/helpers/registry.js';
import { makeRootImage } from '../test/helpers/base-image.js';
import { privateBuildahStore } from '../test/helpers/buildah-store.js';
import { startKubeFake } from '../test/fakes/kube/index.js';
import { deploymentManifest } from '../test/fixtures/workloads.js';
import { runAction } from '../test/e2e/runner.js';
import { buildAndPush, resolveBuilder } from '../src/builder/index.js';
import { memoryLogger } from '../src/core/logger.js';

const N = Number(process.env.BENCH_SERVICES ?? 12);
const PARALLEL = process.env.BENCH_PARALLEL ?? '0';
// busybox awk counts about 3 million a second on these machines.
const LOOPS = Math.round(Number(process.env.BENCH_BUILD_SECONDS ?? 1.5) * 3_000_000);
const names = Array.from({ length: N }, (_, i) => `svc${String(i + 1).padStart(2, '0')}`);
const DEPS_LOOPS = Math.round(Number(process.env.BENCH_DEPS_SECONDS ?? 6) * 3_000_000);
const CACHE_ROUNDS = Number(process.env.BENCH_CACHE_ROUNDS ?? 3);

const reg = await startRegistry();
const kube = await startKubeFake({ readyDelayMs: 20, tickMs: 50 });
const top = await mkdtemp(path.join(os.tmpdir(), 'c2c-bench-services-'));
// Each arm has a checkout of its own (the same files, the same changes) and repositories of its own,
// so that no arm finds the images another built.
const ARMS = ['ours', 'each', 'naive'] as const;
const wsOf = (arm: (typeof ARMS)[number]) => path.join(top, arm);
try {
  const root = await makeRootImage(reg.host, 'bench/root');
  for (const arm of ARMS) await writeRepo(wsOf(arm), arm);
  const change = async (n: string, salt: string) => {
    for (const arm of ARMS) await appendFile(path.join(wsOf(arm), 'services', n, 'code.txt'), `${salt}\n`);
  };
  async function writeRepo(ws: string, arm: string): Promise<void> {
    await mkdir(path.join(ws, 'k8s'), { recursive: true });
    for (const n of names) {
      await mkdir(path.join(ws, 'services', n), { recursive: true });
      await writeFile(
        path.join(ws, 'services', n, 'Dockerfile'),
        // The build's own work (a compile, say): CPU for about BENCH_BUILD_SECONDS on one core.
        `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nCOPY code.txt /srv/code.txt\nRUN awk 'BEGIN{for(i=0;i<${LOOPS};i++)s+=i; print s}' > /srv/built\n`,
      );
      await writeFile(path.join(ws, 'services', n, 'code.txt'), `${n}\n`);
      await writeFile(
        path.join(ws, 'k8s', `${n}.yaml`),
        stringify(deploymentManifest(n, `${reg.host}/bench/${arm}-${n}:main`)),
      );
    }
  }
  // Every step runs as on a fresh runner: an empty builder store (the base pulled from the registry).
  let env: Record<string, string> = {};
  const freshRunner = async <T>(fn: () => Promise<T>): Promise<T> => {
    const s = await privateBuildahStore('bench-runner');
    env = s.env;
    Object.assign(process.env, s.env);
    try {
      return await fn();
    } finally {
      await s.remove();
    }
  };
  const common = {
    'create-namespace': 'true',
    'base-image': root,
    builder: 'buildah',
    kubeconfig: kube.kubeconfig,
    timeout: '2m',
    parallel: PARALLEL,
  };
  const step = async (arm: 'ours' | 'each', inputs: Record<string, string>) => {
    const r = await runAction('action-deploy-k8s', {
      inputs: {
        ...common,
        namespace: `bench-${arm}`,
        image: `${reg.host}/bench/${arm}-{service}`,
        ...inputs,
      },
      workspace: wsOf(arm),
      env,
    });
    if (r.code !== 0) throw new Error(`the action failed:\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const ours = () =>
    freshRunner(async () => {
      const t = performance.now();
      const r = await step('ours', { manifests: 'k8s/', services: 'services/*' });
      return { ms: performance.now() - t, built: r.outputs.built ? r.outputs.built.split('\n').length : 0 };
    });
  // One job with a step per service: one runner (one store) for all of them.
  const perService = () =>
    freshRunner(async () => {
      const t = performance.now();
      let built = 0;
      for (const n of names) {
        const r = await step('each', { manifests: `k8s/${n}.yaml`, services: `services/${n}` });
        if (r.outputs.built) built++;
      }
      return { ms: performance.now() - t, built };
    });
  const builder = await resolveBuilder('buildah', memoryLogger());
  let naiveRun = 0;
  const naive = () =>
    freshRunner(async () => {
      const t = performance.now();
      naiveRun++;
      for (const n of names)
        await buildAndPush(
          {
            context: path.join(wsOf('naive'), 'services', n),
            dockerfile: path.join(wsOf('naive'), 'services', n, 'Dockerfile'),
            tags: [`${reg.host}/bench/naive-${n}:run-${naiveRun}`],
            buildArgs: [['BASE_IMAGE', root]],
            labels: {},
            targets: [{ host: reg.host, insecure: true }],
            logger: memoryLogger(),
          },
          builder,
        );
      return { ms: performance.now() - t, built: names.length };
    });

  // A first deploy of each, so that "none changed" has something to leave alone.
  await ours();
  await perService();
  const rows: Array<
    [string, { ms: number; built: number }, { ms: number; built: number }, { ms: number; built: number }]
  > = [];
  let salt = 0;
  const scenario = async (label: string, changeSome: () => Promise<void>) => {
    await changeSome();
    const o = await ours();
    const b = await perService();
    const a = await naive();
    rows.push([label, o, a, b]);
  };
  await scenario('all new', async () => {
    salt++;
    for (const n of names) await change(n, `all ${salt}`);
  });
  await scenario('one changed', async () => {
    salt++;
    await change(names[0]!, `one ${salt}`);
  });
  await scenario('none changed', async () => {});

  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`.padStart(8);
  console.log(`${N} services on one base, whole action process; built = images built by the step(s)`);
  console.log(
    'scenario        ours (built)        (a) naive (built)   (b) per service (built)   a/ours   b/ours',
  );
  for (const [label, o, a, b] of rows)
    console.log(
      `${label.padEnd(15)} ${s(o.ms)} (${String(o.built).padStart(2)})      ${s(a.ms)} (${String(a.built).padStart(2)})      ${s(b.ms)} (${String(b.built).padStart(2)})             ${(a.ms / o.ms).toFixed(1).padStart(5)}x  ${(b.ms / o.ms).toFixed(1).padStart(5)}x`,
    );
  const one = rows.find((r) => r[0] === 'one changed')!;
  const none = rows.find((r) => r[0] === 'none changed')!;
  console.log(
    `targets: one changed >= 8x (a): ${(one[2].ms / one[1].ms).toFixed(1)}x ${one[2].ms / one[1].ms >= 8 ? 'met' : 'NOT met'}; >= 2x (b): ${(one[3].ms / one[1].ms).toFixed(1)}x ${one[3].ms / one[1].ms >= 2 ? 'met' : 'NOT met'}; none changed < 2 s: ${s(none[1].ms).trim()} ${none[1].ms < 2000 && none[1].built === 0 ? 'met' : 'NOT met'}`,
  );

  // ---- the registry layer cache: a cold store rebuilds a service whose dependency layer is unchanged
  const cacheWs = (cache: 'registry' | 'none') => path.join(top, `cache-${cache}`);
  for (const cache of ['registry', 'none'] as const) {
    const ws = cacheWs(cache);
    await mkdir(path.join(ws, 'services', 'app'), { recursive: true });
    await mkdir(path.join(ws, 'k8s'), { recursive: true });
    await writeFile(
      path.join(ws, 'services/app/Dockerfile'),
      // The dependency step (a pip install, an npm ci) first, then the code: a code change leaves
      // the dependency layer as it was.
      `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nCOPY deps.txt /srv/deps.txt\n` +
        `RUN awk 'BEGIN{for(i=0;i<${DEPS_LOOPS};i++)s+=i; print s}' > /srv/deps-installed\n` +
        `COPY code.txt /srv/code.txt\n`,
    );
    await writeFile(path.join(ws, 'services/app/deps.txt'), 'flask==3.0.3\n');
    await writeFile(path.join(ws, 'services/app/code.txt'), 'v0\n');
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      stringify(deploymentManifest('app', `${reg.host}/bench/cache-${cache}-app:main`)),
    );
  }
  const cacheStep = (cache: 'registry' | 'none') =>
    freshRunner(async () => {
      const t = performance.now();
      const r = await runAction('action-deploy-k8s', {
        inputs: {
          ...common,
          namespace: `bench-cache-${cache}`,
          image: `${reg.host}/bench/cache-${cache}-{service}`,
          manifests: 'k8s/',
          services: 'services/*',
          cache,
        },
        workspace: cacheWs(cache),
        env,
      });
      if (r.code !== 0) throw new Error(`the action failed (cache: ${cache}):\n${r.stdout}\n${r.stderr}`);
      if (r.outputs.built !== 'app') throw new Error(`cache: ${cache}: built '${r.outputs.built}', not app`);
      return performance.now() - t;
    });
  // The first builds: with cache: registry, this one fills app-cache in the registry.
  for (const cache of ['registry', 'none'] as const) await cacheStep(cache);
  const times: Record<'registry' | 'none', number[]> = { registry: [], none: [] };
  for (let round = 1; round <= CACHE_ROUNDS; round++) {
    const order = round % 2 ? (['registry', 'none'] as const) : (['none', 'registry'] as const);
    for (const cache of order) {
      await writeFile(path.join(cacheWs(cache), 'services/app/code.txt'), `v${round}\n`);
      times[cache].push(await cacheStep(cache));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const [warm, cold] = [median(times.registry), median(times.none)];
  console.log(
    `\nlayer cache: a code change rebuilt on a fresh runner (empty store), dependency step ~${(DEPS_LOOPS / 3_000_000).toFixed(0)} s of CPU; median of ${CACHE_ROUNDS}`,
  );
  console.log('cache: registry (warm)   cache: none   none/registry');
  console.log(
    `${s(warm)}                 ${s(cold)}       ${(cold / warm).toFixed(1).padStart(5)}x   (rounds: registry ${times.registry.map((x) => s(x).trim()).join(', ')}; none ${times.none.map((x) => s(x).trim()).join(', ')})`,
  );
  console.log(
    `target: warm cache >= 3x faster: ${(cold / warm).toFixed(1)}x ${cold / warm >= 3 ? 'met' : 'NOT met'}`,
  );
} finally {
  await Promise.all([reg.stop(), kube.stop()]);
  await rm(top, { recursive: true, force: true });
}
