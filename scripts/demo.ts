// The README's first command (scripts/demo.sh runs this): the main job on examples/sample-app.
//  1. a local registry (the real docker-registry) on 127.0.0.1:5000 (or a free port)
//  2. a root image made from Debian's busybox-static (nothing is pulled from the internet)
//  3. c2c hash-base, twice, through the bundled CLI: the first run builds and pushes the base image,
//     the second finds it and skips the build
//  4. one c2c deploy for all the services (--services 'services/*'): each service's image built on
//     that base (in parallel) and pushed under its content tag, the manifests pinned to the pushed
//     digests, then, by where it deploys:
//     - no kubeconfig ($KUBECONFIG unset, no ~/.kube/config), or --local: a genuine Kubernetes
//       control plane of the demo's own on loopback (test/helpers/cluster.ts, the one the cluster
//       tests use; built from source once when missing). The sample app is deployed to it and its
//       rollouts watched; then a broken image is deployed, diagnosed and rolled back by c2c, and
//       kubectl shows the previous image running again. The control plane is stopped at the end.
//     - a kubeconfig: the services are deployed to that cluster (namespace sample-app), nothing else.
//     - --render: no cluster at all; the YAML that would be applied is printed.
//  5. the timings: base build against skip, each deploy.
// Everything it starts is stopped at the end, on a failure and on Ctrl-C too (scripts/demo.sh also
// stops the control plane from a shell trap, in case this process is killed outright).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry, type RegistryServer } from '../test/helpers/registry.js';
import { makeRootImage } from '../test/helpers/base-image.js';
import { privateBuildahStore } from '../test/helpers/buildah-store.js';
import {
  GoMissingError,
  checkGo,
  ensureControlPlane,
  missingBinaries,
} from '../test/helpers/cluster-build.js';
import { startCluster, type Cluster } from '../test/helpers/cluster.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const APP = path.join(ROOT, 'examples/sample-app');
const CLI = path.join(ROOT, 'cli/dist/index.js');
const SERVICES = ['api', 'web', 'worker'] as const;
const NAMESPACE = 'sample-app';
/** The service the broken deploy breaks. */
const BROKEN = 'web';

const USAGE = `usage: scripts/demo.sh [--local | --render]
  (no flag)  deploy to the cluster of $KUBECONFIG or ~/.kube/config; without one, to a local
             Kubernetes control plane the demo starts (and stops), where it also shows a broken
             deploy diagnosed and rolled back
  --local    the local control plane even when a kubeconfig exists
  --render   no cluster: print the YAML that would be applied`;

type Target = { kind: 'render' } | { kind: 'kubeconfig'; path: string } | { kind: 'local'; why: string };

interface Timing {
  what: string;
  /** Undefined: the step did not run. */
  ms?: number;
  note?: string;
}

