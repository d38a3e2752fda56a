import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { stringify } from 'yaml';
import { errorMessage } from '../../src/core/errors.js';
import { nullLogger } from '../../src/core/logger.js';
import { KubeClient, loadKubeconfig, type KubeObject } from '../../src/kube/index.js';
import { A_DATABASE, MANAGED, PR_LABEL, SET, STATE, setKey } from '../../src/featureenv/state.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { runFe } from './feature-env.js';
import type { PostgresServer } from './postgres.js';

/**
 * A seeded, randomised soak of feature environments on shared infrastructure (issue 12): 2
 * repositories × 2 workflows (sets) × 6 pull requests of the same numbers, random up / update /
 * down / reap steps, several in flight, on one cluster and one PostgreSQL server. After every step:
 * no two active environments share a namespace, a database or a host, and nothing outside the sets
 * (a namespace and databases of someone else's that look like ours) was touched. At the end, after
 * a down of everything and a reap of every set: exactly the warm pools are left, and no database of
 * any set. The seed is printed; SOAK_SEED repeats a run.
 */
export interface SoakOptions {
  kubeconfig: string;
  postgres: PostgresServer;
  steps: number;
  inFlight: number;
  seed: number;
  log: (line: string) => void;
}

export interface SoakReport {
  seed: number;
  steps: number;
  /** What each kind of step did: status counts, and the failures (message heads). */
  outcomes: Record<string, number>;
  failures: string[];
  /** Invariant breaches, each with the step after which it was seen: empty when the soak holds. */
  breaches: string[];
  /** After the final down and reap: spares per set, and databases left per set. */
  end: { spares: Record<string, number>; databases: string[]; foreignIntact: boolean };
  /** When a set's pool is not exactly its size at the end: its namespaces and index, and the log lines that name them. */
  detail: string[];
}

