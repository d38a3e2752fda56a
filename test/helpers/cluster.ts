import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import https from 'node:https';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import {
  BINARIES,
  REPO_ROOT,
  binDir as cachedBinDir,
  ensureControlPlane,
  tail,
  type BuildLog,
} from './cluster-build.js';
import { freePort } from './net.js';

/**
 * A genuine Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler and kwok (simulated kubelets, pod lifecycle from scripts/cluster/stages.yaml),
 * built from source by cluster-build.ts. Everything lives in one work dir: certificates, tokens,
 * kubeconfigs, etcd data, logs, and state.json with the pids and ports. stopCluster(dir) stops exactly
 * the processes recorded there. scripts/cluster.sh and the tests both use this module.
 */

const run = promisify(execFile);

export const NODE_ANNOTATION = 'kwok.x-k8s.io/node';
const SERVICE_CIDR = '10.96.0.0/16';
const POD_CIDR = '10.244.0.1/16';
const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
type Component = (typeof COMPONENTS)[number];

export interface ClusterState {
  /** Format version of state.json. */
  version: 1;
  binDir: string;
  server: string;
  ports: Record<Component, number>;
  /** pid per component; a component absent here was not started (or already stopped). */
  pids: Partial<Record<Component, number>>;
  nodes: string[];
  startedAt: string;
  readyAt?: string;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. a manifest with `-f -`). */
  input?: string;
  /** Adds --namespace. */
  namespace?: string;
  /** Authenticate with this bearer token instead of the admin's (e.g. a ServiceAccount token). */
  token?: string;
  timeoutMs?: number;
}

export interface Cluster {
  dir: string;
  /** The admin kubeconfig (system:masters, bearer token), DIR/kubeconfig. */
  kubeconfigPath: string;
  kubeconfig: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** The admin's bearer token. */
  token: string;
  /** The cluster CA (PEM) and its file: the apiserver's serving certificate is signed by it. */
  caCert: string;
  caPath: string;
  /** The directory of the built binaries (kubectl, kube-apiserver, ...). */
  binDir: string;
  /** Our kubectl (the version of the server), not whatever kubectl is on PATH. */
  kubectlPath: string;
  /** The kwok node names; pods are scheduled on them. */
  nodes: string[];
  /** Runs our kubectl with the admin kubeconfig; never throws for a non-zero exit. */
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** A plain HTTPS request to the apiserver (admin token unless `token` is given); JSON body in and out. */
  request(method: string, apiPath: string, body?: unknown, token?: string): Promise<ApiResponse>;
  /** Stops the processes this cluster's state.json records. The dir stays (logs) unless removeDir. */
  stop(opts?: { removeDir?: boolean }): Promise<void>;
}

export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export interface StartClusterOptions {
  /** The work dir; default a new one under os.tmpdir(). */
  dir?: string;
  /** How many kwok nodes (default 1). */
  nodes?: number;
  /** Progress lines (build, start, ready). Default stderr. */
  log?: BuildLog;
  /** How long each component may take to become ready (default 60 s). */
  readyTimeoutMs?: number;
}

export class ClusterStartError extends Error {}

const files = (dir: string) => ({
  pki: path.join(dir, 'pki'),
  ca: path.join(dir, 'pki', 'ca.crt'),
  caKey: path.join(dir, 'pki', 'ca.key'),
  serving: path.join(dir, 'pki', 'apiserver.crt'),
  servingKey: path.join(dir, 'pki', 'apiserver.key'),
  kwokCert: path.join(dir, 'pki', 'kwok.crt'),
  kwokKey: path.join(dir, 'pki', 'kwok.key'),
  saKey: path.join(dir, 'pki', 'sa.key'),
  saPub: path.join(dir, 'pki', 'sa.pub'),
  tokens: path.join(dir, 'pki', 'tokens.csv'),
  kubeconfig: path.join(dir, 'kubeconfig'),
  componentKubeconfig: (c: string) => path.join(dir, 'kubeconfigs', `${c}.kubeconfig`),
  log: (c: string) => path.join(dir, 'logs', `${c}.log`),
  state: path.join(dir, 'state.json'),
  kwokConfig: path.join(dir, 'kwok', 'kwok.yaml'),
  containerLog: path.join(dir, 'kwok', 'container.log'),
});

/**
 * Starts a fresh control plane in `dir` (building the binaries first when they are missing) and
 * returns once the nodes are Ready and the default ServiceAccount exists. A component that exits or
 * is not ready within readyTimeoutMs: everything started is stopped, and the error carries the tail
 * of that component's log.
 */