interface C2CRun {
  code: number;
  ms: number;
  stdout: string;
  outputs: Record<string, string>;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const say = (line = '') => console.log(line);
const heading = (title: string) => say(`\n=== ${title} ===`);

// ------------------------------------------------------------------------------------------ steps

async function main(argv: string[]): Promise<void> {
  const target = chooseTarget(argv);
  const timings: Timing[] = [];
  const t0 = performance.now();
  // A machine that cannot build the control plane finds out before the rest of the demo runs. The
  // one-time build itself runs in the background while the steps that need no cluster run.
  const controlPlane = target.kind === 'local' ? await ensureLocalKubernetes(target, timings) : undefined;

  const registry = await cleanups.registry(startRegistry((await portFree(5000)) ? { port: 5000 } : {}));
  // A builder store of the demo's own, empty like a fresh CI runner's: the first base build pays the
  // slow dependency step for real.
  const store = await privateBuildahStore('demo');
  cleanups.add(() => store.remove());
  Object.assign(process.env, store.env);
  say(`registry: ${registry.url}`);

  const baseRef = await baseTwice(registry, timings);
  const workspace = await sampleApp(registry);

  switch (target.kind) {
    case 'render':
      await renderServices(registry, workspace, baseRef, timings);
      break;
    case 'kubeconfig':
      heading(`c2c deploy: the sample app to the cluster of ${target.path} (namespace ${NAMESPACE})`);
      await deployServices(registry, workspace, baseRef, {}, timings);
      break;
    case 'local': {
      if (controlPlane) {
        const done = await Promise.race([controlPlane.built.then(() => true), Promise.resolve(false)]);
        if (!done) heading('waiting for the control plane build (the images are ready)');
        await controlPlane.built;
      }
      const cluster = await startLocalCluster(timings);
      const env = clusterEnv(cluster);
      heading(`c2c deploy: the sample app to the local control plane (namespace ${NAMESPACE})`);
      const deployed = await deployServices(registry, workspace, baseRef, env, timings);
      await showWorkloads(cluster, 'what runs now');
      await deployBroken(registry, workspace, env, timings);
      await checkPreviousRunsAgain(cluster, deployed.get(BROKEN)!);
      const t = performance.now();
      await stopLocalCluster();
      timings.push({ what: 'local control plane: stop', ms: performance.now() - t });
    }
  }
  timings.push({ what: 'the whole demo', ms: performance.now() - t0 });
  printTimings(timings);
}

/** Where the services go: --render, --local, a kubeconfig, else a local control plane. */
function chooseTarget(argv: string[]): Target {
  const flags = new Set(argv);
  if (flags.has('--help') || flags.has('-h')) {
    say(USAGE);
    process.exit(0);
  }
  for (const f of flags)
    if (f !== '--render' && f !== '--local') throw new UsageError(`unknown argument '${f}'`);
  if (flags.has('--render') && flags.has('--local'))
    throw new UsageError('--render and --local exclude each other');
  if (flags.has('--render')) return { kind: 'render' };
  const kubeconfig = kubeconfigPath();
  if (flags.has('--local'))
    return { kind: 'local', why: `--local${kubeconfig ? ` (${kubeconfig} is not used)` : ''}` };
  if (kubeconfig) return { kind: 'kubeconfig', path: kubeconfig };
  return { kind: 'local', why: 'no kubeconfig ($KUBECONFIG is unset and there is no ~/.kube/config)' };
}

/**
 * Starts building the local control plane when it is not built yet (once per machine), after checking
 * that Go can build it. The build runs in the background (its progress lines marked as such) while the
 * demo goes on; the promise settles when it is built.
 */
async function ensureLocalKubernetes(
  target: Extract<Target, { kind: 'local' }>,
  timings: Timing[],
): Promise<{ built: Promise<void> } | undefined> {
  heading('a local Kubernetes control plane');
  say(`${target.why}: the demo deploys to a genuine control plane of its own on loopback`);
  say('(etcd, kube-apiserver, kube-controller-manager, kube-scheduler; kwok plays the kubelets and');
  say(' simulates the pods: no container runs), started for the demo and stopped at its end.');
  const missing = missingBinaries();
  if (missing.length === 0) {
    say('it is built already (cached): it starts in seconds.');
    timings.push({ what: 'local control plane: build', note: 'cached, not built' });
    return;
  }
  try {
    await checkGo();
  } catch (e) {
    if (e instanceof GoMissingError)
      throw new Error(
        `${e.message}\nOr run the demo against a cluster of yours (a kubeconfig), or without any: ./scripts/demo.sh --render`,
        { cause: e },
      );
    throw e;
  }
  say('first run on this machine: it is built now, once, in the background while the demo builds the');
  say('images (its lines start with [control plane]); later runs start it in seconds.');
  const t = performance.now();
  const building = ensureControlPlane({ log: (l) => say(`  [control plane] ${l.trim()}`) }).then(() => {
    timings.push({
      what: 'local control plane: build',
      ms: performance.now() - t,
      note: 'once per machine, in the background',
    });
  });
  // On Ctrl-C (the go builds stop with it), its scratch dir and lock are removed before the demo exits.
  cleanups.add(() => building.catch(() => undefined));
  // A failure surfaces where the demo waits for it; until then it is not an unhandled rejection.
  building.catch(() => undefined);
  return { built: building };
}

async function baseTwice(registry: RegistryServer, timings: Timing[]): Promise<string> {
  const t = performance.now();
  const root = await makeRootImage(registry.host, 'sample-app/root');
  say(`root image (busybox-static): ${root} in ${secs(performance.now() - t)}`);
  timings.push({ what: 'root image (busybox-static)', ms: performance.now() - t });
  // prettier-ignore
  const args = [
    'hash-base',
    '--workspace', APP,
    '--files', 'requirements.txt',
    '--files', 'Dockerfile.base',
    '--image', `${registry.host}/sample-app/base`,
    '--build', 'true',
    '--build-args', `ROOT_IMAGE=${root}`,
    '--builder', 'buildah',
    '--json',
  ];
  const runs: Array<C2CRun & { label: string }> = [];
  for (const label of ['first run', 'second run']) {
    heading(`c2c hash-base, ${label}`);
    const r = await c2c(args);
    if (r.code !== 0) throw new Error(`c2c hash-base (${label}) failed with exit code ${r.code}`);
    runs.push({ label, ...r });
  }
  heading('base image decisions');
  say('run         decision  needs-build  built  time     image');
  for (const r of runs) {
    const decision = r.outputs['needs-build'] === 'true' ? 'build' : 'skip';
    say(
      `${r.label.padEnd(11)} ${decision.padEnd(9)} ${r.outputs['needs-build']!.padEnd(12)} ${r.outputs.built!.padEnd(6)} ${secs(r.ms).padEnd(8)} ${r.outputs['image-ref']}@${r.outputs.digest}`,
    );
  }
  const [first, second] = [runs[0]!, runs[1]!];
  if (first.outputs.built !== 'true' || second.outputs['needs-build'] !== 'false')
    throw new Error('expected build then skip');
  say(
    `\nthe second run took ${(first.ms / second.ms).toFixed(1)}x less time than the first: the dependencies did not change.`,
  );
  timings.push({ what: 'hash-base, first run', ms: first.ms, note: 'built the base' });
  timings.push({
    what: 'hash-base, second run',
    ms: second.ms,
    note: `skipped the build: ${(first.ms / second.ms).toFixed(1)}x less`,
  });
  return second.outputs['image-ref']!;
}

/**
 * The sample app's directory. Its manifests name the registry 127.0.0.1:5000; on another port, a copy
 * names the real one (removed at the end).
 */
async function sampleApp(registry: RegistryServer): Promise<string> {
  if (registry.host === '127.0.0.1:5000') return APP;
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'c2c-demo-app-'));
  cleanups.add(() => rm(workspace, { recursive: true, force: true }));
  await cp(APP, workspace, { recursive: true });
  for (const f of await readdir(path.join(workspace, 'k8s'))) {
    const p = path.join(workspace, 'k8s', f);
    await writeFile(p, (await readFile(p, 'utf8')).replaceAll('127.0.0.1:5000/', `${registry.host}/`));
  }
  return workspace;
}

