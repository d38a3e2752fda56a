/**
 * action-deploy-k8s on many workloads: the whole bundled action process (dist/index.js, run as the
 * runner runs it) against the Kubernetes API-server fake with instant readiness. Prints wall times
 * side by side with a bare `node -e ''` start, and the API requests the fake saw per run, per
 * workload and by kind of request.
 *
 *   npx tsx bench/deploy.ts                                      # 20 Deployments (the issue's figure)
 *   BENCH_WORKLOADS=6 BENCH_RUNS=2 npx tsx bench/deploy.ts       # a quick smoke run
 *   BENCH_RUNS=5 (default; rollouts measured)  BENCH_REPLICAS=2 (default)  BENCH_VERBOSE=1 (action logs)
 *   BENCH_ACTION=dir (default action-deploy-k8s): another action directory, relative to the repo
 *
 * Runs, one namespace, every Deployment with its own image:
 *  - create: the first apply creates every Deployment (images `…/svc-NN:v1` through the `images` input);
 *  - rollout k: every image gets a new tag (`:v<k+1>`), so every Deployment rolls out;
 *  - no-op re-run k: the same input again, nothing to write or watch (issue 6: at most one request per
 *    object plus a constant, under 0.5 s of action time).
 * After each run the bench checks in the fake that every Deployment runs the run's image, fully
 * rolled out. Then: the engine in-process (up to 3 rollouts, median; its own request counter next to
 * the fake's, and the time of each phase), the bundle started with a bad `timeout` (loading and
 * input checking only, no request), and a rollout of half as many workloads in a second namespace,
 * so that requests per workload (the slope) and the constant part are measured rather than guessed.
 * In-process, the fake shares the engine's event loop: its controllers' work lands in the Apply phase.
 * Targets (issue 3): the whole action process under 2 s; at most 3 API requests per workload plus a constant.
 * Images are substituted by tag with `pin-digests: false`: the registry is not part of this benchmark.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { startKubeFake, type KubeFake } from '../test/fakes/kube/index.js';
import type { LoggedRequest } from '../test/fakes/kube/server.js';
import { runAction, ROOT, type ActionRun } from '../test/e2e/runner.js';
import { withDefaults } from '../src/core/input-spec.js';
import { memoryLogger, type Logger } from '../src/core/logger.js';
import { DEPLOY_INPUTS, parseDeployInputs } from '../src/deploy/inputs.js';
import { runDeploy } from '../src/deploy/run.js';

const N = Number(process.env.BENCH_WORKLOADS ?? 20);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const REPLICAS = Number(process.env.BENCH_REPLICAS ?? 2);
const VERBOSE = process.env.BENCH_VERBOSE === '1';
const ACTION = process.env.BENCH_ACTION ?? 'action-deploy-k8s';
const NS = 'bench';
const NS_HALF = 'bench-half';
const REPO = '127.0.0.1:5000/bench';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const CATEGORIES = ['discovery', 'list', 'get', 'dry-run PATCH', 'PATCH', 'watch', 'other'] as const;
type Category = (typeof CATEGORIES)[number];

/** What a request was, from its method and path (query included). */
function classify(r: LoggedRequest): Category {
  const [p = '', query = ''] = r.path.split('?');
  const q = new URLSearchParams(query);
  if (r.watch) return 'watch';
  if (r.method === 'GET' && /^\/(version|api|apis)(\/[^/]+){0,2}\/?$/.test(p) && !p.includes('/namespaces'))
    return 'discovery';
  if (r.method === 'PATCH') return q.get('dryRun') ? 'dry-run PATCH' : 'PATCH';
  if (r.method === 'GET') {
    // /api/v1/namespaces/ns/pods, /apis/g/v/namespaces/ns/deployments: a collection; one more segment: an object.
    const parts = p.split('/').filter(Boolean);
    const base = parts[0] === 'api' ? 2 : 3;
    const rest = parts.slice(base);
    const collection = rest[0] === 'namespaces' ? rest.length === 3 : rest.length === 1;
    return collection ? 'list' : 'get';
  }
  return 'other';
}

function breakdown(log: LoggedRequest[]): Record<Category, number> {
  const out = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  for (const r of log) out[classify(r)]++;
  return out;
}