/** mulberry32: a small seeded generator, so a run can be repeated from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SetDef {
  gh: GitHubFake;
  label: string;
  prefix: string;
  domain: string;
  warmPool: number;
  key: string;
}

const PRS = [1, 2, 3, 4, 5, 6];
const FOREIGN_NS = 'fe-pr-5';

export async function soak(o: SoakOptions): Promise<SoakReport> {
  const random = rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const admin = new KubeClient(await loadKubeconfig({ content: o.kubeconfig }, nullLogger), {
    logger: nullLogger,
  });
  const repos = await Promise.all([
    startGitHubFake({ owner: 'soak-a', repo: 'shop' }),
    startGitHubFake({ owner: 'soak-b', repo: 'shop' }),
  ]);
  const ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-soak-'));
  const root = await o.postgres.connect();
  const report: SoakReport = {
    seed: o.seed,
    steps: 0,
    outcomes: {},
    failures: [],
    breaches: [],
    end: { spares: {}, databases: [], foreignIntact: false },
    detail: [],
  };
  const logs: string[] = [];
  /** Namespaces that clashed: at the end, the logs of every step that named them, to read. */
  const clashes = new Set<string>();
  try {
    await mkdir(path.join(ws, 'k8s'));
    const api = deploymentManifest('api', 'registry.example:5000/shop/api:main', { replicas: 1 });
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      [
        api,
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'api' },
          spec: { selector: { app: 'api' }, ports: [{ port: 80 }] },
        },
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: { name: 'api' },
          spec: {
            rules: [
              {
                host: 'api.example.com',
                http: {
                  paths: [
                    {
                      path: '/',
                      pathType: 'Prefix',
                      backend: { service: { name: 'api', port: { number: 80 } } },
                    },
                  ],
                },
              },
            ],
          },
        },
      ]
        .map((x) => stringify(x))
        .join('---\n'),
    );
    await root.query('CREATE DATABASE soak_template');
    // Someone else's, looking like ours: a namespace of the old naming and databases of our shapes.
    await admin.apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: FOREIGN_NS, labels: { team: 'payments' } } },
      { fieldManager: 'someone' },
    );
    await root.query('CREATE DATABASE fe_pr_5');
    const sets: SetDef[] = [];
    for (const gh of repos) {
      gh.collaborators.set('maintainer', 'write');
      for (const [label, prefix] of [
        ['feature-env', 'fe-'],
        ['preview', 'pv-'],
      ] as const) {
        const key = setKey({ repository: `${gh.owner}/${gh.repo}`, prefix, label });
        sets.push({ gh, label, prefix, domain: `${gh.owner}-${label}.example.com`, warmPool: 1, key });
      }
      for (const n of PRS) gh.addPullRequest({ number: n, headSha: 'a'.repeat(40), labels: [] });
    }
    const foreignDb = `fe_${'0'.repeat(8)}_pr_5`; // our name shape, no mark
    await root.query(`CREATE DATABASE ${foreignDb}`);

    const inputs = (s: SetDef) => ({
      kubeconfig: o.kubeconfig,
      manifests: 'k8s/',
      'pin-digests': 'false',
      'namespace-prefix': s.prefix,
      label: s.label,
      domain: s.domain,
      'warm-pool': String(s.warmPool),
      database: 'postgres-template',
      'db-url': o.postgres.url(),
      'db-template': 'soak_template',
      timeout: '60s',
    });
    let shas = 0;
    const step = async (kind: 'up' | 'update' | 'down' | 'reap', s: SetDef, n: number) => {
      const sha = String(++shas).padStart(40, 'c');
      const labels = () => [...s.gh.issues.get(n)!.labels];
      if (kind === 'reap') return runFe(s.gh, { name: 'schedule' }, inputs(s), { workspace: ws });
      if (kind === 'up') {
        if (!labels().includes(s.label)) s.gh.label(n, s.label, 'maintainer');
        return runFe(
          s.gh,
          { action: 'labeled', number: n, label: s.label, labels: labels(), sha },
          inputs(s),
          { workspace: ws },
        );
      }
      if (kind === 'update')
        return runFe(s.gh, { action: 'synchronize', number: n, labels: labels(), sha }, inputs(s), {
          workspace: ws,
        });
      if (labels().includes(s.label)) s.gh.label(n, s.label, 'maintainer', 'unlabeled');
      return runFe(
        s.gh,
        { action: 'unlabeled', number: n, label: s.label, labels: labels(), sha },
        inputs(s),
        {
          workspace: ws,
        },
      );
    };

    const check = async (after: string) => {
      const nss = (await admin.list('v1', 'Namespace', { labelSelector: `${MANAGED}=true` })).items.filter(
        (ns) => !(ns.metadata as { deletionTimestamp?: string }).deletionTimestamp,
      );
      // The soak's own sets (other tests may share the cluster, with hosts of their own design).
      const keys = new Set(sets.map((x) => x.key));
      const active = nss.filter(
        (ns) => ns.metadata.labels?.[STATE] === 'active' && keys.has(ns.metadata.labels?.[SET] ?? ''),
      );
      const seen = new Map<string, string>();
      const clash = (what: string, value: string, ns: string) => {
        const other = seen.get(`${what}:${value}`);
        if (other && other !== ns) {
          report.breaches.push(`after ${after}: ${what} ${value} in ${other} and ${ns}`);
          clashes.add(`${other} ${ns}`);
        }
        seen.set(`${what}:${value}`, ns);
      };
      for (const ns of active) {
        const name = String(ns.metadata.name);
        const set = ns.metadata.labels?.[SET] ?? '?';
        clash('environment', `${set}#${ns.metadata.labels?.[PR_LABEL]}`, name);
        const db = ns.metadata.annotations?.[A_DATABASE];
        if (db) clash('database', db, name);
      }
      const activeNames = new Set(active.map((ns) => String(ns.metadata.name)));
      for (const ing of (await admin.list('networking.k8s.io/v1', 'Ingress')).items) {
        const ns = String(ing.metadata.namespace);
        if (!activeNames.has(ns)) continue;
        for (const r of (ing as unknown as { spec: { rules?: Array<{ host?: string }> } }).spec.rules ?? [])
          if (r.host) clash('host', r.host, ns);
      }
      const foreign = await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: FOREIGN_NS });
      if (!foreign || foreign.metadata.labels?.team !== 'payments' || foreign.metadata.labels?.[MANAGED])
        report.breaches.push(`after ${after}: the foreign namespace ${FOREIGN_NS} was touched`);
      const dbs = new Set(
        (await root.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((r) => r.datname),
      );
      for (const d of ['fe_pr_5', foreignDb])
        if (!dbs.has(d)) report.breaches.push(`after ${after}: the foreign database ${d} was dropped`);
    };

    const kinds = ['up', 'up', 'update', 'down', 'reap'] as const;
    let next = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= o.steps) return;
        const kind = pick(kinds);
        const s = pick(sets);
        const n = pick(PRS);
        const what = `step ${i + 1} (${kind} ${s.gh.owner}/${s.label}${kind === 'reap' ? '' : ` #${n}`})`;
        try {
          const { r, logger } = await step(kind, s, n);
          logs.push(`${what}:\n${logger.text()}`);
          report.outcomes[`${kind}:${r.status}${r.failure ? ':failed' : ''}`] =
            (report.outcomes[`${kind}:${r.status}${r.failure ? ':failed' : ''}`] ?? 0) + 1;
        } catch (e) {
          report.outcomes[`${kind}:error`] = (report.outcomes[`${kind}:error`] ?? 0) + 1;
          report.failures.push(`${what}: ${errorMessage(e).split('\n')[0]!.slice(0, 200)}`);
        }
        report.steps++;
        await check(what);
        if ((i + 1) % 25 === 0) o.log(`soak: ${i + 1} of ${o.steps} steps`);
      }
    };
    await Promise.all(Array.from({ length: o.inFlight }, worker));
    for (const pair of clashes) {
      const names = pair.split(' ');
      report.detail.push(
        ...logs
          .filter((l) => names.some((n) => l.includes(n)))
          .map((l) => `---- ${names.join(' and ')}: ${l}`),
      );
    }

    // The end: every pull request down, in every set; then a reap of every set.
    for (const s of sets) for (const n of PRS) await step('down', s, n).catch(() => undefined);
    for (const s of sets) await step('reap', s, 0);
    await check('the final down and reap');
    for (const s of sets) {
      const spares = (
        await admin.list('v1', 'Namespace', { labelSelector: `${SET}=${s.key},${STATE}=spare` })
      ).items.filter((ns) => !(ns.metadata as { deletionTimestamp?: string }).deletionTimestamp);
      report.end.spares[`${s.gh.owner}/${s.label}`] = spares.length;
      if (spares.length !== s.warmPool) {
        const all = (await admin.list('v1', 'Namespace', { labelSelector: `${SET}=${s.key}` })).items;
        report.detail.push(
          `${s.gh.owner}/${s.label}: ${JSON.stringify(
            all.map((x) => ({
              name: x.metadata.name,
              labels: x.metadata.labels,
              annotations: x.metadata.annotations,
              created: (x.metadata as { creationTimestamp?: string }).creationTimestamp,
            })),
            null,
            1,
          )}`,
        );
        for (const sp of spares)
          report.detail.push(
            ...logs
              .filter((l) => l.includes(String(sp.metadata.name)))
              .map((l) => `---- names ${sp.metadata.name}: ${l}`),
          );
      }
    }
    report.end.databases = (
      await root.query<{ datname: string }>(
        "SELECT datname FROM pg_database WHERE datname LIKE 'fe\\_%' ESCAPE '\\' AND datname NOT IN ('fe_pr_5', $1)",
        [foreignDb],
      )
    ).rows.map((r) => r.datname);
    const foreign = (await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: FOREIGN_NS })) as
      KubeObject | undefined;
    report.end.foreignIntact = foreign?.metadata.labels?.team === 'payments';
    return report;
  } finally {
    await root.end().catch(() => undefined);
    await Promise.all(repos.map((r) => r.stop()));
    await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: FOREIGN_NS }).catch(() => false);
    await rm(ws, { recursive: true, force: true });
  }
}

export function soakSeed(): number {
  const fromEnv = Number(process.env.SOAK_SEED);
  return Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.floor(Math.random() * 2 ** 31) + 1;
}

export type { pg };