/**
 * The c2c deploy flags of the whole app in one step: every directory of services/ is a service, built
 * on the base and pushed to sample-app/<service> under its content tag; every manifest is pinned to
 * the pushed digests and the set is applied at once.
 */
function servicesArgs(registry: RegistryServer, workspace: string, baseRef: string) {
  // prettier-ignore
  return [
    'deploy',
    '--workspace', workspace,
    '--manifests', 'k8s/',
    '--namespace', NAMESPACE,
    '--services', 'services/*',
    '--image', `${registry.host}/sample-app/{service}`,
    '--base-image', baseRef,
    '--builder', 'buildah',
  ];
}

/** service → image of a c2c deploy's `images` output (JSON). */
function imagesOf(r: C2CRun): Map<string, string> {
  const images = new Map(Object.entries(JSON.parse(r.outputs.images || '{}') as Record<string, string>));
  for (const service of SERVICES)
    if (!images.has(service)) throw new Error(`c2c deploy gave no image for ${service}: ${r.outputs.images}`);
  return images;
}

/** --render: every service built and pushed, and the YAML that would be applied printed; no cluster. */
async function renderServices(
  registry: RegistryServer,
  workspace: string,
  baseRef: string,
  timings: Timing[],
): Promise<void> {
  heading(`c2c deploy --services 'services/*' --render (no cluster: printing what would be applied)`);
  const r = await c2c([...servicesArgs(registry, workspace, baseRef), '--render']);
  if (r.code !== 0) throw new Error(`c2c deploy --render failed with exit code ${r.code}`);
  timings.push({
    what: `render ${SERVICES.length} services`,
    ms: r.ms,
    note: 'one step: builds + pushes + pins, no cluster',
  });
  heading('what would be applied');
  say(r.stdout.trim());
  heading('service images, built on the cached base');
  const images = [...r.stdout.matchAll(/image: (\S+\/sample-app\/([a-z]+)@sha256:[0-9a-f]{64})/g)];
  for (const service of SERVICES) {
    const image = images.find((m) => m[2] === service)?.[1];
    if (!image) throw new Error(`the rendered manifests pin no image of ${service}`);
    say(`${service.padEnd(7)} ${image}`);
  }
}