function deploymentYaml(name: string, image: string): string {
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}`,
    '  labels:',
    `    app.kubernetes.io/name: ${name}`,
    'spec:',
    `  replicas: ${REPLICAS}`,
    '  selector:',
    '    matchLabels:',
    `      app.kubernetes.io/name: ${name}`,
    '  template:',
    '    metadata:',
    '      labels:',
    `        app.kubernetes.io/name: ${name}`,
    '    spec:',
    '      containers:',
    '        - name: app',
    `          image: ${image}`,
    '          ports:',
    '            - containerPort: 8080',
    '',
  ].join('\n');
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
const imagesFor = (n: number, tag: string) => names(n).map((s) => `${REPO}/${s}:${tag}`);

/** Every Deployment of `ns` runs `tag` and is fully rolled out. */
function checkRolledOut(fake: KubeFake, ns: string, n: number, tag: string): void {
  const deps = fake.list('apps/v1', 'Deployment', ns);
  if (deps.length !== n) throw new Error(`${ns}: ${deps.length} Deployments, expected ${n}`);
  for (const d of deps) {
    const spec = d.spec as { replicas: number; template: { spec: { containers: { image: string }[] } } };
    const st = (d.status ?? {}) as Record<string, number | undefined>;
    const image = spec.template.spec.containers[0]!.image;
    if (!image.endsWith(`:${tag}`)) throw new Error(`${d.metadata.name}: runs ${image}, expected tag ${tag}`);
    const done =
      st.observedGeneration === d.metadata.generation &&
      st.updatedReplicas === spec.replicas &&
      st.availableReplicas === spec.replicas &&
      (st.replicas ?? 0) === spec.replicas;
    if (!done) throw new Error(`${d.metadata.name}: not rolled out: ${JSON.stringify(st)}`);
  }
}

async function main(): Promise<void> {
  const meta = YAML.parse(await readFile(path.join(ROOT, ACTION, 'action.yml'), 'utf8')) as {
    runs: { main: string };
  };
  const dist = path.join(ROOT, ACTION, meta.runs.main);
  if (!existsSync(dist)) throw new Error(`${dist} does not exist: run npm run bundle first`);
  const fake = await startKubeFake({ readyDelayMs: 0, namespaces: [NS, NS_HALF] });
  const ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-bench-deploy-'));
  try {
    for (const [dir, n] of [
      ['k8s', N],
      ['k8s-half', Math.floor(N / 2)],
    ] as const) {
      await mkdir(path.join(ws, dir));
      for (const [i, name] of names(n).entries())
        await writeFile(path.join(ws, dir, `${name}.yaml`), deploymentYaml(name, imagesFor(n, 'v1')[i]!));
    }
    const inputs = (dir: string, ns: string, n: number, tag: string) => ({
      manifests: `${dir}/`,
      namespace: ns,
      images: imagesFor(n, tag).join('\n'),
      'pin-digests': 'false',
      kubeconfig: fake.kubeconfig,
      timeout: '60s',
    });
    const deploy = async (label: string, dir: string, ns: string, n: number, tag: string) => {
      fake.resetRequestLog();
      const r: ActionRun = await runAction(ACTION, {
        inputs: inputs(dir, ns, n, tag),
        workspace: ws,
      });
      const log = [...fake.requestLog];
      if (VERBOSE) console.log(`--- ${label}\n${r.stdout}${r.stderr}`);
      if (r.code !== 0 || r.outputs.result !== 'success')
        throw new Error(`${label}: the action failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      checkRolledOut(fake, ns, n, tag);
      return { label, ms: r.durationMs, requests: log.length, by: breakdown(log) };
    };

    const node = path.join(ROOT, 'node_modules/.bin/node');
    const bare: number[] = [];
    const bareStart = () => {
      const t = performance.now();
      spawnSync(node, ['-e', '']);
      bare.push(performance.now() - t);
    };

    const rows: Awaited<ReturnType<typeof deploy>>[] = [];
    bareStart();
    rows.push(await deploy('create', 'k8s', NS, N, 'v1'));
    for (let k = 1; k <= RUNS; k++) {
      bareStart();
      rows.push(await deploy(`rollout ${k}`, 'k8s', NS, N, `v${k + 1}`));
    }
    for (let k = 1; k <= RUNS; k++) {
      bareStart();
      rows.push(await deploy(`no-op re-run ${k}`, 'k8s', NS, N, `v${RUNS + 1}`));
    }

    // The engine in-process (a few times, median): its own request counter next to the fake's, the
    // time without a process, and the time of each phase (the engine's log groups).
    const engineRuns: Array<{
      ms: number;
      count: number;
      log: LoggedRequest[];
      phases: Map<string, number>;
    }> = [];
    for (let k = 0; k < Math.max(1, Math.min(RUNS, 3)); k++) {
      const tag = `v${RUNS + 2 + k}`;
      const opts = parseDeployInputs(withDefaults(DEPLOY_INPUTS, inputs('k8s', NS, N, tag)), ws, {
        sha: '0123456789abcdef0123456789abcdef01234567',
      });
      fake.resetRequestLog();
      const logger = memoryLogger();
      const phases = new Map<string, number>();
      const timed: Logger = {
        ...logger,
        group: async (name, fn) => {
          const t = performance.now();
          try {
            return await logger.group(name, fn);
          } finally {
            phases.set(name.replace(/\d+/g, 'N'), performance.now() - t);
          }
        },
      };
      const t = performance.now();
      const r = await runDeploy(opts, { logger: timed });
      const ms = performance.now() - t;
      if (r.result !== 'success') throw new Error(`in-process run: ${r.result}\n${logger.text()}`);
      checkRolledOut(fake, NS, N, tag);
      engineRuns.push({ ms, count: r.requestCount, log: [...fake.requestLog], phases });
    }
    const engine = [...engineRuns].sort((x, y) => x.ms - y.ms)[Math.floor(engineRuns.length / 2)]!;
    const engineMs = engine.ms;
    const engineLog = engine.log;

    // Loading the bundle and failing at the first input check: what a run costs before any work.
    fake.resetRequestLog();
    const loadOnly = await runAction(ACTION, {
      inputs: { ...inputs('k8s', NS, N, 'v1'), timeout: 'soon' },
      workspace: ws,
    });
    if (loadOnly.code === 0 || fake.requestLog.length)
      throw new Error(`the run with a bad timeout should fail before any request:\n${loadOnly.stdout}`);

    // Scaling: the same rollout with half as many workloads gives requests per workload and the constant.
    const half = Math.floor(N / 2);
    await deploy('create (half)', 'k8s-half', NS_HALF, half, 'v1');
    const halfRollout = await deploy('rollout (half)', 'k8s-half', NS_HALF, half, 'v2');

    // ---------------------------------------------------------------- report
    const rollouts = rows.filter((r) => r.label.startsWith('rollout'));
    const full = median(rollouts.map((r) => r.requests));
    const slope = (full - halfRollout.requests) / (N - half);
    const constant = full - slope * N;
    const b = median(bare);
    const m = median(rollouts.map((r) => r.ms));

    console.log(
      `action-deploy-k8s: ${N} Deployments x ${REPLICAS} replicas, one namespace, fake API server with instant readiness; ` +
        `${os.availableParallelism()} cores; node ${process.version}`,
    );
    const header = ['run', 'wall ms', 'x node', 'requests', '/workload', ...CATEGORIES];
    const table = [
      header,
      ...rows.map((r) => [
        r.label,
        r.ms.toFixed(0),
        (r.ms / b).toFixed(2),
        String(r.requests),
        (r.requests / N).toFixed(2),
        ...CATEGORIES.map((c) => String(r.by[c])),
      ]),
      [
        `engine in-process (median of ${engineRuns.length})`,
        engineMs.toFixed(0),
        (engineMs / b).toFixed(2),
        String(engineLog.length),
        (engineLog.length / N).toFixed(2),
        ...CATEGORIES.map((c) => String(breakdown(engineLog)[c])),
      ],
      [
        `rollout, ${half} workloads`,
        halfRollout.ms.toFixed(0),
        (halfRollout.ms / b).toFixed(2),
        String(halfRollout.requests),
        (halfRollout.requests / half).toFixed(2),
        ...CATEGORIES.map((c) => String(halfRollout.by[c])),
      ],
      [
        'bundle load + input check',
        loadOnly.durationMs.toFixed(0),
        (loadOnly.durationMs / b).toFixed(2),
        '0',
        '',
        ...CATEGORIES.map(() => ''),
      ],
      ["node -e ''", b.toFixed(0), '1.00', '', '', ...CATEGORIES.map(() => '')],
    ];
    const w = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
    for (const r of table)
      console.log(`  ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')}`);
    console.log('');
    console.log(
      `  rollout of ${N}, median of ${RUNS}: ${m.toFixed(0)} ms, ${(m / b).toFixed(2)}x a bare node start (${b.toFixed(0)} ms)`,
    );
    console.log(
      `  engine in-process (median of ${engineRuns.length}): ${engineMs.toFixed(0)} ms; client.requestCount ${engine.count}, the fake saw ${engineLog.length}`,
    );
    console.log(
      `  engine phases: ${[...engine.phases].map(([name, ms]) => `${name} ${ms.toFixed(0)} ms`).join(', ')}`,
    );
    console.log(
      `  requests: ${full} for ${N} workloads, ${halfRollout.requests} for ${half}: ` +
        `${slope.toFixed(2)} per workload + ${constant.toFixed(0)} constant`,
    );
    console.log(`  target: whole action process under 2000 ms -> ${m < 2000 ? 'met' : 'NOT met'}`);
    const noops = rows.filter((r) => r.label.startsWith('no-op'));
    const noopMs = median(noops.map((r) => r.ms));
    const noopRequests = median(noops.map((r) => r.requests));
    const noopWrites = Math.max(...noops.map((r) => r.by.PATCH + r.by.watch));
    console.log(
      `  no-op re-run of ${N} (same inputs again), median of ${noops.length}: ${noopMs.toFixed(0)} ms whole action process, ` +
        `${(noopMs / b).toFixed(2)}x a bare node start; ${noopRequests} requests (${noopWrites} writes or watches)`,
    );
    console.log(
      `  target: no-op re-run at most one request per object plus a constant -> ${noopWrites === 0 && noopRequests - N <= Math.max(0, Math.round(constant)) ? 'met' : 'NOT met'} ` +
        `(${noopRequests} = ${N} + ${noopRequests - N})`,
    );
    console.log(`  target: no-op re-run under 500 ms of action time -> ${noopMs < 500 ? 'met' : 'NOT met'}`);
    console.log(
      `  target: at most 3 requests per workload plus a constant -> ${slope <= 3 ? 'met' : 'NOT met'} ` +
        `(${full} <= 3 x ${N} + ${Math.max(0, Math.round(constant))})`,
    );
  } finally {
    await fake.stop();
    await rm(ws, { recursive: true, force: true });
  }
}

await main();
