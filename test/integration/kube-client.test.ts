import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpAgents } from '../../src/core/http.js';
import { memoryLogger } from '../../src/core/logger.js';
import {
  KindNotServedError,
  KubeApiError,
  KubeClient,
  KubeConflictError,
  KubeForbiddenError,
  NoPreviousRevisionError,
  loadKubeconfig,
  rollbackDeployment,
  type KubeObject,
  type WatchEvent,
} from '../../src/kube/index.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { haveTools } from '../helpers/tools.js';
import { rolloutStatus } from '../../src/deploy/kinds/index.js';

const fast = { baseDelayMs: 20, maxDelayMs: 2000 };

function deployment(name: string, image: string, ns = 'default', replicas = 1): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

/** Waits, with one watch, until every named workload of a kind is rolled out; throws when one fails. */
async function waitRolledOut(
  client: KubeClient,
  ns: string,
  names: string[],
  kind = 'Deployment',
  timeoutMs = 20_000,
): Promise<void> {
  const pending = new Set(names);
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), timeoutMs);
  try {
    for await (const ev of client.watch('apps/v1', kind, { namespace: ns, signal: ac.signal })) {
      if (ev.type === 'BOOKMARK' || !pending.has(ev.object.metadata.name!)) continue;
      const st = rolloutStatus(ev.object as unknown as Record<string, unknown>)!;
      if (st.failed) throw new Error(st.message);
      if (st.done) pending.delete(ev.object.metadata.name!);
      if (!pending.size) return;
    }
  } finally {
    clearTimeout(t);
    ac.abort();
  }
  throw new Error(`not rolled out: ${[...pending].join(', ')}`);
}

