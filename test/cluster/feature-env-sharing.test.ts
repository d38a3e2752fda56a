import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { nullLogger } from '../../src/core/logger.js';
import { KubeClient, loadKubeconfig, type KubeObject } from '../../src/kube/index.js';
import { A_TEMPLATE_CREDENTIAL_REV } from '../../src/featureenv/environment.js';
import { MANAGED, PR_LABEL, SET, STATE, indexOf, setKey } from '../../src/featureenv/state.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { runFe, type PrEvent } from '../helpers/feature-env.js';
import { POSTGRES_INSTALL, havePostgres, startPostgres } from '../helpers/postgres.js';
import { CLUSTER_SETUP_TIMEOUT_MS, haveCluster, sharedCluster } from '../helpers/shared-cluster.js';
import type { Cluster } from '../helpers/cluster.js';

/**
 * Feature environments on one cluster that several repositories and workflows share (issue 12), on
 * the genuine control plane: sets never mix (two repositories on the default prefix, two workflows
 * of one repository), claims and pools are exact under concurrency, and a database's credentials
 * stay valid across updates. Each test fails when its mechanism is removed (see the closing note).
 */
const REG = 'registry.example:5000/shop';

describe.skipIf(!haveCluster())('feature environments on a shared cluster (genuine control plane)', () => {
  let cluster: Cluster;
  let initech: GitHubFake;
  let globex: GitHubFake;
  let ws: string;
  let admin: KubeClient;
  let n = 0;

  beforeAll(async () => {
    cluster = await sharedCluster();
    [initech, globex] = await Promise.all([
      startGitHubFake({ owner: 'initech', repo: 'shop' }),
      startGitHubFake({ owner: 'globex', repo: 'shop' }),
    ]);
    for (const gh of [initech, globex]) gh.collaborators.set('maintainer', 'write');
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-fe-share-'));
    await mkdir(path.join(ws, 'k8s'));
    // api reads the database Secret; web does not.
    const api = deploymentManifest('api', `${REG}/api:main`, { replicas: 1 });
    (api.spec.template.spec.containers[0] as Record<string, unknown>).env = [
      { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'database', key: 'url' } } },
    ];
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      [api, deploymentManifest('web', `${REG}/web:main`, { replicas: 1 })]
        .map((o) => stringify(o))
        .join('---\n'),
    );
    admin = new KubeClient(await loadKubeconfig({ content: cluster.kubeconfig }, nullLogger), {
      logger: nullLogger,
    });
  }, CLUSTER_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await Promise.all([initech?.stop(), globex?.stop()]);
    if (ws) await rm(ws, { recursive: true, force: true });
    closeHttpAgents();
  });

  /** A pull request of the same number in every repository given, labeled with `labels` by the maintainer. */
  function pr(repos: GitHubFake[], labels = ['feature-env']) {
    const number = 700 + ++n;
    const sha = `${number}`.padStart(40, 'c');
    for (const gh of repos) {
      gh.addPullRequest({ number, headSha: sha, labels: [] });
      for (const l of labels) gh.label(number, l, 'maintainer');
    }
    return { number, sha };
  }
  const labeled = (p: { number: number; sha: string }, label = 'feature-env'): PrEvent => ({
    action: 'labeled',
    number: p.number,
    label,
    labels: [label],
    sha: p.sha,
  });
  const inputs = (prefix: string, extra: Record<string, string> = {}) => ({
    kubeconfig: cluster.kubeconfig,
    manifests: 'k8s/',
    'pin-digests': 'false',
    'namespace-prefix': prefix,
    timeout: '60s',
    ...extra,
  });
  const setOf = (gh: GitHubFake, prefix: string, label = 'feature-env') =>
    setKey({ repository: `${gh.owner}/${gh.repo}`, prefix, label });
  const namespacesOf = async (set: string, state?: string) =>
    (
      await admin.list('v1', 'Namespace', {
        labelSelector: `${MANAGED}=true,${SET}=${set}${state ? `,${STATE}=${state}` : ''}`,
      })
    ).items.filter((ns) => !(ns.metadata as { deletionTimestamp?: string }).deletionTimestamp);
  const indexOfSet = async (set: string) =>
    indexOf((await namespacesOf(set, 'control'))[0] as KubeObject | undefined);

  it('two repositories on one prefix and two workflows of one repository: each pull request its own environment; reaps and pools stay in their set', async () => {
    const prefix = 'fe-'; // the default, shared by both repositories
    const a = inputs(prefix, { 'warm-pool': '1' });
    const b = inputs(prefix);
    const preview = inputs('pv-', { label: 'preview' });
    const setA = setOf(initech, prefix);
    const setB = setOf(globex, prefix);
    const setP = setOf(initech, 'pv-', 'preview');
    expect(new Set([setA, setB, setP]).size).toBe(3);

    // A's warm pool: one spare. B has none, and must not take A's.
    expect((await runFe(initech, { name: 'workflow_dispatch' }, a, { workspace: ws })).r.status).toBe(
      'reaped',
    );
    const [spareA] = await namespacesOf(setA, 'spare');
    expect(spareA).toBeDefined();

    const same = pr([initech, globex], ['feature-env', 'preview']);
    const upB = await runFe(globex, labeled(same), b, { workspace: ws });
    expect(upB.r.status, upB.logger.text()).toBe('up');
    expect(upB.logger.text()).not.toContain('from the warm pool');
    const upA = await runFe(initech, labeled(same), a, { workspace: ws });
    expect(upA.r.status, upA.logger.text()).toBe('up');
    expect(upA.r.namespace).toBe(spareA!.metadata.name);
    const upP = await runFe(initech, labeled(same, 'preview'), preview, { workspace: ws });
    expect(upP.r.status, upP.logger.text()).toBe('up');
    // The same pull request number, three environments of their own.
    expect(new Set([upA.r.namespace, upB.r.namespace, upP.r.namespace]).size).toBe(3);
    for (const [ns, set] of [
      [upA.r.namespace, setA],
      [upB.r.namespace, setB],
      [upP.r.namespace, setP],
    ] as const) {
      const live = await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: ns });
      expect(live?.metadata.labels?.[SET]).toBe(set);
      expect(live?.metadata.labels?.[PR_LABEL]).toBe(String(same.number));
    }

    // A pull request that only 'preview' labels: the default workflow's reap keeps it (not its set).
    const onlyPreview = pr([initech], ['preview']);
    const upP2 = await runFe(initech, labeled(onlyPreview, 'preview'), preview, { workspace: ws });
    expect(upP2.r.status, upP2.logger.text()).toBe('up');
    const reapA = await runFe(initech, { name: 'schedule' }, a, { workspace: ws });
    expect(reapA.r.removed!.map((r) => r.namespace)).not.toContain(upP2.r.namespace);
    expect(await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: upP2.r.namespace })).toBeDefined();

    // B's pull request closes: B's reap removes B's environment only.
    globex.issues.get(same.number)!.state = 'closed';
    const reapB = await runFe(globex, { name: 'schedule' }, b, { workspace: ws });
    expect(reapB.r.removed!.map((r) => r.namespace)).toEqual([upB.r.namespace]);
    for (const ns of [upA.r.namespace, upP.r.namespace, upP2.r.namespace])
      expect(await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: ns })).toBeDefined();
    // A's spare (refilled after its claim) is still A's alone.
    expect(await namespacesOf(setA, 'spare')).toHaveLength(1);
    expect(await namespacesOf(setB, 'spare')).toHaveLength(0);

    for (const [gh, p, opts, label] of [
      [initech, same, a, 'feature-env'],
      [initech, same, preview, 'preview'],
      [initech, onlyPreview, preview, 'preview'],
    ] as const) {
      gh.label(p.number, label, 'maintainer', 'unlabeled');
      const down = await runFe(
        gh,
        { action: 'unlabeled', number: p.number, label, labels: [], sha: p.sha },
        opts,
        { workspace: ws },
      );
      expect(down.r.status, down.logger.text()).toBe('down');
    }
  });

  it("a namespace of the set's name that the set did not make is never taken over, and reap leaves it", async () => {
    const prefix = `fs${n}-`;
    const p = pr([initech]);
    const set = setOf(initech, prefix);
    // Someone made a namespace with exactly the name this pull request's environment would get.
    const first = await runFe(initech, labeled(p), inputs(prefix), { workspace: ws });
    const name = first.r.namespace;
    await runFe(initech, { action: 'closed', number: p.number, labels: [], sha: p.sha }, inputs(prefix), {
      workspace: ws,
    });
    for (let i = 0; i < 60 && (await admin.get({ apiVersion: 'v1', kind: 'Namespace', name })); i++)
      await new Promise((r) => setTimeout(r, 500));
    await admin.apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { team: 'payments' } } },
      { fieldManager: 'someone' },
    );
    initech.issues.get(p.number)!.state = 'open';
    const again = await runFe(initech, labeled(p), inputs(prefix), { workspace: ws });
    expect(again.r.status, again.logger.text()).toBe('up');
    expect(again.r.namespace).not.toBe(name);
    const theirs = await admin.get({ apiVersion: 'v1', kind: 'Namespace', name });
    expect(theirs?.metadata.labels).toEqual(expect.objectContaining({ team: 'payments' }));
    expect(theirs?.metadata.labels?.[MANAGED]).toBeUndefined();
    await runFe(initech, { action: 'closed', number: p.number, labels: [], sha: p.sha }, inputs(prefix), {
      workspace: ws,
    });
    await runFe(initech, { name: 'schedule' }, inputs(prefix), { workspace: ws });
    expect(await admin.get({ apiVersion: 'v1', kind: 'Namespace', name })).toBeDefined();
    expect((await namespacesOf(set)).filter((x) => x.metadata.labels?.[STATE] === 'active')).toEqual([]);
    await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name });
  });

  it('N concurrent ups against K ready spares: min(N, K) take spares, none twice, the rest get their own; the pool ends with exactly K', async () => {
    const prefix = `fc${n}-`;
    const set = setOf(initech, prefix);
    const pool = inputs(prefix, { 'warm-pool': '3' });
    await runFe(initech, { name: 'workflow_dispatch' }, pool, { workspace: ws });
    const ready = (await namespacesOf(set, 'spare')).map((x) => x.metadata.name!);
    expect(ready).toHaveLength(3);
    const prs = Array.from({ length: 6 }, () => pr([initech]));
    const ups = await Promise.all(prs.map((p) => runFe(initech, labeled(p), pool, { workspace: ws })));
    for (const u of ups) expect(u.r.status, u.logger.text()).toBe('up');
    const taken = ups.map((u) => u.r.namespace);
    expect(new Set(taken).size).toBe(6);
    expect(taken.filter((t) => ready.includes(t)).sort()).toEqual([...ready].sort());
    // Every up refilled the pool after its claim: between them, exactly 3 slots, each a ready spare.
    const spares = (await namespacesOf(set, 'spare')).map((s) => s.metadata.name!);
    const filled = Object.keys((await indexOfSet(set)).pool);
    expect(filled, spares.join(', ')).toHaveLength(3);
    expect([...spares].sort()).toEqual([...filled].sort());
    const claims = (await indexOfSet(set)).claims;
    expect(prs.map((p) => claims[String(p.number)]?.namespace)).toEqual(taken);

    // 5 concurrent ups for one pull request: one environment, one comment, the pool still exactly 3.
    const one = pr([initech]);
    const runs = await Promise.all(
      Array.from({ length: 5 }, () => runFe(initech, labeled(one), pool, { workspace: ws })),
    );
    expect(
      new Set(runs.map((t) => t.r.namespace)).size,
      runs.map((t) => t.logger.text()).join('\n---\n'),
    ).toBe(1);
    expect(runs.filter((t) => t.logger.text().includes('from the warm pool'))).toHaveLength(1);
    expect(Object.keys((await indexOfSet(set)).pool)).toHaveLength(3);
    expect(
      (await namespacesOf(set)).filter((x) => x.metadata.labels?.[PR_LABEL] === String(one.number)),
    ).toHaveLength(1);

    // reap with a smaller pool: exactly that many spares stay, the newest (extras go oldest first).
    const slots = Object.entries((await indexOfSet(set)).pool).sort(([, x], [, y]) => x.at - y.at);
    const trimmed = await runFe(
      initech,
      { name: 'schedule' },
      { ...pool, 'warm-pool': '1' },
      { workspace: ws },
    );
    const left = await namespacesOf(set, 'spare');
    expect(left.map((x) => x.metadata.name)).toEqual([slots.at(-1)![0]]);
    expect(
      trimmed.r
        .removed!.filter((r) => /beyond the warm pool/.test(r.why))
        .map((r) => r.namespace)
        .sort(),
    ).toEqual(
      slots
        .slice(0, 2)
        .map(([name]) => name)
        .sort(),
    );
    expect(Object.keys((await indexOfSet(set)).pool)).toEqual([slots.at(-1)![0]]);
    for (const p of [...prs, one])
      await runFe(initech, { action: 'closed', number: p.number, labels: [], sha: p.sha }, pool, {
        workspace: ws,
      });
  });

  it("credentials stay valid: an update keeps the database password and restarts nothing for it; rotate-db-password rolls exactly the Secret's readers", async () => {
    if (!havePostgres()) throw new Error(`these tests need PostgreSQL: ${POSTGRES_INSTALL}`);
    const server = await startPostgres();
    const root = await server.connect();
    try {
      await root.query('CREATE DATABASE shop_integration');
      const prefix = `fd${n}-`;
      const db = {
        ...inputs(prefix),
        database: 'postgres-template',
        'db-url': server.url(),
        'db-template': 'shop_integration',
      };
      const p = pr([initech]);
      const up = await runFe(initech, labeled(p), db, { workspace: ws });
      expect(up.r.status, up.logger.text()).toBe('up');
      const ns = up.r.namespace;
      const secret = async () => {
        const s = (await admin.get({
          apiVersion: 'v1',
          kind: 'Secret',
          namespace: ns,
          name: 'database',
        })) as unknown as {
          data: Record<string, string>;
        };
        return (k: string) => Buffer.from(s.data[k]!, 'base64').toString('utf8');
      };
      const workload = async (name: string) =>
        (await admin.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name })) as unknown as {
          metadata: { generation: number };
          spec: { template: { metadata: { annotations?: Record<string, string> } } };
        };
      const login = async (v: (k: string) => string) => {
        const c = new pg.Client({
          host: v('host'),
          port: Number(v('port')),
          user: v('user'),
          password: v('password'),
          database: v('database'),
        });
        await c.connect();
        await c.end();
      };
      const first = await secret();
      await login(first);
      const rev = (await workload('api')).spec.template.metadata.annotations?.[A_TEMPLATE_CREDENTIAL_REV];
      expect(rev).toMatch(/^[0-9a-f]{8}$/);
      expect(
        (await workload('web')).spec.template.metadata.annotations?.[A_TEMPLATE_CREDENTIAL_REV],
      ).toBeUndefined();
      const gen = {
        api: (await workload('api')).metadata.generation,
        web: (await workload('web')).metadata.generation,
      };

      // A push: same password, the running services' credentials still log in, nothing restarted.
      const sha2 = `${p.number}`.padStart(40, 'd');
      const upd = await runFe(
        initech,
        { action: 'synchronize', number: p.number, labels: ['feature-env'], sha: sha2 },
        db,
        {
          workspace: ws,
        },
      );
      expect(upd.r.status, upd.logger.text()).toBe('updated');
      const second = await secret();
      expect(second('password')).toBe(first('password'));
      await login(first);
      expect((await workload('api')).metadata.generation).toBe(gen.api);
      expect((await workload('web')).metadata.generation).toBe(gen.web);

      // Rotation on request: a new password, api (the Secret's reader) rolls, web does not.
      const rot = await runFe(
        initech,
        { action: 'synchronize', number: p.number, labels: ['feature-env'], sha: sha2 },
        { ...db, 'rotate-db-password': 'true' },
        { workspace: ws },
      );
      expect(rot.r.status, rot.logger.text()).toBe('updated');
      const third = await secret();
      expect(third('password')).not.toBe(first('password'));
      await login(third);
      await expect(login(first)).rejects.toThrow(/password authentication failed/);
      const api = await workload('api');
      expect(api.spec.template.metadata.annotations?.[A_TEMPLATE_CREDENTIAL_REV]).not.toBe(rev);
      expect(api.metadata.generation).toBeGreaterThan(gen.api);
      expect((await workload('web')).metadata.generation).toBe(gen.web);
      expect(rot.logger.text()).not.toContain(third('password'));

      await runFe(initech, { action: 'closed', number: p.number, labels: [], sha: sha2 }, db, {
        workspace: ws,
      });
    } finally {
      await root.end();
      await server.stop();
    }
  });
});
