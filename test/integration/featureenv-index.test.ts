import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { nullLogger } from '../../src/core/logger.js';
import { KubeClient, loadKubeconfig } from '../../src/kube/index.js';
import { writeNamespace } from '../../src/featureenv/environment.js';
import { INDEX, STATE, indexOf, setShort, type SetIndex } from '../../src/featureenv/state.js';
import type { DatabaseProvider } from '../../src/featureenv/types.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { runFe } from '../helpers/feature-env.js';

/**
 * The set's index against runs in flight (Kubernetes fake): a reap drops a claim whose namespace
 * never came only when it is old (an up claims first and makes its namespace a moment later), and
 * it releases no database that a claim still names (an up in flight made it).
 */
describe('feature environments: the index and runs in flight (Kubernetes fake)', () => {
  let kube: KubeFake;
  let gh: GitHubFake;
  let ws: string;
  let admin: KubeClient;
  const prefix = 'fi-';
  const ctl = () => `${prefix}${setShort({ repository: 'acme/shop', prefix, label: 'feature-env' })}-ctl`;

  /** A database provider in memory: which pull requests hold a database, and what was released. */
  function memoryDatabases(): DatabaseProvider & { dbs: Map<number, string>; released: number[] } {
    const dbs = new Map<number, string>();
    const released: number[] = [];
    return {
      dbs,
      released,
      description: 'databases in memory',
      claim: async (env) => {
        const id = `db_${env.number}`;
        dbs.set(env.number, id);
        return { host: 'db.example', port: 5432, database: id, user: id, password: 'pw-' + id, id };
      },
      release: async (env) => {
        released.push(env.number);
        return dbs.delete(env.number);
      },
      refill: async () => ({ created: [] }),
      held: async () => new Map(dbs),
      close: async () => {},
    };
  }

  beforeAll(async () => {
    [kube, gh] = await Promise.all([
      startKubeFake({ readyDelayMs: 10, tickMs: 50 }),
      startGitHubFake({ owner: 'acme', repo: 'shop' }),
    ]);
    gh.collaborators.set('maintainer', 'write');
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-fe-index-'));
    await mkdir(path.join(ws, 'k8s'));
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      stringify(deploymentManifest('api', 'registry.example:5000/shop/api:main', { replicas: 1 })),
    );
    admin = new KubeClient(await loadKubeconfig({ content: kube.kubeconfig }, nullLogger), {
      logger: nullLogger,
    });
  });
  afterAll(async () => {
    await Promise.all([kube?.stop(), gh?.stop()]);
    if (ws) await rm(ws, { recursive: true, force: true });
    closeHttpAgents();
  });

  const inputs = () => ({
    kubeconfig: kube.kubeconfig,
    manifests: 'k8s/',
    'pin-digests': 'false',
    'namespace-prefix': prefix,
    timeout: '20s',
  });
  const readIndex = async () =>
    indexOf(await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: ctl() }));
  /** Writes the index as a run in flight would have left it (a merge of claims into what is there). */
  const addClaims = async (claims: SetIndex['claims']) => {
    const now = await readIndex();
    await admin.patch(
      { apiVersion: 'v1', kind: 'Namespace', name: ctl() },
      {
        metadata: {
          annotations: { [INDEX]: JSON.stringify({ ...now, claims: { ...now.claims, ...claims } }) },
        },
      },
      'merge',
    );
  };

  it('a down that found no environment does not undo an up for the same pull request that claimed after the down began (CI stop 24, the soak)', async () => {
    const db = memoryDatabases();
    const number = 950;
    const sha = 'c'.repeat(40);
    gh.addPullRequest({ number, headSha: sha });
    // The down finds nothing (no claim, no namespace) and waits in its database release...
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let entered!: () => void;
    const inRelease = new Promise<void>((r) => (entered = r));
    const slow: DatabaseProvider = {
      ...db,
      release: async (env) => {
        entered();
        await gate;
        return db.release(env, nullLogger);
      },
    };
    const down = runFe(gh, { action: 'unlabeled', number, label: 'feature-env', labels: [], sha }, inputs(), {
      workspace: ws,
      database: slow,
    });
    await inRelease;
    // ...while an up for the same pull request claims and makes its environment.
    gh.label(number, 'feature-env', 'maintainer');
    const up = await runFe(
      gh,
      { action: 'labeled', number, label: 'feature-env', labels: ['feature-env'], sha },
      inputs(),
      { workspace: ws, database: db },
    );
    expect(up.r.status, up.logger.text()).toBe('up');
    open();
    await down;
    // The up's claim stays: the next up updates that environment, there is no second one.
    expect((await readIndex()).claims[String(number)]?.namespace).toBe(up.r.namespace);
    const again = await runFe(gh, { action: 'synchronize', number, labels: ['feature-env'], sha }, inputs(), {
      workspace: ws,
      database: db,
    });
    expect(again.r.status, again.logger.text()).toBe('updated');
    expect(again.r.namespace).toBe(up.r.namespace);
    // Gone again: the tests after this one count the set's claims.
    gh.label(number, 'feature-env', 'maintainer', 'unlabeled');
    const gone = await runFe(
      gh,
      { action: 'unlabeled', number, label: 'feature-env', labels: [], sha },
      inputs(),
      {
        workspace: ws,
        database: db,
      },
    );
    expect(gone.r.status).toBe('down');
    expect((await readIndex()).claims[String(number)]).toBeUndefined();
  });

  it('reap keeps a young claim whose namespace is not there yet and the database it names; drops an old one, and frees databases nobody holds', async () => {
    const db = memoryDatabases();
    gh.addPullRequest({ number: 900, headSha: 'a'.repeat(40) });
    gh.label(900, 'feature-env', 'maintainer');
    const live = await runFe(
      gh,
      { action: 'labeled', number: 900, label: 'feature-env', labels: ['feature-env'], sha: 'a'.repeat(40) },
      inputs(),
      { workspace: ws, database: db },
    );
    expect(live.r.status, live.logger.text()).toBe('up');
    // 901: an up in flight (claimed a moment ago, its namespace and database being made now);
    // 902: a run that died ten minutes ago after its claim; 903: a database that nothing names.
    for (const n of [901, 902, 903]) {
      gh.addPullRequest({ number: n, headSha: 'b'.repeat(40) });
      gh.label(n, 'feature-env', 'maintainer');
      db.dbs.set(n, `db_${n}`);
    }
    const now = Date.now();
    await addClaims({
      '901': { namespace: `${prefix}x-pr-901`, at: now },
      '902': { namespace: `${prefix}x-pr-902`, at: now - 11 * 60_000 },
    });
    const reaped = await runFe(gh, { name: 'schedule' }, inputs(), { workspace: ws, database: db });
    expect(reaped.r.status, reaped.logger.text()).toBe('reaped');
    const claims = (await readIndex()).claims;
    expect(Object.keys(claims).sort()).toEqual(['900', '901']);
    expect([...db.dbs.keys()].sort()).toEqual([900, 901]);
    expect(db.released.sort()).toEqual([902, 903]);
    expect(
      reaped.r.removed!.filter((r) => /held by no environment/.test(r.why)).map((r) => r.number),
    ).toEqual([902, 903]);
  });

  it('an environment taken down while its up is watching the rollout is not made again (no second environment for the pull request)', async () => {
    // Pods become ready after 3 s here: the down (an unlabel a moment after the label) removes the
    // namespace while the up watches its rollout; the up's last write of the namespace comes after.
    const slow = await startKubeFake({ readyDelayMs: 3000, tickMs: 50 });
    try {
      const slowAdmin = new KubeClient(await loadKubeconfig({ content: slow.kubeconfig }, nullLogger), {
        logger: nullLogger,
      });
      const slowInputs = () => ({ ...inputs(), kubeconfig: slow.kubeconfig, timeout: '6s' });
      gh.addPullRequest({ number: 910, headSha: 'a'.repeat(40) });
      gh.label(910, 'feature-env', 'maintainer');
      const up = runFe(
        gh,
        {
          action: 'labeled',
          number: 910,
          label: 'feature-env',
          labels: ['feature-env'],
          sha: 'a'.repeat(40),
        },
        slowInputs(),
        { workspace: ws },
      ).catch((e: unknown) => e);
      const applied = async () =>
        (await slowAdmin.list('apps/v1', 'Deployment')).items.some((d) =>
          String(d.metadata.namespace).endsWith('-pr-910'),
        );
      for (let i = 0; i < 200 && !(await applied()); i++) await new Promise((r) => setTimeout(r, 25));
      expect(await applied()).toBe(true);
      gh.label(910, 'feature-env', 'maintainer', 'unlabeled');
      const down = await runFe(
        gh,
        { action: 'unlabeled', number: 910, label: 'feature-env', labels: [], sha: 'a'.repeat(40) },
        slowInputs(),
        { workspace: ws },
      );
      expect(down.r.status, down.logger.text()).toBe('down');
      const result = await up;
      // The up fails (its namespace went under it), and says so; nothing of #910 stays.
      expect(result).toBeInstanceOf(Error);
      expect((result as Error).message).toMatch(
        /Namespace \S+-pr-910 was removed while this run was writing it/,
      );
      const left = (
        await slowAdmin.list('v1', 'Namespace', { labelSelector: 'commit-to-cloud.dev/fe-pr=910' })
      ).items.map((n) => n.metadata.name);
      expect(left).toEqual([]);
    } finally {
      await slow.stop();
    }
  });

  /** A request of the engine held at the fake until the test lets it go. */
  const hold = (method: string, pathIncludes: string) => {
    let release!: () => void;
    const until = new Promise<void>((r) => (release = r));
    const arrived = new Promise<void>((onHold) =>
      kube.faults.add({ kind: 'hold', method, pathIncludes, until, onHold }),
    );
    return { arrived, release };
  };
  const labelled = (n: number) => ({
    action: 'labeled' as const,
    number: n,
    label: 'feature-env',
    labels: ['feature-env'],
    sha: 'a'.repeat(40),
  });
  const unlabelled = (n: number) => ({
    action: 'unlabeled' as const,
    number: n,
    label: 'feature-env',
    labels: [],
    sha: 'a'.repeat(40),
  });
  const namespacesOfPr = async (n: number) =>
    (await admin.list('v1', 'Namespace', { labelSelector: `commit-to-cloud.dev/fe-pr=${n}` })).items.map(
      (x) => x.metadata.name,
    );

  /** The set's control namespace exists (so the one namespace an up then creates is its own). */
  const controlExists = async () => {
    if (!gh.issues.has(929)) {
      gh.addPullRequest({ number: 929, headSha: 'a'.repeat(40) });
      gh.label(929, 'feature-env', 'maintainer');
    }
    expect((await runFe(gh, labelled(929), inputs(), { workspace: ws })).r.status).toMatch(/^(up|updated)$/);
  };

  it("a down between an up's claim and the making of its namespace: the up makes it, finds its claim released, removes it again", async () => {
    gh.addPullRequest({ number: 930, headSha: 'a'.repeat(40) });
    gh.label(930, 'feature-env', 'maintainer');
    await controlExists();
    const create = hold('POST', '/api/v1/namespaces?');
    const up = runFe(gh, labelled(930), inputs(), { workspace: ws }).catch((e: unknown) => e);
    await create.arrived; // claimed; its namespace is being made
    gh.label(930, 'feature-env', 'maintainer', 'unlabeled');
    const down = await runFe(gh, unlabelled(930), inputs(), { workspace: ws });
    expect(down.r.status, down.logger.text()).toBe('down');
    create.release();
    const result = await up;
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toMatch(/#930 was taken down .* while this run was making it/);
    expect(await namespacesOfPr(930)).toEqual([]);
    expect((await readIndex()).claims['930']).toBeUndefined();
  });

  it('a down whose namespace is made by an up in flight after the down deleted it: the down deletes it again once its claim is released', async () => {
    gh.addPullRequest({ number: 931, headSha: 'a'.repeat(40) });
    gh.label(931, 'feature-env', 'maintainer');
    await controlExists();
    const create = hold('POST', '/api/v1/namespaces?');
    const up = runFe(gh, labelled(931), inputs(), { workspace: ws });
    await create.arrived; // claimed; its namespace is being made
    // The down finds no namespace yet; its release of the claim is held.
    const release = hold('PATCH', `/api/v1/namespaces/${ctl()}`);
    gh.label(931, 'feature-env', 'maintainer', 'unlabeled');
    const down = runFe(gh, unlabelled(931), inputs(), { workspace: ws });
    await release.arrived;
    // The up makes its namespace while its claim still stands, and deploys into it.
    create.release();
    expect((await up).r.status).toBe('up');
    expect(await namespacesOfPr(931)).toHaveLength(1);
    release.release();
    const d = await down;
    expect(d.r.status, d.logger.text()).toBe('down');
    expect(d.logger.text()).toMatch(/deleting namespace \S+-pr-931 again/);
    expect(await namespacesOfPr(931)).toEqual([]);
    expect((await readIndex()).claims['931']).toBeUndefined();
  });

  it('a second up for a pull request whose namespace another up is still making waits for it, and stops when that claim is released', async () => {
    gh.addPullRequest({ number: 932, headSha: 'a'.repeat(40) });
    gh.label(932, 'feature-env', 'maintainer');
    await controlExists();
    const create = hold('POST', '/api/v1/namespaces?');
    const first = runFe(gh, labelled(932), inputs(), { workspace: ws }).catch((e: unknown) => e);
    await create.arrived;
    const second = runFe(gh, labelled(932), inputs(), { workspace: ws }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 500)); // the second has claimed (an update) and waits
    gh.label(932, 'feature-env', 'maintainer', 'unlabeled');
    expect((await runFe(gh, unlabelled(932), inputs(), { workspace: ws })).r.status).toBe('down');
    const b = await second;
    expect(b).toBeInstanceOf(Error);
    expect((b as Error).message).toMatch(/Another run for #932 claimed namespace \S+ and then gave it up/);
    create.release();
    expect(await first).toBeInstanceOf(Error);
    expect(await namespacesOfPr(932)).toEqual([]);
  });

  it('an up reads and renders its manifests once: the checks before the claim and the deploy use one prepared set', async () => {
    gh.addPullRequest({ number: 933, headSha: 'a'.repeat(40) });
    gh.label(933, 'feature-env', 'maintainer');
    const up = await runFe(gh, labelled(933), inputs(), { workspace: ws });
    expect(up.r.status, up.logger.text()).toBe('up');
    expect(up.logger.text().match(/Read \d+ object\(s\) from/g)).toHaveLength(1);
    // The host rewritten on the prepared set is what the GitHub Deployment and the result name.
    expect(up.r.url).toBe('');
  });

  it('writeNamespace makes a namespace only when told this run makes it; one removed meanwhile stays removed', async () => {
    const s = {
      repository: 'acme/shop',
      prefix,
      label: 'feature-env',
      client: admin,
      logger: nullLogger,
    };
    const name = `${prefix}x-spare-w1`;
    // Every version of the namespace, from its first, says its state: one without reads as an
    // active environment of no pull request, so a concurrent refill dropped the slot of a spare
    // being made (and made another: a spare outside the pool), and a reap removed it as an orphan.
    const versions: Array<string | undefined> = [];
    const stop = new AbortController();
    const watching = (async () => {
      for await (const ev of admin.watch('v1', 'Namespace', {
        fieldSelector: `metadata.name=${name}`,
        signal: stop.signal,
      }))
        if (ev.type === 'ADDED' || ev.type === 'MODIFIED') versions.push(ev.object.metadata.labels?.[STATE]);
    })().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    await expect(writeNamespace(s, name, 'spare')).rejects.toThrow(
      /was removed while this run was writing it/,
    );
    expect(await admin.get({ apiVersion: 'v1', kind: 'Namespace', name })).toBeUndefined();
    await writeNamespace(s, name, 'warming', { create: true });
    // A reap trims the slot while the spare is being deployed: the refill's last write must not bring it back.
    await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name });
    await expect(writeNamespace(s, name, 'spare')).rejects.toThrow(/was removed/);
    expect(await admin.get({ apiVersion: 'v1', kind: 'Namespace', name })).toBeUndefined();
    // One that exists is written (its state changes), and told to create, one that exists is kept, not replaced.
    await writeNamespace(s, name, 'warming', { create: true });
    const uid = (await admin.get({ apiVersion: 'v1', kind: 'Namespace', name }))!.metadata.uid;
    await writeNamespace(s, name, 'spare', { create: true });
    const after = (await admin.get({ apiVersion: 'v1', kind: 'Namespace', name }))!;
    expect(after.metadata.uid).toBe(uid);
    expect(after.metadata.labels?.[STATE]).toBe('spare');
    await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name });
    await new Promise((r) => setTimeout(r, 100));
    stop.abort();
    await watching;
    expect(versions).toEqual(['warming', 'warming', 'spare']);
  });
});
