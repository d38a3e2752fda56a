import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { nullLogger } from '../../src/core/logger.js';
import { KubeClient, loadKubeconfig } from '../../src/kube/index.js';
import { INDEX, indexOf, setShort, type SetIndex } from '../../src/featureenv/state.js';
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
});