export async function startCluster(opts: StartClusterOptions = {}): Promise<Cluster> {
  // Ports are picked free, then bound by the components a moment later: another process on the
  // machine (a registry a test starts, another control plane) can take one in between. That start
  // is stopped, and the control plane starts again on other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(opts);
    } catch (e) {
      if (attempt >= 3 || !(e instanceof ClusterStartError) || !/address already in use/.test(e.message))
        throw e;
      (opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(
        `a port of the control plane was taken meanwhile (address already in use): starting again on other ports`,
      );
    }
  }
}

async function startClusterOnce(opts: StartClusterOptions): Promise<Cluster> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const bin = await ensureControlPlane({ log });
  const workDir = path.resolve(opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'c2c-k8s-'))));
  const f = files(workDir);
  if (existsSync(f.state)) {
    const st = readState(workDir);
    if (Object.values(st.pids).some((pid) => pid !== undefined && isOurs(pid, st.binDir))) {
      throw new ClusterStartError(
        `a control plane already runs in ${workDir}; stop it first (scripts/cluster.sh down ${workDir})`,
      );
    }
  }
  // Always a fresh cluster: a previous run's data and certificates in this dir are discarded (its logs
  // are overwritten). etcd makes its data dir itself (0700; it warns about a wider one).
  await rm(path.join(workDir, 'etcd'), { recursive: true, force: true });
  await rm(f.pki, { recursive: true, force: true });
  for (const d of ['pki', 'kubeconfigs', 'logs', 'kwok', 'flexvolume']) {
    await mkdir(path.join(workDir, d), { recursive: true });
  }
  const t0 = Date.now();
  const timeout = opts.readyTimeoutMs ?? 60_000;

  const ports = {} as Record<Component, number>;
  for (const c of COMPONENTS) ports[c] = await freePort();
  const peerPort = await freePort();
  const server = `https://127.0.0.1:${ports['kube-apiserver']}`;

  // Credentials: a CA, the apiserver's serving certificate, the service-account key pair, and one
  // static token per identity (admin and kwok in system:masters; the controller manager and the
  // scheduler under the names the bootstrap RBAC policy binds).
  await makePki(f);
  const tokens = {
    admin: randomToken(),
    'kube-controller-manager': randomToken(),
    'kube-scheduler': randomToken(),
    kwok: randomToken(),
  };
  await writeFile(
    f.tokens,
    [
      `${tokens.admin},admin,uid-admin,"system:masters"`,
      `${tokens['kube-controller-manager']},system:kube-controller-manager,uid-kcm`,
      `${tokens['kube-scheduler']},system:kube-scheduler,uid-scheduler`,
      `${tokens.kwok},kwok,uid-kwok,"system:masters"`,
    ].join('\n') + '\n',
    { mode: 0o600 },
  );
  const caPem = await readFile(f.ca, 'utf8');
  const kubeconfig = kubeconfigYaml(server, caPem, 'admin', tokens.admin);
  await writeFile(f.kubeconfig, kubeconfig, { mode: 0o600 });
  for (const c of ['kube-controller-manager', 'kube-scheduler', 'kwok'] as const) {
    await writeFile(f.componentKubeconfig(c), kubeconfigYaml(server, caPem, c, tokens[c]), { mode: 0o600 });
  }
  // kwok's configuration: the pod Stages, and one simulated log for every container, served by kwok's
  // kubelet API (pods/log through the apiserver works; the line says that nothing really runs).
  await writeFile(
    f.containerLog,
    `${new Date().toISOString()} stdout F kwok: simulated container, nothing runs here (scripts/cluster/stages.yaml)\n`,
  );
  await writeFile(
    f.kwokConfig,
    (await readFile(path.join(REPO_ROOT, 'scripts', 'cluster', 'stages.yaml'), 'utf8')) +
      [
        '---',
        'apiVersion: kwok.x-k8s.io/v1alpha1',
        'kind: ClusterLogs',
        'metadata:',
        '  name: every-container',
        'spec:',
        '  selector: {}',
        '  logs:',
        `  - logsFile: ${f.containerLog}`,
        `    previousLogsFile: ${f.containerLog}`,
        '',
      ].join('\n'),
  );

  const nodeNames = Array.from({ length: opts.nodes ?? 1 }, (_, i) => `kwok-node-${i}`);
  const state: ClusterState = {
    version: 1,
    binDir: bin,
    server,
    ports,
    pids: {},
    nodes: nodeNames,
    startedAt: new Date().toISOString(),
  };
  const save = () => writeFile(f.state, JSON.stringify(state, null, 2) + '\n');
  await save();

  const args: Record<Component, string[]> = {
    etcd: [
      '--name=c2c',
      `--data-dir=${path.join(workDir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${ports.etcd}`,
      `--advertise-client-urls=http://127.0.0.1:${ports.etcd}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=c2c=http://127.0.0.1:${peerPort}`,
      // Test data: no fsync (much faster on shared disks), nothing to keep after a crash.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    'kube-apiserver': [
      `--etcd-servers=http://127.0.0.1:${ports.etcd}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${ports['kube-apiserver']}`,
      // The "kubernetes" Service's endpoints would be the advertise address, and loopback is rejected there.
      '--endpoint-reconciler-type=none',
      `--cert-dir=${f.pki}`,
      `--tls-cert-file=${f.serving}`,
      `--tls-private-key-file=${f.servingKey}`,
      `--client-ca-file=${f.ca}`,
      `--token-auth-file=${f.tokens}`,
      '--authorization-mode=Node,RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${f.saPub}`,
      `--service-account-signing-key-file=${f.saKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      // The "kubelets" are kwok's server on loopback, serving a certificate from our CA.
      `--kubelet-certificate-authority=${f.ca}`,
      '--kubelet-preferred-address-types=InternalIP',
      '--allow-privileged=true',
      '--profiling=false',
    ],
    'kube-controller-manager': [
      `--kubeconfig=${f.componentKubeconfig('kube-controller-manager')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports['kube-controller-manager']}`,
      `--cert-dir=${path.join(f.pki, 'kube-controller-manager')}`,
      '--leader-elect=false',
      '--controllers=*',
      '--use-service-account-credentials',
      `--root-ca-file=${f.ca}`,
      `--service-account-private-key-file=${f.saKey}`,
      `--cluster-signing-cert-file=${f.ca}`,
      `--cluster-signing-key-file=${f.caKey}`,
      `--flex-volume-plugin-dir=${path.join(workDir, 'flexvolume')}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--kube-api-qps=100',
      '--kube-api-burst=200',
      '--profiling=false',
    ],
    'kube-scheduler': [
      `--kubeconfig=${f.componentKubeconfig('kube-scheduler')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports['kube-scheduler']}`,
      `--cert-dir=${path.join(f.pki, 'kube-scheduler')}`,
      '--leader-elect=false',
      '--profiling=false',
    ],
    kwok: [
      `--kubeconfig=${f.componentKubeconfig('kwok')}`,
      `--config=${f.kwokConfig}`,
      `--manage-nodes-with-annotation-selector=${NODE_ANNOTATION}=fake`,
      '--node-lease-duration-seconds=40',
      `--cidr=${POD_CIDR}`,
      // Nodes (and pods' hostIP) are 127.0.0.1 with kwok's server as their kubelet port, so pods/log
      // reaches kwok instead of an address somewhere on the network.
      '--node-ip=127.0.0.1',
      `--node-port=${ports.kwok}`,
      `--server-address=127.0.0.1:${ports.kwok}`,
      `--tls-cert-file=${f.kwokCert}`,
      `--tls-private-key-file=${f.kwokKey}`,
      '-v=INFO',
    ],
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // kwok reads ~/.kwok/kwok.yaml unless its work dir is elsewhere.
    KWOK_WORKDIR: path.join(workDir, 'kwok'),
  };

  const started: Component[] = [];
  const start = async (c: Component) => {
    const out = openSync(f.log(c), 'w');
    try {
      const child = spawn(path.join(bin, c), args[c], {
        cwd: workDir,
        env,
        detached: true,
        stdio: ['ignore', out, out],
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      child.unref();
      state.pids[c] = child.pid!;
      started.push(c);
      await save();
    } finally {
      closeSync(out);
    }
  };
  const cluster = attach(workDir);
  const ready = async (c: Component, what: string, check: () => Promise<boolean>) => {
    const end = Date.now() + timeout;
    let last = '';
    for (;;) {
      const pid = state.pids[c];
      if (pid !== undefined && !alive(pid)) {
        throw new ClusterStartError(`${c} exited while starting (${what})\n${logTail(workDir, c)}`);
      }
      try {
        if (await check()) return;
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() > end) {
        throw new ClusterStartError(
          `${c} did not become ready within ${timeout / 1000}s (${what}${last ? `: ${last}` : ''})\n${logTail(workDir, c)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const insecureGet = (url: string) => httpsGet(url, { rejectUnauthorized: false });
  try {
    await start('etcd');
    await ready('etcd', '/health', async () => {
      const r = await fetch(`http://127.0.0.1:${ports.etcd}/health`);
      return r.ok && ((await r.json()) as { health?: string }).health === 'true';
    });
    await start('kube-apiserver');
    await ready(
      'kube-apiserver',
      '/readyz',
      async () => (await cluster.request('GET', '/readyz')).status === 200,
    );
    await start('kube-controller-manager');
    await start('kube-scheduler');
    for (const node of nodeNames) {
      const r = await cluster.request('POST', '/api/v1/nodes', nodeManifest(node));
      if (r.status !== 201) throw new ClusterStartError(`creating node ${node}: ${r.status} ${r.text}`);
    }
    await start('kwok');
    await ready(
      'kube-controller-manager',
      '/healthz',
      async () =>
        (await insecureGet(`https://127.0.0.1:${ports['kube-controller-manager']}/healthz`)) === 200,
    );
    await ready(
      'kube-scheduler',
      '/healthz',
      async () => (await insecureGet(`https://127.0.0.1:${ports['kube-scheduler']}/healthz`)) === 200,
    );
    await ready('kwok', `nodes ${nodeNames.join(', ')} Ready`, async () => {
      for (const node of nodeNames) {
        const r = await cluster.request('GET', `/api/v1/nodes/${node}`);
        const cond = (r.body?.status?.conditions ?? []) as { type: string; status: string }[];
        if (!cond.some((c) => c.type === 'Ready' && c.status === 'True')) return false;
      }
      return true;
    });
    await ready(
      'kube-controller-manager',
      'the default ServiceAccount in namespace default',
      async () =>
        (await cluster.request('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
    );
  } catch (e) {
    await stopCluster(workDir).catch(() => undefined);
    if (e instanceof ClusterStartError) {
      throw new ClusterStartError(`${e.message}\n(logs in ${path.join(workDir, 'logs')})`);
    }
    throw e;
  }
  state.readyAt = new Date().toISOString();
  await save();
  log(`control plane ready in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${f.kubeconfig}`);
  return cluster;
}

/** A Cluster handle for a control plane started earlier in `dir` (by startCluster or scripts/cluster.sh up). */
export function attach(dir: string): Cluster {
  const workDir = path.resolve(dir);
  const f = files(workDir);
  const state = readState(workDir);
  const kubeconfig = readFileSync(f.kubeconfig, 'utf8');
  const token = /token: (\S+)/.exec(kubeconfig)?.[1] ?? '';
  const caCert = readFileSync(f.ca, 'utf8');
  const kubectlPath = path.join(state.binDir, 'kubectl');
  const request = (method: string, apiPath: string, body?: unknown, asToken?: string) =>
    apiRequest(state.server, caCert, asToken ?? token, method, apiPath, body);
  return {
    dir: workDir,
    kubeconfigPath: f.kubeconfig,
    kubeconfig,
    server: state.server,
    token,
    caCert,
    caPath: f.ca,
    binDir: state.binDir,
    kubectlPath,
    nodes: state.nodes,
    request,
    kubectl: (args, opts = {}) =>
      new Promise((resolve) => {
        const full = [
          `--kubeconfig=${f.kubeconfig}`,
          ...(opts.token ? [`--token=${opts.token}`] : []),
          ...(opts.namespace ? [`--namespace=${opts.namespace}`] : []),
          ...args,
        ];
        const child = execFile(
          kubectlPath,
          full,
          { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20, env: { ...process.env, KUBECONFIG: '' } },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
            resolve({ code, stdout, stderr: err && !stderr ? err.message : stderr });
          },
        );
        child.stdin?.end(opts.input ?? '');
      }),
    stop: async (o = {}) => {
      await stopCluster(workDir);
      if (o.removeDir) await rm(workDir, { recursive: true, force: true });
    },
  };
}

export function readState(dir: string): ClusterState {
  const file = files(path.resolve(dir)).state;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
  } catch (e) {
    throw new Error(`no control plane state in ${dir} (${(e as Error).message})`, { cause: e });
  }
}

/** Whether every process recorded in dir is running and the apiserver answers /readyz. */
export async function isClusterUp(dir: string): Promise<boolean> {
  let state: ClusterState;
  try {
    state = readState(dir);
  } catch {
    return false;
  }
  if (!state.readyAt) return false;
  if (!COMPONENTS.every((c) => state.pids[c] !== undefined && isOurs(state.pids[c]!, state.binDir)))
    return false;
  try {
    return (await attach(dir).request('GET', '/readyz')).status === 200;
  } catch {
    return false;
  }
}

/**
 * Stops exactly the processes recorded in dir/state.json (a pid is signalled only while it still runs
 * one of our binaries: a reused pid is left alone): SIGTERM, then SIGKILL after 10 s. kwok and the
 * controllers go first, etcd last.
 */
export async function stopCluster(dir: string): Promise<string[]> {
  const workDir = path.resolve(dir);
  let state: ClusterState;
  try {
    state = readState(workDir);
  } catch {
    return [];
  }
  const stopped: string[] = [];
  for (const c of [...COMPONENTS].reverse()) {
    const pid = state.pids[c];
    if (pid === undefined) continue;
    if (isOurs(pid, state.binDir)) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone already
      }
      const end = Date.now() + 10_000;
      while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      if (alive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
        while (alive(pid)) await new Promise((r) => setTimeout(r, 20));
      }
      stopped.push(`${c} (pid ${pid})`);
    }
    delete state.pids[c];
    await writeFile(files(workDir).state, JSON.stringify(state, null, 2) + '\n');
  }
  return stopped;
}

