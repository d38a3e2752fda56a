import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../helpers/cluster.js';
import {
  CLUSTER_SETUP_TIMEOUT_MS,
  haveCluster,
  sharedCluster,
  testNamespace,
} from '../helpers/shared-cluster.js';

/**
 * The genuine control plane the cluster tests run against (test/helpers/cluster.ts): the controllers
 * reconcile, kwok plays the kubelet (scripts/cluster/stages.yaml: failures asked for by image name),
 * namespaces are finalised, RBAC and ServiceAccount tokens are real.
 */

interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  state: {
    waiting?: { reason: string };
    running?: object;
    terminated?: { exitCode: number; reason: string };
  };
  lastState?: { terminated?: { exitCode: number; reason: string } };
}
interface Pod {
  metadata: { name: string };
  status: {
    phase: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: ContainerStatus[];
  };
}

/** Polls fn until it returns a value (not undefined), or fails with what it last saw. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const deployment = (name: string, image: string, replicas = 1) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
  },
});

const job = (name: string, image: string) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: {
    backoffLimit: 0,
    template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image }] } },
  },
});

describe.skipIf(!haveCluster())('the local Kubernetes control plane', () => {
  let cluster: Cluster;
  const namespaces: { delete(): Promise<void> }[] = [];
  const ns = async (prefix: string) => {
    const n = await testNamespace(cluster, prefix);
    namespaces.push(n);
    return n.name;
  };
  const apply = async (namespace: string, obj: unknown) => {
    const r = await cluster.kubectl(['apply', '--server-side', '-f', '-'], {
      namespace,
      input: JSON.stringify(obj),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  };
  const pods = async (namespace: string, selector: string): Promise<Pod[]> => {
    const r = await cluster.request(
      'GET',
      `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`,
    );
    expect(r.status).toBe(200);
    return r.body.items as Pod[];
  };

  beforeAll(async () => {
    cluster = await sharedCluster();
  }, CLUSTER_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await Promise.all(namespaces.map((n) => n.delete()));
  });

  it('is Kubernetes v1.34.4, and the kubectl first on PATH is ours', async () => {
    const v = await cluster.kubectl(['version', '-o', 'json']);
    expect(v.code).toBe(0);
    const versions = JSON.parse(v.stdout);
    expect(versions.serverVersion.gitVersion).toBe('v1.34.4');
    expect(versions.clientVersion.gitVersion).toBe('v1.34.4');
    expect(process.env.PATH?.split(':')[0]).toBe(cluster.binDir);
    const nodes = await cluster.request('GET', '/api/v1/nodes');
    expect(nodes.body.items.map((n: { metadata: { name: string } }) => n.metadata.name)).toEqual(
      cluster.nodes,
    );
  });

  it('a Deployment becomes available: kwok runs its pods and makes them Ready', async () => {
    const n = await ns('deploy');
    await apply(n, deployment('web', 'registry.example/shop/web:1', 2));
    const status = await cluster.kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s'], {
      namespace: n,
    });
    expect(status.stdout).toContain('successfully rolled out');
    expect(status.code).toBe(0);
    const running = await pods(n, 'app=web');
    expect(running).toHaveLength(2);
    for (const p of running) {
      expect(p.status.phase).toBe('Running');
      expect(p.status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    }
  });

  it('an image containing fail-pull leaves the pod waiting in ErrImagePull / ImagePullBackOff', async () => {
    const n = await ns('pull');
    await apply(n, deployment('web', 'registry.example/shop/fail-pull:1'));
    const seen = new Set<string>();
    await eventually('ErrImagePull then ImagePullBackOff', async () => {
      for (const p of await pods(n, 'app=web')) {
        const reason = p.status.containerStatuses?.[0]?.state.waiting?.reason;
        if (reason) seen.add(reason);
        expect(p.status.phase).toBe('Pending');
      }
      return seen.has('ErrImagePull') && seen.has('ImagePullBackOff') ? true : undefined;
    });
    const d = await cluster.request('GET', `/apis/apps/v1/namespaces/${n}/deployments/web`);
    expect(d.body.status.availableReplicas ?? 0).toBe(0);
  });

  it('an image containing invalid-name is InvalidImageName', async () => {
    const n = await ns('invalid');
    await apply(n, deployment('web', 'registry.example/invalid-name:1'));
    const reason = await eventually('InvalidImageName', async () => {
      const [p] = await pods(n, 'app=web');
      return p?.status.containerStatuses?.[0]?.state.waiting?.reason;
    });
    expect(reason).toBe('InvalidImageName');
  });

  it('an image containing crash-loop goes into CrashLoopBackOff with a growing restart count', async () => {
    const n = await ns('crash');
    await apply(n, deployment('web', 'registry.example/shop/crash-loop:1'));
    const crashed = await eventually(
      'CrashLoopBackOff with restartCount >= 2',
      async () => {
        const [p] = await pods(n, 'app=web');
        const c = p?.status.containerStatuses?.[0];
        return c?.state.waiting?.reason === 'CrashLoopBackOff' && c.restartCount >= 2
          ? { pod: p!, c }
          : undefined;
      },
      90_000,
    );
    expect(crashed.pod.status.phase).toBe('Running');
    expect(crashed.c.ready).toBe(false);
    expect(crashed.c.lastState?.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
  });

  it('a Job completes, and a Job whose image contains fail-job fails', async () => {
    const n = await ns('job');
    await apply(n, job('ok', 'registry.example/tools/migrate:1'));
    await apply(n, job('bad', 'registry.example/tools/fail-job:1'));
    const ok = await cluster.kubectl(['wait', '--for=condition=Complete', 'job/ok', '--timeout=60s'], {
      namespace: n,
    });
    expect(ok.code).toBe(0);
    const bad = await cluster.kubectl(['wait', '--for=condition=Failed', 'job/bad', '--timeout=60s'], {
      namespace: n,
    });
    expect(bad.code).toBe(0);
    const [okPod] = await pods(n, 'job-name=ok');
    expect(okPod?.status.phase).toBe('Succeeded');
    const [badPod] = await pods(n, 'job-name=bad');
    expect(badPod?.status.phase).toBe('Failed');
    expect(badPod?.status.containerStatuses?.[0]?.state.terminated).toMatchObject({
      exitCode: 1,
      reason: 'Error',
    });
  });

  it('a namespace is created and, once deleted, finalised and gone with everything in it', async () => {
    const n = await testNamespace(cluster, 'gone');
    await apply(n.name, deployment('web', 'registry.example/shop/web:1'));
    await apply(n.name, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: { a: '1' },
    });
    await eventually('a Running pod', async () =>
      (await pods(n.name, 'app=web')).some((p) => p.status.phase === 'Running') ? true : undefined,
    );
    const del = await cluster.kubectl(['delete', 'namespace', n.name, '--wait=false']);
    expect(del.code).toBe(0);
    const live = await cluster.request('GET', `/api/v1/namespaces/${n.name}`);
    expect([200, 404]).toContain(live.status);
    if (live.status === 200) expect(live.body.status.phase).toBe('Terminating');
    await eventually('the namespace to be gone', async () =>
      (await cluster.request('GET', `/api/v1/namespaces/${n.name}`)).status === 404 ? true : undefined,
    );
  });

  it('a ServiceAccount token (TokenRequest) bound to a Role can list pods in its namespace only', async () => {
    const mine = await ns('rbac');
    const other = await ns('rbac-other');
    await apply(mine, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer' } });
    await apply(mine, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'pod-reader' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
    });
    await apply(mine, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'deployer-reads-pods' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: mine }],
    });
    const tr = await cluster.request('POST', `/api/v1/namespaces/${mine}/serviceaccounts/deployer/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 600 },
    });
    expect(tr.status).toBe(201);
    const token = tr.body.status.token as string;

    const list = await cluster.request('GET', `/api/v1/namespaces/${mine}/pods`, undefined, token);
    expect(list.status).toBe(200);
    const elsewhere = await cluster.request('GET', `/api/v1/namespaces/${other}/pods`, undefined, token);
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.message).toContain(`system:serviceaccount:${mine}:deployer`);
    const write = await cluster.request(
      'POST',
      `/api/v1/namespaces/${mine}/configmaps`,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
      token,
    );
    expect(write.status).toBe(403);

    // The same through kubectl, with a token from `kubectl create token`.
    const created = await cluster.kubectl(['create', 'token', 'deployer', '--duration=10m'], {
      namespace: mine,
    });
    expect(created.code).toBe(0);
    const asSa = { token: created.stdout.trim() };
    expect((await cluster.kubectl(['get', 'pods', '-n', mine], asSa)).code).toBe(0);
    const denied = await cluster.kubectl(['get', 'pods', '-n', other], asSa);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('Forbidden');
  });

  it("pods/log reaches kwok's kubelet API: one simulated line for every container", async () => {
    const n = await ns('logs');
    await apply(n, deployment('web', 'registry.example/shop/web:1'));
    const pod = await eventually('a Running pod', async () =>
      (await pods(n, 'app=web')).find((p) => p.status.phase === 'Running'),
    );
    const logs = await cluster.request('GET', `/api/v1/namespaces/${n}/pods/${pod.metadata.name}/log`);
    expect(logs.status).toBe(200);
    expect(logs.text).toContain('kwok: simulated container');
    const previous = await cluster.kubectl(['logs', pod.metadata.name, '--previous'], { namespace: n });
    expect(previous.code).toBe(0);
  });

  it('the simulated kubelet records events: BackOff for a crash loop and for an image pull', async () => {
    const n = await ns('events');
    await apply(n, deployment('crash', 'registry.example/shop/crash-loop:1'));
    await apply(n, deployment('pull', 'registry.example/shop/fail-pull:1'));
    const messages = await eventually('both BackOff events', async () => {
      const r = await cluster.request('GET', `/api/v1/namespaces/${n}/events?fieldSelector=reason%3DBackOff`);
      const m = (r.body.items as { message: string }[]).map((e) => e.message);
      return m.some((x) => x.includes('restarting failed container')) &&
        m.some((x) => x.includes('pulling image'))
        ? m
        : undefined;
    });
    expect(messages.length).toBeGreaterThanOrEqual(2);
  });
});
