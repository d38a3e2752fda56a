import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { nullLogger } from '../../src/core/logger.js';
import { KubeClient, loadKubeconfig, type KubeObject } from '../../src/kube/index.js';
import { A_ASLEEP, A_KEEP } from '../../src/featureenv/state.js';
import { A_SLEEP_REPLICAS, SLEEP_MANAGER } from '../../src/featureenv/sleep.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { runFe, type PrEvent } from '../helpers/feature-env.js';
import { CLUSTER_SETUP_TIMEOUT_MS, haveCluster, sharedCluster } from '../helpers/shared-cluster.js';
import type { Cluster } from '../helpers/cluster.js';

/**
 * Issue 16 item 3 on the genuine control plane (real Deployment and StatefulSet controllers, real
 * ReplicaSets, kwok's pods): the scheduled run puts an idle environment to sleep (its workloads to
 * 0, their replicas remembered; the comment says how to wake it), leaves a kept one and spares
 * awake; a wake (here the label added again) brings back exactly those replicas, waits until
 * ready, and hands `replicas` back so the deploy that follows applies a changed count without a
 * conflict.
 */
const REG = 'registry.example:5000/shop';
const HOUR = 3_600_000;

describe.skipIf(!haveCluster())('feature environments: sleep and wake (genuine control plane)', () => {
  let cluster: Cluster;
  let gh: GitHubFake;
  let ws: string;
  let admin: KubeClient;
  let n = 1600;
  const statefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'cache' },
    spec: {
      replicas: 1,
      serviceName: 'cache',
      selector: { matchLabels: { app: 'cache' } },
      template: {
        metadata: { labels: { app: 'cache' } },
        spec: { containers: [{ name: 'cache', image: `${REG}/cache:main` }] },
      },
    },
  };

  beforeAll(async () => {
    cluster = await sharedCluster();
    gh = await startGitHubFake({ owner: 'acme', repo: 'shop' });
    gh.collaborators.set('maintainer', 'write');
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-fe-sleep-'));
    const write = async (dir: string, apiReplicas: number) => {
      await mkdir(path.join(ws, dir));
      await writeFile(
        path.join(ws, dir, 'app.yaml'),
        [
          deploymentManifest('api', `${REG}/api:main`, { replicas: apiReplicas }),
          deploymentManifest('web', `${REG}/web:main`),
          statefulSet,
        ]
          .map((o) => stringify(o))
          .join('---\n'),
      );
    };
    await write('k8s', 2);
    // The same set with api at 3: the deploy after a wake applies it without a conflict.
    await write('k8s-3', 3);
    admin = new KubeClient(await loadKubeconfig({ content: cluster.kubeconfig }, nullLogger), {
      logger: nullLogger,
    });
  }, CLUSTER_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await gh?.stop();
    if (ws) await rm(ws, { recursive: true, force: true });
    closeHttpAgents();
  });

  const inputs = (prefix: string, manifests = 'k8s/') => ({
    kubeconfig: cluster.kubeconfig,
    manifests,
    'pin-digests': 'false',
    'namespace-prefix': prefix,
    'sleep-after': '2h',
    timeout: '60s',
  });
  function pr() {
    const number = ++n;
    const sha = `${number}`.padStart(40, 'd');
    gh.addPullRequest({ number, headSha: sha, labels: [] });
    gh.label(number, 'feature-env', 'maintainer');
    const ev: PrEvent = { action: 'labeled', number, label: 'feature-env', labels: ['feature-env'], sha };
    return { number, ev, prefix: `fs${number}-` };
  }
  const workload = (kind: string, namespace: string, name: string) =>
    admin.get({ apiVersion: 'apps/v1', kind, namespace, name }) as Promise<KubeObject>;
  const replicas = (w: KubeObject) => (w.spec as { replicas?: number }).replicas;
  const replicasOf = async (ns: string) => ({
    api: replicas(await workload('Deployment', ns, 'api')),
    web: replicas(await workload('Deployment', ns, 'web')),
    cache: replicas(await workload('StatefulSet', ns, 'cache')),
  });
  const podsIn = async (ns: string) => (await admin.list('v1', 'Pod', { namespace: ns })).items;
  async function eventually(check: () => Promise<boolean>, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('an idle environment sleeps (replicas to 0, remembered; the comment says how to wake it); a wake brings them back, ready, and the deploy after applies a changed count', async () => {
    const p = pr();
    const up = await runFe(gh, p.ev, inputs(p.prefix), { workspace: ws });
    expect(up.r.status, up.logger.text()).toBe('up');
    const ns = up.r.namespace;
    expect(await replicasOf(ns)).toEqual({ api: 2, web: 2, cache: 1 });

    // One hour later: not idle long enough.
    const early = await runFe(gh, { name: 'schedule' }, inputs(p.prefix), {
      workspace: ws,
      now: () => Date.now() + HOUR,
    });
    expect(early.r.slept, early.logger.text()).toBeUndefined();
    expect(await replicasOf(ns)).toEqual({ api: 2, web: 2, cache: 1 });

    // Three hours later: asleep.
    const later = () => Date.now() + 3 * HOUR;
    const reap = await runFe(gh, { name: 'schedule' }, inputs(p.prefix), { workspace: ws, now: later });
    expect(reap.r.slept, reap.logger.text()).toEqual([
      { namespace: ns, number: p.number, why: expect.stringMatching(/^no update, command or wake for 3/) },
    ]);
    expect(reap.r.summary).toContain('### Put to sleep');
    expect(await replicasOf(ns)).toEqual({ api: 0, web: 0, cache: 0 });
    const api = await workload('Deployment', ns, 'api');
    expect(api.metadata.annotations?.[A_SLEEP_REPLICAS]).toBe('2');
    expect((await workload('StatefulSet', ns, 'cache')).metadata.annotations?.[A_SLEEP_REPLICAS]).toBe('1');
    const nsObj = (await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: ns }))!;
    expect(nsObj.metadata.annotations?.[A_ASLEEP]).toBeDefined();
    // The real ReplicaSet controller removes the pods.
    await eventually(async () => (await podsIn(ns)).length === 0);
    const comment = gh.comments.find((c) => c.issue === p.number)!.body;
    expect(comment).toContain(`Feature environment for #${p.number} is asleep`);
    expect(comment).toContain('`/feature-env wake`');
    expect(comment).toContain('scaled to 0');

    // Asleep already: the next scheduled run leaves it as it is.
    const again = await runFe(gh, { name: 'schedule' }, inputs(p.prefix), { workspace: ws, now: later });
    expect(again.r.slept).toBeUndefined();
    expect(again.r.kept).toContainEqual(
      expect.objectContaining({ namespace: ns, why: expect.stringMatching(/^asleep since /) }),
    );

    // The label added again: woken (2, 2, 1 and ready), then the deploy of k8s-3 sets api to 3.
    const since = gh.requests.length;
    const woke = await runFe(gh, p.ev, inputs(p.prefix, 'k8s-3/'), { workspace: ws });
    expect(woke.r.status, woke.logger.text()).toBe('updated');
    expect(woke.logger.text()).toMatch(
      /waking, restored Deployment\/api=2, Deployment\/web=2, StatefulSet\/cache=1/,
    );
    expect(woke.logger.text()).toMatch(/awake, 3 workload\(s\) ready/);
    expect(await replicasOf(ns)).toEqual({ api: 3, web: 2, cache: 1 });
    for (const [kind, name] of [
      ['Deployment', 'web'],
      ['StatefulSet', 'cache'],
    ] as const) {
      const w = await workload(kind, ns, name);
      expect((w.status as { readyReplicas?: number }).readyReplicas, `${kind}/${name}`).toBe(replicas(w));
      expect(w.metadata.annotations?.[A_SLEEP_REPLICAS]).toBeUndefined();
      expect((w.metadata.managedFields ?? []).map((f) => f.manager)).not.toContain(SLEEP_MANAGER);
    }
    const awake = (await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: ns }))!;
    expect(awake.metadata.annotations?.[A_ASLEEP]).toBeUndefined();
    // The comment no longer says it sleeps.
    const bodies = gh.requests
      .slice(since)
      .filter((r) => r.method === 'PATCH' && r.path.includes('/issues/comments/'))
      .map((r) => String((r.body as { body: string }).body));
    expect(bodies.at(-1)).toContain('is updated');

    await runFe(gh, { ...p.ev, action: 'unlabeled' }, inputs(p.prefix), { workspace: ws });
  });

  it('a kept environment and the spares never sleep', async () => {
    const p = pr();
    const raw = { ...inputs(p.prefix), 'warm-pool': '1' };
    const up = await runFe(gh, p.ev, raw, { workspace: ws });
    expect(up.r.status, up.logger.text()).toBe('up');
    await admin.patch(
      { apiVersion: 'v1', kind: 'Namespace', name: up.r.namespace },
      { metadata: { annotations: { [A_KEEP]: 'true' } } },
      'merge',
    );
    const reap = await runFe(gh, { name: 'schedule' }, raw, {
      workspace: ws,
      now: () => Date.now() + 3 * HOUR,
    });
    expect(reap.r.slept, reap.logger.text()).toBeUndefined();
    expect(reap.r.kept).toContainEqual(
      expect.objectContaining({ namespace: up.r.namespace, why: expect.stringContaining('kept') }),
    );
    const spares = reap.r.kept!.filter((k) => k.why === 'spare of the warm pool');
    expect(spares).toHaveLength(1);
    expect(await replicasOf(up.r.namespace)).toEqual({ api: 2, web: 2, cache: 1 });
    expect(await replicasOf(spares[0]!.namespace)).toEqual({ api: 2, web: 2, cache: 1 });
    await runFe(gh, { ...p.ev, action: 'unlabeled' }, raw, { workspace: ws });
    await runFe(gh, { name: 'schedule' }, { ...raw, 'warm-pool': '0' }, { workspace: ws });
  });
});