/**
 * One c2c deploy for every service: builds (in parallel), pushes, pins, one apply, the rollouts
 * watched together; then the same step again, which finds every image by its content tag and builds
 * nothing. Returns service -> image.
 */
async function deployServices(
  registry: RegistryServer,
  workspace: string,
  baseRef: string,
  env: NodeJS.ProcessEnv,
  timings: Timing[],
): Promise<Map<string, string>> {
  const args = [...servicesArgs(registry, workspace, baseRef), '--create-namespace', 'true', '--json'];
  const runs: C2CRun[] = [];
  for (const label of ['first run', 'second run']) {
    say(
      `\n--- ${label}: c2c deploy --services 'services/*' --image ${registry.host}/sample-app/{service} ... ---`,
    );
    const r = await c2c(args, env);
    if (r.code !== 0 || r.outputs.result !== 'success')
      throw new Error(
        `c2c deploy (${label}) failed with exit code ${r.code}${r.outputs.result ? `: result=${r.outputs.result}` : ''}`,
      );
    runs.push(r);
  }
  const [first, second] = [runs[0]!, runs[1]!];
  const lines = (s: string | undefined) => (s ? s.split('\n').filter(Boolean) : []);
  heading(`deployed in one step: ${SERVICES.length} service images, built on the cached base`);
  const images = imagesOf(first);
  for (const [service, image] of images) say(`${service.padEnd(7)} ${image}`);
  say(
    `\nfirst run built ${lines(first.outputs.built).length} (${lines(first.outputs.built).join(', ')}) in ${secs(first.ms)};` +
      ` the second built ${lines(second.outputs.built).length} and reused ${lines(second.outputs.reused).length} in ${secs(second.ms)}: nothing changed.`,
  );
  if (lines(second.outputs.built).length !== 0)
    throw new Error(`the second run built ${second.outputs.built}`);
  for (const [service, image] of imagesOf(second))
    if (images.get(service) !== image)
      throw new Error(`the second run deployed ${image} for ${service}, not ${images.get(service)}`);
  timings.push({
    what: `deploy ${SERVICES.length} services, first run`,
    ms: first.ms,
    note: 'one step: builds + pushes + pins + one apply + rollouts',
  });
  timings.push({ what: 'deploy, second run', ms: second.ms, note: 'nothing built, nothing restarted' });
  return images;
}

