/**
 * action-deploy-k8s against the genuine control plane (test/helpers/cluster.ts: kube-apiserver, etcd,
 * controller manager, scheduler, kwok nodes where pods become Ready at once), side by side in one run:
 *
 *  - ours: the whole bundled action process (dist/index.js through test/e2e/runner.ts, inputs as a
 *    workflow gives them: action.yml defaults, so the server-side dry run, fail-fast and the audit
 *    annotations are on; pin-digests false: the registry is not part of this benchmark);
 *  - kubectl: what the common deploy actions run, `kubectl apply --server-side -f dir/` then
 *    `kubectl rollout status deployment/<name>` for each workload in turn (the cache's kubectl
 *    v1.34.4, the same kubeconfig, images written into the manifests beforehand, not timed); with a
 *    fresh `--cache-dir` per run (a hosted runner starts every job without one) and with a warm one;
 *  - ours against the API-server fake (startKubeFake, readyDelayMs 0, as bench/deploy.ts), the same work;
 *  - the bundle loaded and stopped at the first input check, and `node -e ''`.
 *
 * Every run changes the image of N Deployments (each its own namespace per contender, so field
 * managers do not meet). The contenders alternate run by run (the order rotates every round), each
 * run starts on a settled cluster (previous pods gone). The bench watches Deployments and Pods of
 * every namespace itself (one list+watch each, timestamps on its own clock), which splits a run into:
 * start -> first apply (the Deployment shows the new image), apply -> the last new pod Ready,
 * pods Ready -> the Deployment controller's status says complete, and pods Ready -> the contender
 * reported success (its process ended): the deploy's overhead on top of the pods' own readiness.
 * Then the engine in-process (a few times on each target, alternated): its requestCount and the time
 * of each phase (the logger's groups). In-process, the engine shares the bench's event loop with the
 * watches above and the fake: its times are for the phases' shares, the process runs for the totals.
 * Ratios are printed as the ratio of the medians, and per round (the two runs of a round are close in
 * time, so the round's load is shared), with their spread.
 *
 *   npm run bench -- deploy-cluster
 *   BENCH_WORKLOADS=10 (default)  BENCH_RUNS=5 (default, at least 5 for the ratio)  BENCH_REPLICAS=2
 *   BENCH_INPROC_RUNS=3  BENCH_VERBOSE=1 (action logs)  BENCH_CPU_PROF=dir (node --cpu-prof of our runs)
 *   BENCH_COMPARE=dir: another build of the action (a directory with action.yml and dist/, e.g. a copy
 *     of action-deploy-k8s made before a change) as one more contender, "ours B", for before/after figures
 * Target (issue 7): ours <= 0.9x the kubectl sequence, medians of >= 5 runs each.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { startCluster, type Cluster } from '../test/helpers/cluster.js';
import { startKubeFake, type KubeFake, type LoggedRequest } from '../test/fakes/kube/index.js';
import { runAction, ROOT } from '../test/e2e/runner.js';
import { withDefaults } from '../src/core/input-spec.js';
import { memoryLogger, type Logger } from '../src/core/logger.js';
import { KubeClient, loadKubeconfig, type KubeObject } from '../src/kube/index.js';
import { DEPLOY_INPUTS, parseDeployInputs } from '../src/deploy/inputs.js';
import { runDeploy } from '../src/deploy/run.js';

const N = Number(process.env.BENCH_WORKLOADS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const REPLICAS = Number(process.env.BENCH_REPLICAS ?? 2);
const INPROC_RUNS = Number(process.env.BENCH_INPROC_RUNS ?? 3);
const VERBOSE = process.env.BENCH_VERBOSE === '1';
const CPU_PROF = process.env.BENCH_CPU_PROF;
const ACTION = 'action-deploy-k8s';
const REPO = '127.0.0.1:5000/bench';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const COMPARE = process.env.BENCH_COMPARE
  ? path.relative(ROOT, path.resolve(process.env.BENCH_COMPARE))
  : undefined;

const NS = {
  ours: 'ours',
  oursB: 'ours-b',
  kubectl: 'kubectl',
  kubectlWarm: 'kubectl-warm',
  inproc: 'inproc',
} as const;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const spread = (xs: number[], digits = 0) =>
  `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`;

const names = Array.from({ length: N }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
const imageOf = (name: string, tag: string) => `${REPO}/${name}:${tag}`;
const tagOf = (image: string | undefined) => (image ? image.slice(image.lastIndexOf(':') + 1) : '');

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

const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  group: (_name, fn) => fn(),
  secret: () => undefined,
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const imageIn = (o: KubeObject) =>
  (o as Any).spec?.template?.spec?.containers?.[0]?.image as string | undefined;
const podImage = (o: KubeObject) => (o as Any).spec?.containers?.[0]?.image as string | undefined;
const podReady = (o: KubeObject) =>
  ((o as Any).status?.conditions ?? []).some((c: Any) => c.type === 'Ready' && c.status === 'True');
/** kubectl rollout status's rule: the controller saw this generation, every replica updated and available, no old one left. */
const rolledOut = (o: KubeObject) => {
  const d = o as Any;
  const want = d.spec?.replicas ?? 1;
  const st = d.status ?? {};
  return (
    (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
    (st.updatedReplicas ?? 0) === want &&
    (st.replicas ?? 0) === want &&
    (st.availableReplicas ?? 0) === want
  );
};

/**
 * Follows the Deployments and Pods of one namespace from the bench (list+watch each) and keeps, on
 * the bench's clock, when each Deployment first showed a tag (the apply landed), when it was first
 * seen rolled out with that tag, and when each pod first was Ready.
 */
class Observer {
  private readonly applied = new Map<string, number>(); // name@tag
  private readonly done = new Map<string, number>(); // name@tag
  private readonly podReadyAt = new Map<string, { tag: string; t: number }>(); // pod name
  private readonly pods = new Map<string, KubeObject>(); // alive
  private readonly deployments = new Map<string, KubeObject>();
  private readonly controller = new AbortController();
  private readonly work: Promise<unknown>;
  private wake: (() => void) | undefined;

  private constructor(
    client: KubeClient,
    readonly namespace: string,
  ) {
    const follow = async (apiVersion: string, kind: string, on: (type: string, o: KubeObject) => void) => {
      try {
        for await (const ev of client.watch(apiVersion, kind, { namespace, signal: this.controller.signal }))
          if (ev.type !== 'BOOKMARK') {
            on(ev.type, ev.object);
            this.wake?.();
          }
      } catch (e) {
        if (!this.controller.signal.aborted) throw e;
      }
    };
    this.work = Promise.all([
      follow('apps/v1', 'Deployment', (type, o) => this.onDeployment(type, o)),
      follow('v1', 'Pod', (type, o) => this.onPod(type, o)),
    ]);
  }

  static async start(kubeconfig: string, namespace: string): Promise<Observer> {
    const client = new KubeClient(await loadKubeconfig({ content: kubeconfig }, quiet), { logger: quiet });
    return new Observer(client, namespace);
  }

  private onDeployment(type: string, o: KubeObject): void {
    const name = o.metadata.name ?? '';
    if (type === 'DELETED') return void this.deployments.delete(name);
    this.deployments.set(name, o);
    const key = `${name}@${tagOf(imageIn(o))}`;
    const t = performance.now();
    if (!this.applied.has(key)) this.applied.set(key, t);
    if (!this.done.has(key) && rolledOut(o)) this.done.set(key, t);
  }

  private onPod(type: string, o: KubeObject): void {
    const name = o.metadata.name ?? '';
    if (type === 'DELETED') return void this.pods.delete(name);
    // A terminating pod is on its way out: not one of the rollout's.
    if (o.metadata.deletionTimestamp) this.pods.delete(name);
    else this.pods.set(name, o);
    if (!this.podReadyAt.has(name) && podReady(o) && !o.metadata.deletionTimestamp)
      this.podReadyAt.set(name, { tag: tagOf(podImage(o)), t: performance.now() });
  }

  /** Every Deployment runs `tag`, rolled out, and only its pods are left. */
  settled(tag: string): boolean {
    const pods = [...this.pods.values()];
    return (
      this.deployments.size === N &&
      [...this.deployments.values()].every((d) => tagOf(imageIn(d)) === tag && rolledOut(d)) &&
      pods.length === N * REPLICAS &&
      pods.every((p) => tagOf(podImage(p)) === tag && podReady(p))
    );
  }

  async waitSettled(tag: string, timeoutMs = 120_000): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (!this.settled(tag)) {
      if (performance.now() > end)
        throw new Error(
          `${this.namespace}: not settled on ${tag} after ${timeoutMs / 1000}s: ` +
            `${this.deployments.size} Deployments, pods ${[...this.pods.values()].map((p) => `${p.metadata.name}=${tagOf(podImage(p))}${podReady(p) ? '' : '(not ready)'}`).join(' ')}`,
        );
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 200);
        this.wake = () => {
          clearTimeout(timer);
          r();
        };
      });
    }
    this.wake = undefined;
  }

  /** When the run that deployed `tag` applied (first, last), its last pod was Ready, its last rollout was seen complete. */
  timeline(tag: string): { applyFirst: number; applyLast: number; podsReady: number; rolledOut: number } {
    const at = (m: Map<string, number>) =>
      names.map((n) => {
        const t = m.get(`${n}@${tag}`);
        if (t === undefined) throw new Error(`${this.namespace}: ${n} was never seen with ${tag}`);
        return t;
      });
    const ready = [...this.podReadyAt.values()].filter((p) => p.tag === tag).map((p) => p.t);
    if (ready.length < N * REPLICAS)
      throw new Error(`${this.namespace}: ${ready.length} pods Ready with ${tag}, expected ${N * REPLICAS}`);
    const applied = at(this.applied);
    return {
      applyFirst: Math.min(...applied),
      applyLast: Math.max(...applied),
      podsReady: Math.max(...ready),
      rolledOut: Math.max(...at(this.done)),
    };
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.work.catch(() => undefined);
  }
}