/** The last lines of a component's log. */
export function logTail(dir: string, c: string, lines = 30): string {
  try {
    return `--- ${c} log (last ${lines} lines) ---\n${tail(readFileSync(files(dir).log(c), 'utf8'), lines)}`;
  } catch {
    return `--- ${c}: no log ---`;
  }
}

/** pid runs a binary from binDir (and is not a zombie). */
function isOurs(pid: number, binDir: string): boolean {
  if (!alive(pid)) return false;
  try {
    const exe = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return BINARIES.some((b) => exe === path.join(binDir, b));
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by its parent) still answers signal 0.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return true;
  }
}

function randomToken(): string {
  return randomBytes(24).toString('hex');
}

/**
 * CA, serving certificates for the apiserver (loopback and in-cluster names) and kwok's kubelet API,
 * the service-account key pair. EC P-256 keys: quick to make.
 */
async function makePki(f: ReturnType<typeof files>): Promise<void> {
  const openssl = (args: string[]) => run('openssl', args);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  // prettier-ignore
  await openssl([
    'req', '-x509', ...ec, '-days', '30', '-subj', '/CN=c2c-test-cluster-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', f.caKey, '-out', f.ca,
  ]);
  const sign = async (cert: string, key: string, cn: string, san: string[]) => {
    const csr = `${cert}.csr`;
    // prettier-ignore
    await openssl([
      'req', ...ec, '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san.join(',')}`,
      '-addext', 'extendedKeyUsage=serverAuth', '-keyout', key, '-out', csr,
    ]);
    // prettier-ignore
    await openssl([
      'x509', '-req', '-in', csr, '-CA', f.ca, '-CAkey', f.caKey, '-CAcreateserial', '-days', '30',
      '-copy_extensions', 'copy', '-out', cert,
    ]);
    await rm(csr, { force: true });
  };
  await sign(f.serving, f.servingKey, 'kube-apiserver', [
    'IP:127.0.0.1',
    'IP:10.96.0.1',
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ]);
  await sign(f.kwokCert, f.kwokKey, 'kwok', ['IP:127.0.0.1', 'DNS:localhost']);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f.saKey]);
  await openssl(['pkey', '-in', f.saKey, '-pubout', '-out', f.saPub]);
  for (const key of [f.caKey, f.servingKey, f.kwokKey, f.saKey]) await chmod(key, 0o600);
}