/**
 * A broken release of one service: first as a plain tag that is not in the registry (pin-digests, the
 * default, refuses it before anything is applied), then with pin-digests off, so that the reference
 * reaches the cluster as it is: its pods cannot pull it, c2c fails the rollout fast, says why, and
 * rolls back. Both exit non-zero: the expected outcome here.
 */
async function deployBroken(
  registry: RegistryServer,
  workspace: string,
  env: NodeJS.ProcessEnv,
  timings: Timing[],
): Promise<void> {
  const broken = `${registry.host}/sample-app/${BROKEN}:fail-pull`;
  // prettier-ignore
  const args = [
    'deploy',
    '--workspace', workspace,
    '--manifests', `k8s/${BROKEN}.yaml`,
    '--namespace', NAMESPACE,
    '--images', broken,
  ];
  heading(`a broken release: ${broken} (a tag that was never pushed)`);
  say(`--- with pin-digests (the default): c2c deploy --images ${broken} ---`);
  const refused = await c2c([...args, '--json'], env);
  if (refused.code === 0) throw new Error('c2c deploy of an image missing from the registry succeeded');
  say(
    `exit code ${refused.code}, as expected: the tag resolves to no digest, so nothing was applied and nothing rolled out.`,
  );
  timings.push({
    what: `broken deploy ${BROKEN}, pin-digests on`,
    ms: refused.ms,
    note: 'refused, nothing applied',
  });

  say(
    `\n--- with --pin-digests false: the reference goes to the cluster as it is, and its pull fails.` +
      `\n    --fail-fast-grace 5s: a pull failing for 5 s fails the rollout (default 60s) ---`,
  );
  const r = await c2c([...args, '--pin-digests', 'false', '--fail-fast-grace', '5s', '--json'], env);
  if (r.code === 0) throw new Error('the broken deploy succeeded: it should have failed and rolled back');
  if (r.outputs.result !== 'rolled-back' || r.outputs['rolled-back'] !== 'true')
    throw new Error(
      `the broken deploy failed (exit code ${r.code}) without a rollback: result=${r.outputs.result ?? '(none)'}`,
    );
  say(
    `exit code ${r.code}, as expected: result=${r.outputs.result}, rolled-back=${r.outputs['rolled-back']} (diagnosed above: "Why the rollout failed")`,
  );
  timings.push({
    what: `broken deploy ${BROKEN}, pin-digests off`,
    ms: r.ms,
    note: 'failed fast, rolled back',
  });
}

/** After the rollback: kubectl shows the previous image on the Deployment and on every pod, all ready. */
async function checkPreviousRunsAgain(cluster: Cluster, previous: string): Promise<void> {
  heading(`after the rollback: ${BROKEN} runs ${previous} again`);
  // The pods of the broken ReplicaSet go away a moment after the rollback has completed.
  const end = Date.now() + 30_000;
  let problem = await previousImageProblem(cluster, previous);
  while (problem && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    problem = await previousImageProblem(cluster, previous);
  }
  await showWorkloads(cluster, undefined, BROKEN);
  if (problem) throw new Error(`after the rollback, ${BROKEN} does not run the previous image: ${problem}`);
  say(`checked: Deployment/${BROKEN} and each of its pods run the previous image, every replica ready.`);
}

