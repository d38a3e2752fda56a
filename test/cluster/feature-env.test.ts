import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { nullLogger } from '../../src/core/logger.js';
import { KubeClient, loadKubeconfig } from '../../src/kube/index.js';
import { MANAGED, PR_LABEL, STATE, setKey } from '../../src/featureenv/state.js';
import { postgresName } from '../../src/featureenv/db/postgres.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { runFe } from '../helpers/feature-env.js';
import { POSTGRES_INSTALL, connectWithSecret, havePostgres, startPostgres } from '../helpers/postgres.js';
import { CLUSTER_SETUP_TIMEOUT_MS, haveCluster, sharedCluster } from '../helpers/shared-cluster.js';
import type { Cluster } from '../helpers/cluster.js';

/**
 * action-feature-env's engine on the genuine control plane (namespaces really finalise there) with
 * the GitHub fake: every event path of one pull request, refusals, the warm pool, concurrency, reap.
 */
const REG = 'registry.example:5000/shop';
const ingress = (name: string, host: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name },
  spec: {
    rules: [
      {
        host,
        http: {
          paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 80 } } } }],
        },
      },
    ],
  },
});
const service = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
});

describe.skipIf(!haveCluster())('feature environments (genuine control plane)', () => {
  let cluster: Cluster;
  let gh: GitHubFake;
  let ws: string;
  let admin: KubeClient;
  let prefix: string;
  let n = 100;

  beforeAll(async () => {
    cluster = await sharedCluster();
    gh = await startGitHubFake({ owner: 'acme', repo: 'shop' });
    gh.collaborators.set('maintainer', 'write');
    gh.collaborators.set('visitor', 'read');
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-fe-'));
    await mkdir(path.join(ws, 'k8s'));
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      [
        deploymentManifest('api', `${REG}/api:main`),
        service('api'),
        ingress('api', 'api.example.com'),
        deploymentManifest('web', `${REG}/web:main`),
        service('web'),
        ingress('web', 'web.example.com'),
      ]
        .map((o) => stringify(o))
        .join('---\n'),
    );
    admin = new KubeClient(await loadKubeconfig({ content: cluster.kubeconfig }, nullLogger), {
      logger: nullLogger,
    });
  }, CLUSTER_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await gh?.stop();
    if (ws) await rm(ws, { recursive: true, force: true });
    closeHttpAgents();
  });

  /** A pull request of its own for one test, labeled by the maintainer; its environments under a prefix of their own. */
  function pr(labels = ['feature-env']) {
    const number = ++n;
    prefix = `fe${number}-`;
    const sha = `${number}`.padStart(40, 'a');
    gh.addPullRequest({ number, headSha: sha, labels: [] });
    for (const l of labels) gh.label(number, l, 'maintainer');
    return { number, sha };
  }
  const base = () => ({
    kubeconfig: cluster.kubeconfig,
    manifests: 'k8s/',
    'pin-digests': 'false',
    'namespace-prefix': prefix,
    domain: 'preview.example.com',
    links: 'Logs=https://logs.example.com/?ns={namespace}&sha={sha}',
    timeout: '60s',
  });
  const admin2 = () => admin;
  const dbName = (number: number) =>
    postgresName(setKey({ repository: 'acme/shop', prefix, label: 'feature-env' }), number);
  const namespaces = async (selector: string) =>
    (await admin.list('v1', 'Namespace', { labelSelector: selector })).items;

  it('labeled → up; synchronize → update (only the changed service rolls); unlabeled → down', async () => {
    const { number, sha } = pr();
    const up = await runFe(
      gh,
      { action: 'labeled', number, label: 'feature-env', labels: ['feature-env'], sha },
      base(),
      { workspace: ws },
    );
    expect(up.r.status, up.logger.text()).toBe('up');
    expect(up.r.namespace).toMatch(new RegExp(`^${prefix}[0-9a-f]{6}-pr-${number}$`));
    expect(up.r.url).toBe(`http://api-pr-${number}.preview.example.com`);
    const ns = (await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: up.r.namespace }))!;
    expect(ns.metadata.labels).toMatchObject({
      [MANAGED]: 'true',
      [STATE]: 'active',
      [PR_LABEL]: String(number),
    });
    const ing = (await admin.get({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      namespace: up.r.namespace,
      name: 'web',
    })) as unknown as {
      spec: { rules: { host: string }[] };
    };
    expect(ing.spec.rules[0]!.host).toBe(`web-pr-${number}.preview.example.com`);
    // One comment with the marker, the URLs and the links; a transient Deployment with the URL.
    const comments = gh.comments.filter((c) => c.issue === number);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain(`http://web-pr-${number}.preview.example.com`);
    expect(comments[0]!.body).toContain(`https://logs.example.com/?ns=${up.r.namespace}&sha=${sha}`);
    const d = gh.deployments.find((x) => String(x.id) === up.r.deploymentId)!;
    expect(d.environment).toBe(`feature-env/pr-${number}`);
    expect(d.transient_environment).toBe(true);
    expect(d.statuses.at(-1)!.state).toBe('success');
    expect(d.statuses.at(-1)!.environment_url).toBe(up.r.url);

    // New commits: the image under test changes for web only.
    const sha2 = `${number}`.padStart(40, 'b');
    const upd = await runFe(
      gh,
      { action: 'synchronize', number, labels: ['feature-env'], sha: sha2 },
      { ...base(), images: `${REG}/web:pr-${number}` },
      { workspace: ws },
    );
    expect(upd.r.status, upd.logger.text()).toBe('updated');
    expect(upd.r.namespace).toBe(up.r.namespace);
    expect(Date.parse(upd.r.expiresAt)).toBeGreaterThanOrEqual(Date.parse(up.r.expiresAt));
    expect(upd.r.summary).toMatch(/web.*success/s);
    expect(upd.logger.text()).not.toMatch(/Deployment\/[^ ]+\/api: deployment "api" successfully rolled out/);
    expect(gh.comments.filter((c) => c.issue === number)).toHaveLength(1);

    const down = await runFe(
      gh,
      { action: 'unlabeled', number, label: 'feature-env', labels: [], sha: sha2 },
      base(),
      { workspace: ws },
    );
    expect(down.r.status, down.logger.text()).toBe('down');
    expect(await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: up.r.namespace })).toBeUndefined();
    expect(
      gh.deployments
        .filter((x) => x.environment === `feature-env/pr-${number}`)
        .every((x) => x.statuses.at(-1)!.state === 'inactive'),
    ).toBe(true);
    const after = gh.comments.filter((c) => c.issue === number);
    expect(after).toHaveLength(1);
    expect(after[0]!.body).toMatch(/was removed.*label 'feature-env' was removed/s);
  });

  it('refusals create nothing: a fork (a deleted one too), a labeler without write, a closed pull request; another label is skipped', async () => {
    const fork = pr();
    gh.issues.get(fork.number)!.headRepo = 'stranger/shop';
    await expect(
      runFe(
        gh,
        {
          action: 'labeled',
          number: fork.number,
          label: 'feature-env',
          labels: ['feature-env'],
          sha: fork.sha,
          headRepo: 'stranger/shop',
        },
        base(),
        { workspace: ws },
      ),
    ).rejects.toThrow(/fork stranger\/shop.*allow-forks/);
    // A deleted fork: GitHub answers head.repo null; that is a fork too.
    const gone = pr();
    gh.issues.get(gone.number)!.headRepo = null;
    await expect(
      runFe(
        gh,
        {
          action: 'labeled',
          number: gone.number,
          label: 'feature-env',
          labels: ['feature-env'],
          sha: gone.sha,
        },
        base(),
        { workspace: ws },
      ),
    ).rejects.toThrow(/a fork that was deleted \(its head repository is null\).*allow-forks/);

    const { number, sha } = pr([]);
    gh.label(number, 'feature-env', 'visitor');
    await expect(
      runFe(
        gh,
        { action: 'labeled', number, label: 'feature-env', labels: ['feature-env'], sha, sender: 'visitor' },
        base(),
        { workspace: ws },
      ),
    ).rejects.toThrow(/visitor added the label 'feature-env'.*permission 'read'.*'write' is required/);

    const closed = pr();
    gh.issues.get(closed.number)!.state = 'closed';
    await expect(
      runFe(
        gh,
        {
          action: 'labeled',
          number: closed.number,
          label: 'feature-env',
          labels: ['feature-env'],
          sha: closed.sha,
        },
        base(),
        { workspace: ws },
      ),
    ).rejects.toThrow(/is closed: no environment/);

    const other = pr(['bug']);
    const skipped = await runFe(
      gh,
      { action: 'labeled', number: other.number, label: 'bug', labels: ['bug'], sha: other.sha },
      base(),
      { workspace: ws },
    );
    expect(skipped.r.status).toBe('skipped');
    for (const k of [fork.number, gone.number, number, closed.number, other.number])
      expect(await namespaces(`${PR_LABEL}=${k}`)).toEqual([]);
  });

  it('a warm pool: the first up takes a ready spare, rolls only what changed, and the pool is refilled', async () => {
    const { number, sha } = pr();
    const pool = { ...base(), 'warm-pool': '2' };
    // A reap fills the pool (the daily job; also after every claim).
    const filled = await runFe(gh, { name: 'workflow_dispatch' }, pool, { workspace: ws });
    expect(filled.r.status, filled.logger.text()).toBe('reaped');
    const spares = async () =>
      (await namespaces(`${MANAGED}=true,${STATE}=spare`)).filter((x) => x.metadata.name!.startsWith(prefix));
    expect(await spares()).toHaveLength(2);
    const up = await runFe(
      gh,
      { action: 'labeled', number, label: 'feature-env', labels: ['feature-env'], sha },
      { ...pool, images: `${REG}/web:pr-${number}` },
      { workspace: ws },
    );
    expect(up.r.status, up.logger.text()).toBe('up');
    expect(up.r.namespace).toMatch(new RegExp(`^${prefix}[0-9a-f]{6}-spare-`));
    expect(up.logger.text()).toMatch(/takes the spare .* from the warm pool/);
    // Only web changed: api is unchanged in the spare, web rolled.
    expect(up.r.summary).toMatch(
      /Deployment\/[^`]+\/api`[^|]*\|[^|]*\|[^|]*\| ➖ (unchanged|applied, no rollout)/,
    );
    expect(up.r.summary).toMatch(/Deployment\/[^`]+\/web`[^|]*\|[^|]*\|[^|]*\| ✅ success/);
    expect(await spares()).toHaveLength(2);
    await runFe(gh, { action: 'closed', number, labels: ['feature-env'], sha }, pool, { workspace: ws });
  });

  it('reap removes expired, closed and orphan environments and never touches unmanaged namespaces', async () => {
    const expired = pr();
    const closed = pr();
    const orphan = pr();
    const open = pr();
    const ttl = { ...base(), ttl: '1s' };
    for (const p of [expired, closed, orphan])
      expect(
        (
          await runFe(
            gh,
            {
              action: 'labeled',
              number: p.number,
              label: 'feature-env',
              labels: ['feature-env'],
              sha: p.sha,
            },
            ttl,
            { workspace: ws },
          )
        ).r.status,
      ).toBe('up');
    expect(
      (
        await runFe(
          gh,
          {
            action: 'labeled',
            number: open.number,
            label: 'feature-env',
            labels: ['feature-env'],
            sha: open.sha,
          },
          base(),
          { workspace: ws },
        )
      ).r.status,
    ).toBe('up');
    // An unmanaged namespace whose name looks like ours: never touched.
    await admin.apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `${prefix}pr-9999` } },
      { fieldManager: 'someone' },
    );
    gh.issues.get(closed.number)!.state = 'closed';
    gh.label(orphan.number, 'feature-env', 'maintainer', 'unlabeled');
    await new Promise((r) => setTimeout(r, 1500)); // expired's ttl passes (the others have the same ttl, but are judged first by PR state)
    const reaped = await runFe(gh, { name: 'schedule' }, base(), { workspace: ws });
    expect(reaped.r.status, reaped.logger.text()).toBe('reaped');
    const why = Object.fromEntries(reaped.r.removed!.filter((x) => x.number).map((x) => [x.number, x.why]));
    if (process.env.SHOW_LOG) console.log(reaped.logger.text());
    expect(why[expired.number]).toMatch(/expired/);
    expect(why[closed.number]).toMatch(/expired|closed/);
    expect(why[orphan.number]).toMatch(/expired|no longer labeled/);
    expect(Object.keys(why)).not.toContain(String(open.number));
    expect(await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: `${prefix}pr-9999` })).toBeDefined();
    expect(await namespaces(`${PR_LABEL}=${open.number}`)).toHaveLength(1);
    expect(reaped.r.summary).toContain('Removed');
  });

  it('database: postgres-template: its own database cloned from the template, its Secret in the namespace, dropped on down', async () => {
    if (!havePostgres()) throw new Error(`these tests need PostgreSQL: ${POSTGRES_INSTALL}`);
    const server = await startPostgres();
    const admin = await server.connect();
    try {
      await admin.query('CREATE DATABASE shop_integration');
      const tpl = await server.connect({ database: 'shop_integration' });
      await tpl.query("CREATE TABLE items (name text); INSERT INTO items VALUES ('sample')");
      await tpl.end();
      const { number, sha } = pr();
      const inputs = {
        ...base(),
        database: 'postgres-template',
        'db-url': server.url(),
        'db-template': 'shop_integration',
      };
      const up = await runFe(
        gh,
        { action: 'labeled', number, label: 'feature-env', labels: ['feature-env'], sha },
        inputs,
        { workspace: ws },
      );
      expect(up.r.status, up.logger.text()).toBe('up');
      const secret = (await admin2().get({
        apiVersion: 'v1',
        kind: 'Secret',
        namespace: up.r.namespace,
        name: 'database',
      })) as unknown as {
        data: Record<string, string>;
      };
      const v = (k: string) => Buffer.from(secret.data[k]!, 'base64').toString('utf8');
      expect(v('database')).toBe(dbName(number));
      // The environment's credentials work and see the template's data; the password is in no log.
      const env = await connectWithSecret(v);
      expect((await env.query('SELECT name FROM items')).rows).toEqual([{ name: 'sample' }]);
      await env.end();
      expect(up.logger.text()).not.toContain(v('password'));
      expect(gh.comments.find((c) => c.issue === number)!.body).not.toContain(v('password'));
      const down = await runFe(gh, { action: 'closed', number, labels: ['feature-env'], sha }, inputs, {
        workspace: ws,
      });
      expect(down.r.status, down.logger.text()).toBe('down');
      const left = await admin.query('SELECT datname FROM pg_database WHERE datname = $1', [dbName(number)]);
      expect(left.rows).toEqual([]);
    } finally {
      await admin.end();
      await server.stop();
    }
  });
});