describe.skipIf(!haveTools('openssl'))('KubeClient against the kube fake', () => {
  let fake: KubeFake;
  let dir: string;
  let client: KubeClient;
  const logger = memoryLogger();

  beforeAll(async () => {
    fake = await startKubeFake({ readyDelayMs: 100, progressDeadlineSeconds: 1 });
    dir = mkdtempSync(path.join(os.tmpdir(), 'kube-client-'));
    client = new KubeClient(await loadKubeconfig({ content: fake.kubeconfig }, logger), {
      logger,
      retry: fast,
    });
  });
  afterAll(async () => {
    await fake?.stop();
    closeHttpAgents();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('kubeconfig variants', () => {
    const withUser = (user: object) =>
      JSON.stringify({
        'current-context': 'c',
        clusters: [
          {
            name: 'k',
            cluster: {
              server: fake.url,
              'certificate-authority-data': Buffer.from(fake.ca).toString('base64'),
            },
          },
        ],
        users: [{ name: 'u', user }],
        contexts: [{ name: 'c', context: { cluster: 'k', user: 'u', namespace: 'team-a' } }],
      });

    it('client certificate (the fake kubeconfig, from a file)', async () => {
      const conn = await loadKubeconfig({ path: fake.kubeconfigPath }, logger);
      expect(conn).toMatchObject({ server: fake.url, namespace: 'default', contextName: 'fake' });
      expect(conn.cert).toContain('BEGIN CERTIFICATE');
      const c = new KubeClient(conn, { logger });
      expect((await c.version()).gitVersion).toMatch(/^v1\.32/);
      expect(fake.requestLog.at(-1)!.user).toBe('test-admin');
    });

    it('bearer token, and the token never reaches the log', async () => {
      const l = memoryLogger();
      const conn = await loadKubeconfig({ content: withUser({ token: fake.token }) }, l);
      expect(conn.namespace).toBe('team-a');
      await new KubeClient(conn, { logger: l }).version();
      expect(fake.requestLog.at(-1)!.user).toBe('token-user');
      l.info(`token is ${fake.token}`);
      expect(l.text()).not.toContain(fake.token);
    });

    it('exec plugin: argument array, KUBERNETES_EXEC_INFO, ExecCredential token; refreshed after a 401', async () => {
      fake.addToken('exec-token-1', 'exec-user');
      const script = path.join(dir, 'cred-plugin.sh');
      // Prints the token it is given as its first argument, and records the exec info it got.
      writeFileSync(
        script,
        `#!/bin/sh\nprintf '%s' "$KUBERNETES_EXEC_INFO" > "${dir}/exec-info.json"\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$1"\n`,
      );
      chmodSync(script, 0o755);
      const conn = await loadKubeconfig(
        {
          content: withUser({
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: script,
              args: ['exec-token-1', 'a b; rm -rf /'],
              env: [{ name: 'X', value: 'y' }],
            },
          }),
        },
        logger,
      );
      expect(conn.token).toBe('exec-token-1');
      const c = new KubeClient(conn, { logger, retry: fast });
      await c.version();
      expect(fake.requestLog.at(-1)!.user).toBe('exec-user');
      const info = JSON.parse(
        (await import('node:fs')).readFileSync(path.join(dir, 'exec-info.json'), 'utf8'),
      );
      expect(info).toMatchObject({ kind: 'ExecCredential', spec: { interactive: false } });
    });

    it('exec plugin that fails is an input error', async () => {
      await expect(
        loadKubeconfig({ content: withUser({ exec: { command: '/bin/false' } }) }, logger),
      ).rejects.toThrow(/Input 'kubeconfig': the exec credential plugin '\/bin\/false' failed/);
    });
  });

  it('discovery: namespaced or not, cached, and a clear error for a kind the cluster does not serve', async () => {
    const before = client.requestCount;
    expect(await client.resource('apps/v1', 'Deployment')).toMatchObject({
      resource: 'deployments',
      namespaced: true,
      group: 'apps',
    });
    expect(await client.resource('apps/v1', 'StatefulSet')).toMatchObject({ resource: 'statefulsets' });
    expect(await client.resource('v1', 'Namespace')).toMatchObject({
      resource: 'namespaces',
      namespaced: false,
    });
    expect(client.requestCount - before).toBeLessThanOrEqual(2);
    await expect(client.resource('apps/v1', 'Widget')).rejects.toThrow(KindNotServedError);
    await expect(client.resource('apps/v1', 'Widget')).rejects.toThrow(
      /does not serve kind 'Widget' in apiVersion 'apps\/v1'.*Deployment/,
    );
    await expect(client.resource('example.com/v1', 'Widget')).rejects.toThrow(
      /group-version 'example.com\/v1' is not served/,
    );
  });

  it('apply: dry run stores nothing, apply creates, another manager conflicts, force takes the field', async () => {
    const d = deployment('applied', 'reg.local:5000/app:v1');
    const dry = await client.apply(d, { dryRun: true });
    expect(dry.metadata.name).toBe('applied');
    expect(await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'applied' })).toBeUndefined();

    const created = await client.apply(d);
    expect(created.metadata.generation).toBe(1);
    expect(created.metadata.managedFields?.[0]).toMatchObject({
      manager: 'commit-to-cloud',
      operation: 'Apply',
    });

    const other = deployment('applied', 'reg.local:5000/app:hotfix');
    const err = await client.apply(other, { fieldManager: 'someone' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeConflictError);
    expect((err as Error).message).toContain('conflict with "commit-to-cloud"');
    expect((err as Error).message).toContain('.spec.template.spec.containers[name="app"].image');

    const forced = await client.apply(other, { fieldManager: 'someone', force: true });
    expect(
      (forced.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec
        .containers[0]!.image,
    ).toBe('reg.local:5000/app:hotfix');
    expect(forced.metadata.generation).toBe(2);

    // A namespaced object without a namespace goes to the one given, else the context's.
    const cm = await client.apply(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: '1' } },
      { namespace: 'kube-public' },
    );
    expect(cm.metadata.namespace).toBe('kube-public');
    expect(
      await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-public', name: 'cfg' }),
    ).toBe(true);
    expect(
      await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-public', name: 'cfg' }),
    ).toBe(false);
  });

  it('a rejected object is a 422 with the server message', async () => {
    const bad = deployment('bad', 'x');
    (bad.spec as { selector: unknown }).selector = { matchLabels: { app: 'other' } };
    const err = await client.apply(bad, { dryRun: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(422);
    expect((err as Error).message).toContain('`selector` does not match template `labels`');
  });

  it('403 says which verb on which resource was forbidden', async () => {
    fake.forbid({ verb: 'patch', resource: 'deployments', namespace: 'default' });
    try {
      const err = await client.apply(deployment('denied', 'x:1')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeForbiddenError);
      expect((err as Error).message).toContain(
        'forbidden to patch deployments.apps "denied" in namespace "default"',
      );
      expect((err as Error).message).toContain('cannot patch resource "deployments" in API group "apps"');
    } finally {
      fake.allowAll();
    }
  });

  it('429 with Retry-After, 500 and a dropped connection are retried to the right answer', async () => {
    await client.apply(deployment('faulty', 'x:1'));
    fake.resetRequestLog();
    fake.faults.add({
      kind: 'status',
      status: 429,
      retryAfterSeconds: 1,
      pathIncludes: '/deployments/faulty',
    });
    fake.faults.add({ kind: 'status', status: 500, pathIncludes: '/deployments/faulty' });
    fake.faults.add({ kind: 'drop', pathIncludes: '/deployments/faulty' });
    const t0 = Date.now();
    const got = await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'faulty' });
    expect(got?.metadata.name).toBe('faulty');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // Retry-After honoured
    expect(fake.requestLog.map((r) => r.status)).toEqual([429, 500, -1, 200]);
    // An answer that is not transient is not retried.
    fake.resetRequestLog();
    fake.faults.add({ kind: 'status', status: 500, pathIncludes: '/deployments/faulty', times: 10 });
    const c2 = new KubeClient(client.connection, { logger, retry: { ...fast, attempts: 2 } });
    await expect(c2.get({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'faulty' })).rejects.toThrow(
      /failed after 2 attempts/,
    );
    fake.faults.clear();
  });

  it('watch: a stream closed mid-way is reopened from the last resourceVersion, nothing lost', async () => {
    const events: WatchEvent[] = [];
    const reconnects: string[] = [];
    const ac = new AbortController();
    const done = (async () => {
      for await (const ev of client.watch('v1', 'ConfigMap', {
        namespace: 'kube-system',
        signal: ac.signal,
        onReconnect: (why) => reconnects.push(why),
      })) {
        events.push(ev);
        if (ev.type !== 'BOOKMARK' && ev.object.metadata.name === 'w3') ac.abort();
      }
    })();
    const cm = (name: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'kube-system' },
      data: { n: name },
    });
    await client.apply(cm('w1'));
    await waitUntil(() => events.some((e) => e.object.metadata.name === 'w1'));
    expect(fake.faults.closeWatches()).toBeGreaterThanOrEqual(1);
    await client.apply(cm('w2'));
    await client.apply(cm('w3'));
    await done;
    expect(
      events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`),
    ).toEqual(['ADDED w1', 'ADDED w2', 'ADDED w3']);
    expect(reconnects).toContain('closed');
  });

  it('watch: 410 Gone relists and yields the difference', async () => {
    const list = await client.list('v1', 'Secret', { namespace: 'kube-public' });
    const rv = list.metadata.resourceVersion!;
    const s = (name: string) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: 'kube-public' },
      stringData: { k: 'v' },
    });
    await client.apply(s('s1'));
    fake.faults.compact();
    const reconnects: string[] = [];
    const ac = new AbortController();
    const seen: string[] = [];
    for await (const ev of client.watch('v1', 'Secret', {
      namespace: 'kube-public',
      resourceVersion: rv,
      signal: ac.signal,
      onReconnect: (why) => reconnects.push(why),
    })) {
      if (ev.type === 'BOOKMARK') continue;
      seen.push(`${ev.type} ${ev.object.metadata.name}`);
      if (ev.object.metadata.name === 's1') ac.abort();
    }
    expect(reconnects).toEqual(['expired']);
    expect(seen).toEqual(['ADDED s1']);
  });

  it('rollback: back to the previous ReplicaSet template; logs and events of the failing pods', async () => {
    await client.apply(deployment('roll', 'reg.local:5000/roll:v1'));
    await waitRolledOut(client, 'default', ['roll']);
    await expect(rollbackDeployment(client, 'default', 'roll')).rejects.toThrow(NoPreviousRevisionError);

    fake.failImage('reg.local:5000/roll:v2', 'CrashLoopBackOff');
    fake.setLogs('roll-', ['boot', 'Error: database unreachable']);
    await client.apply(deployment('roll', 'reg.local:5000/roll:v2'));
    await waitUntil(async () => {
      const pods = await client.list('v1', 'Pod', { namespace: 'default', labelSelector: 'app=roll' });
      return pods.items.some((p) => JSON.stringify(p.status).includes('CrashLoopBackOff'));
    });
    const pods = await client.list('v1', 'Pod', { namespace: 'default', labelSelector: 'app=roll' });
    const bad = pods.items.find((p) => JSON.stringify(p.status).includes('CrashLoopBackOff'))!;
    expect(await client.podLogs('default', bad.metadata.name!, { tailLines: 1 })).toBe(
      'Error: database unreachable\n',
    );
    const events = await client.eventsFor(bad);
    expect(events.map((e) => e.reason)).toContain('BackOff');
    expect(events.every((e) => e.involvedObject.name === bad.metadata.name)).toBe(true);

    // The fake's progress deadline is 1 s: the rollout fails as kubectl rollout status would say.
    await expect(waitRolledOut(client, 'default', ['roll'])).rejects.toThrow(
      'deployment "roll" exceeded its progress deadline',
    );

    const r = await rollbackDeployment(client, 'default', 'roll');
    expect(r).toMatchObject({ fromRevision: 2, toRevision: 1, skipped: false });
    await waitRolledOut(client, 'default', ['roll']);
    const d = await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'roll' });
    expect(JSON.stringify(d!.spec)).toContain('reg.local:5000/roll:v1');
    expect(d!.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect((await rollbackDeployment(client, 'default', 'roll')).toRevision).toBe(2);
  });

  it('rollback modes: apply keeps the fields with the deploying manager, patch (kubectl) hands them to the patcher', async () => {
    const image = (o: KubeObject) =>
      (o.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]!
        .image;
    for (const mode of ['apply', 'patch'] as const) {
      const name = `mode-${mode}`;
      await client.apply(deployment(name, 'img:1'));
      await waitRolledOut(client, 'default', [name]);
      await client.apply(deployment(name, 'img:2'));
      await waitRolledOut(client, 'default', [name]);
      const r = await rollbackDeployment(client, 'default', name, { mode });
      expect(image(r.object)).toBe('img:1');
      expect(r.object.metadata.annotations?.['deployment.kubernetes.io/revision']).toBeDefined();
      await waitRolledOut(client, 'default', [name]);
      const next = client.apply(deployment(name, 'img:3'));
      if (mode === 'apply') expect(image(await next)).toBe('img:3');
      else await expect(next).rejects.toThrow(/conflict with "commit-to-cloud-rollback"/);
    }
  });

  it('20 Deployments: one discovery, one apply each, one watch', async () => {
    await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    const c = new KubeClient(client.connection, { logger, retry: fast });
    const names = Array.from({ length: 20 }, (_, i) => `svc-${i}`);
    await Promise.all(names.map((n) => c.apply(deployment(n, `reg.local:5000/${n}:v1`, 'bench'))));
    await waitRolledOut(c, 'bench', names);
    // discovery (1) + 20 applies + list and watch (2)
    expect(c.requestCount).toBeLessThanOrEqual(20 + 3);
  });
});

async function waitUntil(fn: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out');
}
