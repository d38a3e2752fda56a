import { rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { stringify } from 'yaml';
import { Controllers, RES, type ImageFailure } from './controllers.js';
import { findKind } from './resources.js';
import { makeHandler, type Fault, type Forbid, type LoggedRequest, type ServerState } from './server.js';
import { Store, type Obj } from './store.js';
import { makePki, type TestPki } from './tls.js';

/**
 * A Kubernetes API-server fake over HTTPS with a CA of the test's own. See README in this folder
 * for what it serves. Start one per test file; stop it in afterAll.
 */
export interface KubeFakeOptions {
  /** Pod start-to-ready delay. Default 300 ms (0: instant). */
  readyDelayMs?: number;
  /** How long a Job's pod runs. Default 300 ms. */
  jobDurationMs?: number;
  /** Overrides every Deployment's progressDeadlineSeconds. */
  progressDeadlineSeconds?: number;
  /** DaemonSet nodes. Default 1. */
  nodes?: number;
  /** Controller tick. Default 100 ms. */
  tickMs?: number;
  /** How many changes are kept for watches resuming from a resourceVersion. Default 2000. */
  historySize?: number;
  /** BOOKMARK period on watches that allow them. Default 5 s. */
  bookmarkIntervalMs?: number;
  /** The kubeconfig authenticates with 'cert' (default) or a bearer 'token'. */
  auth?: 'cert' | 'token';
  /** Namespaces to create besides default, kube-system, kube-public. */
  namespaces?: string[];
}

export interface KubeFake {
  url: string;
  /** The test CA, PEM. */
  ca: string;
  pki: TestPki;
  /** A kubeconfig for this server (cert or token per opts.auth), and the file holding it. */
  kubeconfig: string;
  kubeconfigPath: string;
  /** A bearer token the server accepts (user 'token-user'). */
  token: string;
  store: Store;
  controllers: Controllers;
  requestLog: LoggedRequest[];
  /** Make pods with this image fail. */
  failImage(image: string, how: ImageFailure): void;
  /** Undo failImage. */
  healImage(image: string): void;
  /** Make containers fail by a rule on the container and its pod (env, volumes...); returns an undo. */
  failContainers(rule: (container: Obj, pod: Obj) => ImageFailure | undefined): () => void;
  /** Log lines for pods whose name starts with prefix. */
  setLogs(podPrefix: string, lines: string[]): void;
  /** Deny a verb on a resource (403 Forbidden as a real RBAC denial). */
  forbid(rule: Forbid): void;
  allowAll(): void;
  addToken(token: string, user: string): void;
  faults: {
    /** Queue a fault for the next matching requests. */
    add(f: Fault): void;
    clear(): void;
    /** Ends every open watch stream now (as an API server restart or a load balancer would). */
    closeWatches(): number;
    /** Forgets the change history: watches resuming from older versions get 410 Gone. */
    compact(): void;
  };
  /** Objects of a kind (by apiVersion/kind), optionally in one namespace. */
  list(apiVersion: string, kind: string, namespace?: string): Obj[];
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Obj | undefined;
  /** Stores an object directly (no apply, no managedFields), e.g. a namespace or an existing workload. */
  put(obj: Obj): Obj;
  /**
   * The requests that changed something: not a read, not a dry run, not a question to the
   * authorizer or the authenticator (a SelfSubject*Review creates nothing).
   */
  writes(): LoggedRequest[];
  /** Requests counted since the last reset, watches included; optionally only matching ones. */
  countRequests(filter?: (r: LoggedRequest) => boolean): number;
  resetRequestLog(): void;
  /** Runs the controllers now (tests that want a settled state without waiting for a tick). */
  settle(): void;
  stop(): Promise<void>;
}

export async function startKubeFake(opts: KubeFakeOptions = {}): Promise<KubeFake> {
  const pki = makePki();
  const store = new Store(opts.historySize ?? 2000);
  const controllers = new Controllers(store, {
    readyDelayMs: opts.readyDelayMs ?? 300,
    jobDurationMs: opts.jobDurationMs ?? 300,
    ...(opts.progressDeadlineSeconds !== undefined
      ? { progressDeadlineSeconds: opts.progressDeadlineSeconds }
      : {}),
    nodes: opts.nodes ?? 1,
    tickMs: opts.tickMs ?? 100,
  });
  const token = `fake-token-${Math.random().toString(36).slice(2)}`;
  const state: ServerState = {
    store,
    controllers,
    tokens: new Map([[token, 'token-user']]),
    forbids: [],
    faults: [],
    requestLog: [],
    openWatches: new Set(),
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 5000,
  };
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', ...(opts.namespaces ?? [])])
    store.create(RES.ns, {
      metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  for (let i = 1; i <= (opts.nodes ?? 1); i++)
    store.create(findKind('v1', 'Node')!, {
      metadata: { name: `fake-node-${i}`, labels: { 'kubernetes.io/hostname': `fake-node-${i}` } },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
  const handler = makeHandler(state);
  const server = https.createServer(
    {
      key: pki.serverKey,
      cert: pki.serverCert,
      ca: pki.caCert,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      void handler(req, res);
    },
  );
  const sockets = new Set<import('node:net').Socket>();
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  controllers.start();

  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const kubeconfig = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'fake',
    clusters: [{ name: 'fake', cluster: { server: url, 'certificate-authority-data': b64(pki.caCert) } }],
    users: [
      {
        name: 'fake-user',
        user:
          opts.auth === 'token'
            ? { token }
            : { 'client-certificate-data': b64(pki.clientCert), 'client-key-data': b64(pki.clientKey) },
      },
    ],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake-user', namespace: 'default' } }],
  });
  const kubeconfigPath = path.join(pki.dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });

  const kindRes = (apiVersion: string, kind: string) => {
    const r = findKind(apiVersion, kind);
    if (!r) throw new Error(`the fake does not serve ${apiVersion} ${kind}`);
    return r;
  };

  return {
    url,
    ca: pki.caCert,
    pki,
    kubeconfig,
    kubeconfigPath,
    token,
    store,
    controllers,
    requestLog: state.requestLog,
    failImage: (image, how) => controllers.failImages.set(image, how),
    healImage: (image) => controllers.failImages.delete(image),
    failContainers: (rule) => {
      controllers.failRules.push(rule);
      return () => {
        const i = controllers.failRules.indexOf(rule);
        if (i >= 0) controllers.failRules.splice(i, 1);
      };
    },
    setLogs: (prefix, lines) => controllers.logs.set(prefix, lines),
    forbid: (rule) => state.forbids.push(rule),
    allowAll: () => {
      state.forbids.length = 0;
    },
    addToken: (t, user) => state.tokens.set(t, user),
    faults: {
      add: (f) => state.faults.push({ times: 1, ...f }),
      clear: () => {
        state.faults.length = 0;
      },
      closeWatches: () => {
        const n = state.openWatches.size;
        for (const res of [...state.openWatches]) res.end();
        return n;
      },
      compact: () => store.compact(),
    },
    list: (apiVersion, kind, ns) => store.list(kindRes(apiVersion, kind), ns),
    get: (apiVersion, kind, ns, name) => store.get(kindRes(apiVersion, kind), ns, name),
    put: (obj) => {
      const r = kindRes(obj.apiVersion, obj.kind);
      const cur = store.get(r, obj.metadata?.namespace, obj.metadata.name);
      return cur
        ? store.update(r, {
            ...obj,
            metadata: { ...obj.metadata, resourceVersion: cur.metadata.resourceVersion },
          })
        : store.create(r, obj);
    },
    writes: () =>
      state.requestLog.filter(
        (r) => r.method !== 'GET' && !/dryRun=All/.test(r.path) && !/\/selfsubject\w+reviews$/.test(r.path),
      ),
    countRequests: (filter) => state.requestLog.filter((r) => !filter || filter(r)).length,
    resetRequestLog: () => {
      state.requestLog.length = 0;
    },
    settle: () => controllers.sweep(),
    stop: async () => {
      controllers.stop();
      for (const res of [...state.openWatches]) res.end();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(pki.dir, { recursive: true, force: true });
    },
  };
}

export type { ImageFailure } from './controllers.js';
export type { Fault, Forbid, LoggedRequest } from './server.js';