/** A self-contained kubeconfig (the CA inline): its content works wherever it is passed, as a secret would be. */
function kubeconfigYaml(server: string, caPem: string, user: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: c2c-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: c2c-test',
    '  context:',
    '    cluster: c2c-test',
    `    user: ${user}`,
    '    namespace: default',
    'current-context: c2c-test',
    '',
  ].join('\n');
}

function nodeManifest(name: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
      },
    },
    spec: {},
  };
}

function apiRequest(
  server: string,
  ca: string,
  token: string,
  method: string,
  apiPath: string,
  body?: unknown,
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      new URL(apiPath, server),
      {
        method,
        ca,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(data !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        timeout: 30_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${apiPath}: timed out`)));
    req.on('error', reject);
    req.end(data);
  });
}

function httpsGet(url: string, opts: https.RequestOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...opts, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** The bin dir the cluster tests use, for PATH (it may not exist yet). */
export function clusterBinDir(): string {
  return cachedBinDir();
}

/** Puts our kubectl (the server's version, not Debian's old one) first on this process's PATH. */
export function preferOurKubectl(): void {
  const bin = clusterBinDir();
  const parts = (process.env.PATH ?? '').split(path.delimiter);
  if (parts[0] !== bin) process.env.PATH = [bin, ...parts.filter((p) => p !== bin)].join(path.delimiter);
}