/** '' when the broken service's Deployment and pods all run `previous` and are ready; else what is not. */
async function previousImageProblem(cluster: Cluster, previous: string): Promise<string> {
  const d = await cluster.kubectl(['get', 'deployment', BROKEN, '-o', 'json'], { namespace: NAMESPACE });
  if (d.code !== 0) return d.stderr.trim();
  interface Deploy {
    spec: { replicas: number; template: { spec: { containers: Array<{ image: string }> } } };
    status: { readyReplicas?: number; updatedReplicas?: number; replicas?: number };
  }
  const dep = JSON.parse(d.stdout) as Deploy;
  const image = dep.spec.template.spec.containers[0]?.image;
  if (image !== previous) return `the Deployment's image is ${image}`;
  const { replicas } = dep.spec;
  const st = dep.status;
  if (st.readyReplicas !== replicas || st.updatedReplicas !== replicas || st.replicas !== replicas)
    return `${st.readyReplicas ?? 0} ready, ${st.updatedReplicas ?? 0} updated, ${st.replicas ?? 0} in all, of ${replicas}`;
  const p = await cluster.kubectl(['get', 'pods', '-l', `app.kubernetes.io/name=${BROKEN}`, '-o', 'json'], {
    namespace: NAMESPACE,
  });
  if (p.code !== 0) return p.stderr.trim();
  interface Pod {
    metadata: { name: string };
    spec: { containers: Array<{ image: string }> };
    status: { conditions?: Array<{ type: string; status: string }> };
  }
  const pods = (JSON.parse(p.stdout) as { items: Pod[] }).items;
  if (pods.length !== replicas) return `${pods.length} pods, not ${replicas}`;
  for (const pod of pods) {
    if (pod.spec.containers[0]?.image !== previous)
      return `pod ${pod.metadata.name} runs ${pod.spec.containers[0]?.image}`;
    if (!pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      return `pod ${pod.metadata.name} is not ready`;
  }
  return '';
}

/** `kubectl get` of the sample app's Deployments and pods (of one service when given), as typed. */
async function showWorkloads(cluster: Cluster, title?: string, service?: string): Promise<void> {
  if (title) heading(title);
  const selector = service ? ['-l', `app.kubernetes.io/name=${service}`] : [];
  const what = service ? [`deployment/${service}`] : ['deployments'];
  const commands = [
    ['get', ...what, '-o', 'wide'],
    // prettier-ignore
    ['get', 'pods', ...selector, '-o',
      'custom-columns=POD:.metadata.name,PHASE:.status.phase,READY:.status.containerStatuses[0].ready,IMAGE:.spec.containers[0].image'],
  ];
  for (const args of commands) {
    say(`$ kubectl -n ${NAMESPACE} ${args.map((a) => (a.includes(',') ? `'${a}'` : a)).join(' ')}`);
    const r = await cluster.kubectl(args, { namespace: NAMESPACE });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
    say(r.stdout.trimEnd());
  }
}

// ------------------------------------------------------------------ the local control plane

let clusterDir: string | undefined;
let clusterStart: Promise<Cluster> | undefined;

/** Starts the control plane with the helper the cluster tests use (test/helpers/cluster.ts). */
async function startLocalCluster(timings: Timing[]): Promise<Cluster> {
  heading('starting the local control plane');
  // scripts/demo.sh names the dir, so that its trap can stop what runs there even if this process dies.
  const work = process.env.C2C_DEMO_WORK;
  clusterDir = work ? path.join(work, 'k8s') : await mkdtemp(path.join(os.tmpdir(), 'c2c-demo-k8s-'));
  const t = performance.now();
  clusterStart = startCluster({ dir: clusterDir, log: (l) => say(`  ${l}`) });
  cleanups.add(() => stopLocalCluster());
  const cluster = await clusterStart;
  timings.push({ what: 'local control plane: start', ms: performance.now() - t, note: 'until nodes Ready' });
  say(`  kubeconfig: ${cluster.kubeconfigPath}; kubectl ${cluster.kubectlPath}`);
  return cluster;
}

/** The environment of c2c deploy: the local cluster's kubeconfig, and its kubectl first on PATH. */
function clusterEnv(cluster: Cluster): NodeJS.ProcessEnv {
  return {
    KUBECONFIG: cluster.kubeconfigPath,
    PATH: `${cluster.binDir}${path.delimiter}${process.env.PATH}`,
  };
}

let stopping: Promise<void> | undefined;

/** Stops the control plane (once; waits for a start under way to end first). Its dir goes on success. */
function stopLocalCluster(): Promise<void> {
  stopping ??= (async () => {
    if (!clusterStart || !clusterDir) return;
    const cluster = await clusterStart.catch(() => undefined);
    if (!cluster) return; // startCluster stops what it started when it fails
    say(`\nstopping the local control plane`);
    // After a failure its logs stay for a look; not after a success or an interruption.
    const keep = outcome === 'failed';
    await cluster.stop({ removeDir: !keep });
    if (keep) say(`its logs stay in ${path.join(cluster.dir, 'logs')}`);
  })();
  return stopping;
}

// ------------------------------------------------------------------------------------- output

function printTimings(timings: Timing[]): void {
  heading('timings');
  const width = Math.max(...timings.map((t) => t.what.length));
  for (const t of timings)
    say(
      `${t.what.padEnd(width)}  ${(t.ms === undefined ? '-' : secs(t.ms)).padStart(7)}  ${t.note ?? ''}`.trimEnd(),
    );
}

// ---------------------------------------------------------------------------------- plumbing

let outcome: 'running' | 'failed' | 'interrupted' = 'running';
let child: ChildProcess | undefined;

/** What the demo started, undone in reverse order: at the end, on a failure, on Ctrl-C. */
const cleanups = {
  steps: [] as Array<() => Promise<unknown>>,
  add(fn: () => Promise<unknown>) {
    this.steps.push(fn);
  },
  async registry(start: Promise<RegistryServer>): Promise<RegistryServer> {
    const r = await start;
    this.add(() => r.stop());
    return r;
  },
  running: undefined as Promise<void> | undefined,
  run(): Promise<void> {
    this.running ??= (async () => {
      if (child && child.exitCode === null) child.kill('SIGTERM');
      for (const fn of this.steps.reverse()) {
        try {
          await fn();
        } catch (e) {
          console.error(`cleanup: ${(e as Error).message}`);
        }
      }
    })();
    return this.running;
  },
};

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Runs the bundled CLI (stderr shown as it comes); with --json stdout is the outputs, with --render the YAML. */
function c2c(args: string[], env: NodeJS.ProcessEnv = {}): Promise<C2CRun> {
  // After Ctrl-C the step under way may still end well (a control plane that was starting): nothing
  // new starts.
  if (outcome === 'interrupted') return Promise.reject(new Error('interrupted'));
  const start = performance.now();
  return new Promise((resolve, reject) => {
    child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - start;
      let outputs: Record<string, string> = {};
      if (args.includes('--json') && out.trim().startsWith('{')) {
        try {
          outputs = JSON.parse(out) as Record<string, string>;
        } catch {
          // not the outputs: left empty
        }
      }
      resolve({ code: code ?? 1, ms, stdout: out, outputs });
    });
  });
}

/** The kubeconfig c2c would use by default, when there is one. */
function kubeconfigPath(): string | undefined {
  const first = process.env.KUBECONFIG?.split(path.delimiter).find(Boolean);
  const p = first ?? path.join(os.homedir(), '.kube/config');
  return existsSync(p) ? p : undefined;
}

class UsageError extends Error {}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (outcome === 'interrupted') return;
    console.error(`\n${signal === 'SIGINT' ? 'interrupted' : 'terminated'}: stopping what the demo started`);
    outcome = 'interrupted';
    void cleanups.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });

main(process.argv.slice(2))
  .catch((e: unknown) => {
    // After Ctrl-C the steps under way fail as their processes are stopped: nothing more to say.
    if (outcome === 'interrupted') return;
    outcome = 'failed';
    if (e instanceof UsageError) console.error(`${e.message}\n${USAGE}`);
    else console.error(`\ndemo failed: ${(e as Error).message}`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  })
  .finally(() => cleanups.run());
