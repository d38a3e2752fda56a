import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { A_DB_INIT_RUN } from '../../src/featureenv/environment.js';
import { A_DB_INIT } from '../../src/featureenv/state.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { commentEvent, runFe, type PrEvent } from '../helpers/feature-env.js';
import { havePostgres, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { onBothTargets } from '../helpers/targets.js';

/**
 * Issue 16 item 7 (db-init) on the Kubernetes fake and on the genuine control plane (kwok runs the
 * Job's pods to success; an image named fail-job fails them), with a real PostgreSQL: db-init runs
 * as a pre-deploy Job with the database Secret's keys, FIRST_RUN=true once after the database is
 * made, FIRST_RUN=false on every update, true again after /feature-env reset-db; a failing one
 * fails the up, and no service is applied.
 */
onBothTargets('feature environments: db-init', (target, kind) => {
  let gh: GitHubFake;
  let ws: string;
  let server: PostgresServer | undefined;
  let n = kind === 'fake' ? 1900 : 1950;
  beforeAll(async () => {
    gh = await startGitHubFake({ owner: 'acme', repo: `shop-dbinit-${kind}` });
    gh.collaborators.set('maintainer', 'write');
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-fe-dbinit-'));
    await mkdir(path.join(ws, 'k8s'));
    await mkdir(path.join(ws, 'jobs'));
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      stringify(deploymentManifest('api', 'registry.example:5000/shop/api:main')),
    );
    await writeFile(
      path.join(ws, 'jobs/broken.yaml'),
      stringify({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'seed' },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'seed', image: 'registry.example:5000/fail-job:1' }],
            },
          },
        },
      }),
    );
    if (havePostgres()) {
      server = await startPostgres();
      const admin = await server.connect();
      await admin.query('CREATE DATABASE shop_init');
      await admin.end();
    }
  });
  afterAll(async () => {
    await gh?.stop();
    await server?.stop();
    if (ws) await rm(ws, { recursive: true, force: true });
  });

  const inputs = (prefix: string, dbInit: string) => ({
    kubeconfig: target().kubeconfig,
    manifests: 'k8s/',
    'pin-digests': 'false',
    'namespace-prefix': prefix,
    timeout: '60s',
    database: 'postgres-template',
    'db-url': server!.url(),
    'db-template': 'shop_init',
    'db-init': dbInit,
  });
  function pr() {
    const number = ++n;
    const sha = `${number}`.padStart(40, 'e');
    gh.addPullRequest({ number, headSha: sha });
    gh.label(number, 'feature-env', 'maintainer');
    const ev: PrEvent = { action: 'labeled', number, label: 'feature-env', labels: ['feature-env'], sha };
    return { number, sha, ev, prefix: `di${number}-` };
  }
  const job = (ns: string, name: string) => target().get('batch/v1', 'Job', ns, name);
  const firstRunOf = (j: Awaited<ReturnType<typeof job>>) => {
    const c = (
      j!.spec as {
        template: {
          spec: { containers: Array<{ env?: Array<{ name: string; value?: string }>; envFrom?: unknown[] }> };
        };
      }
    ).template.spec.containers[0]!;
    return { firstRun: c.env?.find((e) => e.name === 'FIRST_RUN')?.value, envFrom: c.envFrom };
  };

  it.skipIf(!havePostgres())(
    'FIRST_RUN=true once after the database is made, false on each update, true again after reset-db; the Job has the Secret',
    async () => {
      const p = pr();
      const raw = inputs(p.prefix, 'registry.example:5000/shop/api:main python manage.py migrate');
      const up = await runFe(gh, p.ev, raw, { workspace: ws });
      expect(up.r.status, up.logger.text()).toBe('up');
      const ns = up.r.namespace;
      const first = await job(ns, 'db-init');
      expect(first, up.logger.text()).toBeDefined();
      expect(firstRunOf(first)).toEqual({ firstRun: 'true', envFrom: [{ secretRef: { name: 'database' } }] });
      expect(
        (first!.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata
          .annotations[A_DB_INIT_RUN],
      ).toBe(`${p.sha.slice(0, 12)}-first`);
      expect((first!.status as { succeeded?: number }).succeeded).toBe(1);
      expect(up.logger.text()).toMatch(/Pre-deploy: 1 Job\(s\), before anything else/);
      const nsObj = await target().get('v1', 'Namespace', '', ns);
      const ann = nsObj!.metadata.annotations ?? {};
      expect(ann[A_DB_INIT]).toBeDefined();
      expect(ann[A_DB_INIT]).toBe(ann['commit-to-cloud.dev/fe-database']);

      // A push: migrations, FIRST_RUN=false.
      const sha2 = `${p.number}`.padStart(40, 'f');
      gh.issues.get(p.number)!.headSha = sha2;
      const upd = await runFe(gh, { ...p.ev, action: 'synchronize', sha: sha2 }, raw, { workspace: ws });
      expect(upd.r.status, upd.logger.text()).toBe('updated');
      expect(firstRunOf(await job(ns, 'db-init')).firstRun).toBe('false');

      // reset-db: the next push seeds the fresh copy (FIRST_RUN=true).
      const reset = await runFe(gh, commentEvent(gh, p.number, '/feature-env reset-db', 'maintainer'), raw, {
        workspace: ws,
      });
      expect(reset.r.status, reset.logger.text()).toBe('updated');
      const sha3 = `${p.number}`.padStart(40, '9');
      gh.issues.get(p.number)!.headSha = sha3;
      const after = await runFe(gh, { ...p.ev, action: 'synchronize', sha: sha3 }, raw, { workspace: ws });
      expect(after.r.status, after.logger.text()).toBe('updated');
      expect(firstRunOf(await job(ns, 'db-init')).firstRun).toBe('true');
      await runFe(gh, { ...p.ev, action: 'unlabeled' }, raw, { workspace: ws });
    },
    120_000,
  );

  it.skipIf(!havePostgres())(
    'a db-init Job that fails: the up fails naming it, and no service is applied',
    async () => {
      const p = pr();
      const raw = inputs(p.prefix, 'jobs/broken.yaml');
      let failure: string;
      try {
        const { r } = await runFe(gh, p.ev, raw, { workspace: ws });
        failure = r.failure ?? '';
      } catch (e) {
        failure = String(e);
      }
      expect(failure).toMatch(/seed/);
      expect(failure).toMatch(/Job|pre-deploy/i);
      const envs = await target().harness.client.list('v1', 'Namespace', {
        labelSelector: `commit-to-cloud.dev/fe-pr=${p.number}`,
      });
      for (const ns of envs.items)
        expect(await target().get('apps/v1', 'Deployment', String(ns.metadata.name), 'api')).toBeUndefined();
      await runFe(gh, { ...p.ev, action: 'unlabeled' }, raw, { workspace: ws });
    },
    120_000,
  );
});