interface Run {
  contender: string;
  round: number;
  ms: number;
  /** From the start of the run, ms: first and last apply seen, last new pod Ready, last rollout complete. */
  applyFirst?: number;
  applyLast?: number;
  podsReady?: number;
  rolledOut?: number;
  requests?: number;
  /** The fake's log of the run, by kind of request. */
  byKind?: Map<string, number>;
}

/** GET /apis/apps/v1/namespaces/ours/deployments/svc-03?dryRun=All -> "PATCH dry-run .../deployments/NAME". */
function kindOfRequest(r: LoggedRequest): string {
  const [p = '', q = ''] = r.path.split('?');
  const general = p.replace(/\/namespaces\/[^/]+/, '/namespaces/NS').replace(/\/svc-\d+/, '/NAME');
  return `${r.method}${r.watch ? ' watch' : ''}${/dryRun=/.test(q) ? ' dry-run' : ''} ${general}`;
}

async function main(): Promise<void> {
  const meta = YAML.parse(await readFile(path.join(ROOT, ACTION, 'action.yml'), 'utf8')) as {
    runs: { main: string };
  };
  const dist = path.join(ROOT, ACTION, meta.runs.main);
  if (!existsSync(dist)) throw new Error(`${dist} does not exist: run npm run bundle first`);
  if (RUNS < 1 || N < 1) throw new Error('BENCH_RUNS and BENCH_WORKLOADS must be at least 1');

  const ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-bench-deploy-cluster-'));
  // A namespace of N x REPLICAS pods per contender, plus a surge: kwok nodes take 110 pods each.
  const nodes = Math.max(1, Math.ceil((Object.keys(NS).length * N * REPLICAS * 1.5) / 100));
  const clusterLog = (l: string) => process.stderr.write(`[cluster] ${l}\n`);
  let cluster: Cluster | undefined;
  let fake: KubeFake | undefined;
  const observers: Observer[] = [];
  try {
    cluster = await startCluster({ nodes, log: clusterLog });
    const c = cluster;
    fake = await startKubeFake({ readyDelayMs: 0, namespaces: [NS.ours, NS.inproc] });
    const f = fake;
    for (const ns of Object.values(NS)) {
      const r = await c.request('POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns },
      });
      if (r.status !== 201) throw new Error(`creating namespace ${ns}: ${r.status} ${r.text}`);
    }
    // Pods are refused until the namespace's default ServiceAccount exists.
    for (const ns of Object.values(NS))
      for (let i = 0; ; i++) {
        if ((await c.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200)
          break;
        if (i > 300) throw new Error(`no default ServiceAccount in ${ns}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    const kubectlVersion = await c.kubectl(['version', '--client', '-o', 'json']);
    const kubectlGit = (JSON.parse(kubectlVersion.stdout) as Any).clientVersion?.gitVersion as string;

    // Manifests: ours substitutes the tag with the images input; kubectl gets one directory per tag.
    const tags = Array.from({ length: RUNS + 1 }, (_, k) => `v${k + 1}`);
    await mkdir(path.join(ws, 'k8s'));
    for (const n of names)
      await writeFile(path.join(ws, 'k8s', `${n}.yaml`), deploymentYaml(n, imageOf(n, 'v1')));
    for (const tag of tags) {
      await mkdir(path.join(ws, 'kubectl', tag), { recursive: true });
      for (const n of names)
        await writeFile(path.join(ws, 'kubectl', tag, `${n}.yaml`), deploymentYaml(n, imageOf(n, tag)));
    }

    const obs = {
      ours: await Observer.start(c.kubeconfig, NS.ours),
      oursB: await Observer.start(c.kubeconfig, NS.oursB),
      kubectl: await Observer.start(c.kubeconfig, NS.kubectl),
      kubectlWarm: await Observer.start(c.kubeconfig, NS.kubectlWarm),
      fake: await Observer.start(f.kubeconfig, NS.ours),
      inproc: await Observer.start(c.kubeconfig, NS.inproc),
      fakeInproc: await Observer.start(f.kubeconfig, NS.inproc),
    };
    observers.push(...Object.values(obs));

    const inputs = (kubeconfig: string, ns: string, tag: string) => ({
      manifests: 'k8s/',
      namespace: ns,
      images: names.map((n) => imageOf(n, tag)).join('\n'),
      'pin-digests': 'false',
      kubeconfig,
      // A workflow passes ${{ github.token }}; nothing here calls GitHub (no environment input).
      token: 'ghs_bench000000000000000000000000000000',
    });

    const ours = async (
      target: 'cluster' | 'fake' | 'cluster B',
      tag: string,
      round: number,
    ): Promise<Run> => {
      const kubeconfig = target === 'fake' ? f.kubeconfig : c.kubeconfig;
      const ob = target === 'fake' ? obs.fake : target === 'cluster' ? obs.ours : obs.oursB;
      if (target === 'fake') f.resetRequestLog();
      const profDir =
        CPU_PROF && tag !== 'v1' ? path.resolve(CPU_PROF, `${target.replace(' ', '-')}-${tag}`) : undefined;
      const r = await runAction(target === 'cluster B' ? COMPARE! : ACTION, {
        inputs: inputs(kubeconfig, ob.namespace, tag),
        workspace: ws,
        ...(profDir ? { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` } } : {}),
      });
      const end = performance.now();
      const start = end - r.durationMs;
      if (VERBOSE) console.log(`--- ours on the ${target}, ${tag}\n${r.stdout}${r.stderr}`);
      if (r.code !== 0 || r.outputs.result !== 'success')
        throw new Error(`ours on the ${target} (${tag}) failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      await ob.waitSettled(tag);
      return {
        contender: target === 'cluster B' ? 'ours B (cluster)' : `ours (${target})`,
        round,
        ms: r.durationMs,
        ...relative(ob.timeline(tag), start),
        ...(target === 'fake'
          ? {
              requests: f.requestLog.length,
              byKind: f.requestLog.reduce(
                (m, x) => m.set(kindOfRequest(x), (m.get(kindOfRequest(x)) ?? 0) + 1),
                new Map<string, number>(),
              ),
            }
          : {}),
      };
    };

    const kubectl = async (warm: boolean, tag: string, round: number): Promise<Run> => {
      const ns = warm ? NS.kubectlWarm : NS.kubectl;
      const ob = warm ? obs.kubectlWarm : obs.kubectl;
      const cacheDir = warm ? path.join(ws, 'kube-cache-warm') : path.join(ws, `kube-cache-${tag}`);
      const cache = [`--cache-dir=${cacheDir}`];
      const start = performance.now();
      const steps = [
        ['apply', '--server-side', '-f', path.join(ws, 'kubectl', tag) + '/', ...cache],
        ...names.map((n) => ['rollout', 'status', `deployment/${n}`, '--timeout=120s', ...cache]),
      ];
      for (const args of steps) {
        const r = await c.kubectl(args, { namespace: ns, timeoutMs: 150_000 });
        if (VERBOSE) console.log(`--- kubectl ${args.join(' ')}\n${r.stdout}${r.stderr}`);
        if (r.code !== 0)
          throw new Error(`kubectl ${args.join(' ')} (exit ${r.code}):\n${r.stdout}${r.stderr}`);
      }
      const ms = performance.now() - start;
      await ob.waitSettled(tag);
      return {
        contender: warm ? 'kubectl (warm cache)' : 'kubectl (fresh cache)',
        round,
        ms,
        ...relative(ob.timeline(tag), start),
      };
    };

    const node = path.join(ROOT, 'node_modules/.bin/node');
    const bare = (round: number): Run => {
      const t = performance.now();
      spawnSync(node, ['-e', '']);
      return { contender: "node -e ''", round, ms: performance.now() - t };
    };
    const loadOnly = async (round: number, b = false): Promise<Run> => {
      f.resetRequestLog();
      const r = await runAction(b ? COMPARE! : ACTION, {
        inputs: { ...inputs(f.kubeconfig, NS.ours, 'v1'), timeout: 'soon' },
        workspace: ws,
      });
      if (r.code === 0 || f.requestLog.length)
        throw new Error(`the run with a bad timeout should fail before any request:\n${r.stdout}`);
      return { contender: `bundle${b ? ' B' : ''} load + input check`, round, ms: r.durationMs };
    };

    // Create everything once (not measured), so every measured run changes the image of existing objects.
    process.stderr.write('creating the Deployments (not measured)\n');
    await ours('cluster', 'v1', 0);
    await ours('fake', 'v1', 0);
    if (COMPARE) await ours('cluster B', 'v1', 0);
    await kubectl(false, 'v1', 0);
    await kubectl(true, 'v1', 0);

    const contenders: Array<(tag: string, round: number) => Promise<Run> | Run> = [
      (tag, k) => ours('cluster', tag, k),
      (tag, k) => kubectl(false, tag, k),
      (tag, k) => ours('fake', tag, k),
      (tag, k) => kubectl(true, tag, k),
      (_tag, k) => loadOnly(k),
      (_tag, k) => bare(k),
    ];
    if (COMPARE)
      contenders.push(
        (tag, k) => ours('cluster B', tag, k),
        (_tag, k) => loadOnly(k, true),
      );
    const runs: Run[] = [];
    for (let k = 1; k <= RUNS; k++) {
      const tag = tags[k]!;
      // Rotate the order every round, so no contender always runs first (or right after another).
      const order = contenders.map((_, i) => contenders[(i + k - 1) % contenders.length]!);
      for (const run of order) {
        await new Promise((r) => setTimeout(r, 300));
        runs.push(await run(tag, k));
      }
      process.stderr.write(`round ${k} of ${RUNS} done\n`);
    }

    // The engine in-process, alternating the targets: requestCount and the time of each phase.
    const inproc: Array<
      { target: string; ms: number; requests: number; phases: Map<string, number> } & Partial<Run>
    > = [];
    for (let k = 1; k <= INPROC_RUNS; k++) {
      for (const target of k % 2 ? (['cluster', 'fake'] as const) : (['fake', 'cluster'] as const)) {
        const tag = `v${k + 1}`;
        const kubeconfig = target === 'cluster' ? c.kubeconfig : f.kubeconfig;
        const ob = target === 'cluster' ? obs.inproc : obs.fakeInproc;
        if (k === 1) {
          // Create first (not measured).
          const o = parseDeployInputs(withDefaults(DEPLOY_INPUTS, inputs(kubeconfig, NS.inproc, 'v1')), ws, {
            sha: SHA,
          });
          const r = await runDeploy(o, { logger: memoryLogger(), audit: { commit: SHA } });
          if (r.result !== 'success') throw new Error(`in-process create on the ${target}: ${r.result}`);
          await ob.waitSettled('v1');
        }
        const opts = parseDeployInputs(withDefaults(DEPLOY_INPUTS, inputs(kubeconfig, NS.inproc, tag)), ws, {
          sha: SHA,
        });
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
        await new Promise((r) => setTimeout(r, 300));
        const start = performance.now();
        const r = await runDeploy(opts, {
          logger: timed,
          audit: { commit: SHA, ref: 'refs/heads/main', actor: 'octocat' },
        });
        const ms = performance.now() - start;
        if (r.result !== 'success')
          throw new Error(`in-process run on the ${target}: ${r.result}\n${logger.text()}`);
        await ob.waitSettled(tag);
        inproc.push({ target, ms, requests: r.requestCount, phases, ...relative(ob.timeline(tag), start) });
      }
    }

    report(runs, inproc, { nodes, kubectl: kubectlGit });
  } finally {
    for (const o of observers) await o.stop();
    await fake?.stop();
    await cluster?.stop({ removeDir: true });
    await rm(ws, { recursive: true, force: true });
  }
}

function relative(t: ReturnType<Observer['timeline']>, start: number) {
  return {
    applyFirst: t.applyFirst - start,
    applyLast: t.applyLast - start,
    podsReady: t.podsReady - start,
    rolledOut: t.rolledOut - start,
  };
}

function report(
  runs: Run[],
  inproc: Array<{ target: string; ms: number; requests: number; phases: Map<string, number> } & Partial<Run>>,
  env: { nodes: number; kubectl: string },
): void {
  const by = (name: string) => runs.filter((r) => r.contender === name);
  const order = [
    'ours (cluster)',
    'ours B (cluster)',
    'kubectl (fresh cache)',
    'kubectl (warm cache)',
    'ours (fake)',
    'bundle load + input check',
    'bundle B load + input check',
    "node -e ''",
  ];
  const bareMs = median(by("node -e ''").map((r) => r.ms));
  console.log(
    `action-deploy-k8s on the genuine control plane (Kubernetes ${env.kubectl}, ${env.nodes} kwok node(s), pods Ready at once): ` +
      `${N} Deployments x ${REPLICAS} replicas changing image, one namespace per contender; ` +
      `${RUNS} rounds, contenders alternated (order rotated each round); medians, [min-max]; ` +
      `${os.availableParallelism()} cores (shared, load ${os.loadavg()[0]!.toFixed(1)}); node ${process.version}`,
  );
  console.log(
    '  ours: the bundled action process as the runner runs it (dry run, fail-fast, annotations on; pin-digests false); ' +
      'kubectl: apply --server-side -f dir/, then rollout status for each Deployment in turn',
  );
  console.log('');
  const header = [
    'contender',
    'wall ms',
    '[min-max]',
    'x node',
    'start->apply',
    'apply first->last',
    'apply->pods Ready',
    'pods Ready->status complete',
    'pods Ready->done (overhead)',
  ];
  const table: string[][] = [header];
  for (const name of order) {
    const rs = by(name);
    if (!rs.length) continue;
    const ms = rs.map((r) => r.ms);
    const timed = rs.every((r) => r.podsReady !== undefined);
    const col = (f: (r: Run) => number) => {
      const xs = rs.map(f);
      return `${median(xs).toFixed(0)} [${spread(xs)}]`;
    };
    table.push([
      name,
      median(ms).toFixed(0),
      `[${spread(ms)}]`,
      (median(ms) / bareMs).toFixed(2),
      timed ? col((r) => r.applyFirst!) : '',
      timed ? col((r) => r.applyLast! - r.applyFirst!) : '',
      timed ? col((r) => r.podsReady! - r.applyFirst!) : '',
      timed ? col((r) => r.rolledOut! - r.podsReady!) : '',
      timed ? col((r) => r.ms - r.podsReady!) : '',
    ]);
  }
  printTable(table);
  console.log('');

  const ratio = (a: string, b: string) => {
    const ma = median(by(a).map((r) => r.ms));
    const mb = median(by(b).map((r) => r.ms));
    const perRound = by(a).map((r) => r.ms / by(b).find((x) => x.round === r.round)!.ms);
    return { value: ma / mb, perRound };
  };
  if (COMPARE)
    for (const [a, b] of [
      ['ours (cluster)', 'ours B (cluster)'],
      ['bundle load + input check', 'bundle B load + input check'],
    ] as const) {
      const r = ratio(a, b);
      console.log(
        `  ${a} / ${b} (${COMPARE}): ${r.value.toFixed(2)}x; per round ${r.perRound.map((x) => x.toFixed(2)).join(' ')}`,
      );
    }
  for (const base of ['kubectl (fresh cache)', 'kubectl (warm cache)']) {
    const r = ratio('ours (cluster)', base);
    console.log(
      `  ours / ${base}: ${r.value.toFixed(2)}x (medians of ${RUNS}); per round ${r.perRound.map((x) => x.toFixed(2)).join(' ')} ` +
        `(median ${median(r.perRound).toFixed(2)}) -> target <= 0.90x ${r.value <= 0.9 ? 'met' : 'NOT met'}`,
    );
  }
  const oc = by('ours (cluster)');
  const of = by('ours (fake)');
  const overheadCluster = median(oc.map((r) => r.ms - r.podsReady!));
  const overheadFake = median(of.map((r) => r.ms - r.podsReady!));
  const applyToDone = (rs: Run[]) => median(rs.map((r) => r.ms - r.applyFirst!));
  const applyToReady = (rs: Run[]) => median(rs.map((r) => r.podsReady! - r.applyFirst!));
  console.log(
    `  the deploy's overhead on the real control plane: apply -> success ${applyToDone(oc).toFixed(0)} ms minus apply -> pods Ready ` +
      `${applyToReady(oc).toFixed(0)} ms = ${(applyToDone(oc) - applyToReady(oc)).toFixed(0)} ms ` +
      `(median per run: ${overheadCluster.toFixed(0)} ms [${spread(oc.map((r) => r.ms - r.podsReady!))}])`,
  );
  console.log(
    `  the same on the fake (readyDelayMs 0): apply -> success ${applyToDone(of).toFixed(0)} ms minus apply -> pods Ready ` +
      `${applyToReady(of).toFixed(0)} ms = ${(applyToDone(of) - applyToReady(of)).toFixed(0)} ms ` +
      `(median per run: ${overheadFake.toFixed(0)} ms [${spread(of.map((r) => r.ms - r.podsReady!))}]); ` +
      `whole process: cluster / fake ${ratio('ours (cluster)', 'ours (fake)').value.toFixed(2)}x`,
  );
  console.log(
    `  requests of ours (fake, process runs, the fake's log): ${median(of.map((r) => r.requests!))} for ${N} workloads (median); the last run's: ` +
      [...of[of.length - 1]!.byKind!].map(([k, n]) => `${n} ${k}`).join(', '),
  );
  console.log('');
  console.log(
    `  the engine in-process (test/e2e runner not involved), ${INPROC_RUNS} runs per target, alternated:`,
  );
  const phaseNames = [...new Set(inproc.flatMap((r) => [...r.phases.keys()]))];
  const t2: string[][] = [
    ['target', 'ms', 'requestCount', 'apply->pods Ready', 'pods Ready->done', ...phaseNames],
  ];
  for (const target of ['cluster', 'fake']) {
    const rs = inproc.filter((r) => r.target === target);
    t2.push([
      target,
      `${median(rs.map((r) => r.ms)).toFixed(0)} [${spread(rs.map((r) => r.ms))}]`,
      `${median(rs.map((r) => r.requests))} [${spread(rs.map((r) => r.requests))}]`,
      median(rs.map((r) => r.podsReady! - r.applyFirst!)).toFixed(0),
      median(rs.map((r) => r.ms - r.podsReady!)).toFixed(0),
      ...phaseNames.map((p) => median(rs.map((r) => r.phases.get(p) ?? 0)).toFixed(0)),
    ]);
  }
  printTable(t2);
}

function printTable(table: string[][]): void {
  const w = table[0]!.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
  for (const r of table)
    console.log(`  ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')}`);
}

await main();
