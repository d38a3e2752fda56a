import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { errorMessage } from '../../src/core/errors.js';
import { closeHttpAgents } from '../../src/core/http.js';
import { memoryLogger, nullLogger } from '../../src/core/logger.js';
import { ACCESS_BINDING, NAMESPACE_ROLE } from '../../src/featureenv/access.js';
import type { FeatureEnvResult } from '../../src/featureenv/context.js';
import { A_CREATED, MANAGED, baseLabels, setShort } from '../../src/featureenv/state.js';
import type { DatabaseProvider } from '../../src/featureenv/types.js';
import { KubeClient, loadKubeconfig, type KubeObject } from '../../src/kube/index.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import type { Cluster } from '../helpers/cluster.js';
import { runFe } from '../helpers/feature-env.js';
import {
  docsOf,
  kubeconfigFor,
  naming,
  rulesInForce,
  variants,
  type Doc,
  type Rule,
} from '../helpers/rbac.js';
import {
  CLUSTER_SETUP_TIMEOUT_MS,
  haveCluster,
  sharedCluster,
  testNamespace,
} from '../helpers/shared-cluster.js';

/**
 * Issue 12, item 6: least privilege for action-feature-env, proven on the genuine control plane.
 * The shipped rbac/feature-env-clusterrole.yaml and rbac/feature-env-admission-policy.yaml are
 * installed (the ServiceAccount in a namespace of this test, the policy matching that account only),
 * and the feature-env ENGINE runs under the account's token: a reap that fills the warm pool, an up
 * that takes the spare, an update, an update refused half-way (undone), a down, a reap. Each reach
 * outside the namespaces it manages is refused. Then every verb the identity holds beyond the deploy
 * Role (whose verbs test/cluster/rbac.test.ts proves one by one) is removed in turn: the engine fails,
 * or warns, naming it.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLUSTER_ROLE_FILE = path.join(ROOT, 'rbac/feature-env-clusterrole.yaml');
const POLICY_FILE = path.join(ROOT, 'rbac/feature-env-admission-policy.yaml');
const SHIPPED_USER = 'system:serviceaccount:commit-to-cloud:feature-env';

const roleDocs = docsOf(CLUSTER_ROLE_FILE);
const policyDocs = docsOf(POLICY_FILE);
const clusterRoleOf = (name: string) =>
  roleDocs.find((d) => d.kind === 'ClusterRole' && d.metadata.name === name)!;
const CLUSTER_WIDE = clusterRoleOf('commit-to-cloud-feature-env');
const IN_NAMESPACE = clusterRoleOf(NAMESPACE_ROLE);
const deployRole = docsOf(path.join(ROOT, 'rbac/deploy-role.yaml')).find((d) => d.kind === 'Role')!;
/** The namespace role's rules beyond the deploy Role's (those rbac.test.ts proves verb by verb). */
const EXTRA_RULES = IN_NAMESPACE.rules!.filter(
  (r) => !deployRole.rules!.some((d) => isDeepStrictEqual(d, r)),
);

type Step = 'fill' | 'up' | 'update' | 'undo' | 'down' | 'reap';
const STEPS: Step[] = ['fill', 'up', 'update', 'undo', 'down', 'reap'];

/**
 * Where a missing verb shows: `error`, the step throws and says so; `warning`, the step ends as it
 * would (a reap), and a warning says what could not be done (a spare of the warm pool not made).
 */
const EXPECTED: Record<string, { step: Step; how: 'error' | 'warning' }> = {
  // cluster-wide
  'namespaces:get': { step: 'fill', how: 'error' },
  'namespaces:list': { step: 'fill', how: 'error' },
  'namespaces:create': { step: 'fill', how: 'warning' },
  'namespaces:patch': { step: 'fill', how: 'warning' },
  'namespaces:delete': { step: 'down', how: 'error' },
  'rolebindings:create': { step: 'fill', how: 'warning' },
  'rolebindings:patch': { step: 'fill', how: 'warning' },
  'clusterroles:bind': { step: 'fill', how: 'warning' },
  // in each namespace, beyond the deploy Role
  'secrets:get': { step: 'up', how: 'error' },
  'secrets:create': { step: 'up', how: 'error' },
  'secrets:patch': { step: 'up', how: 'error' },
  'ingresses:get': { step: 'update', how: 'error' },
  // A spare has no Ingress (it gets its hosts at claim time): the Ingresses are first written by up.
  'ingresses:list': { step: 'up', how: 'error' },
  'ingresses:create': { step: 'up', how: 'error' },
  'ingresses:patch': { step: 'up', how: 'error' },
  // The undo's delete is asked for before the first write (src/deploy/permissions.ts).
  'ingresses:delete': { step: 'up', how: 'error' },
  // the fences (src/featureenv/fences.ts): applied to the spare first; removed when the update says none
  'networkpolicies:create': { step: 'fill', how: 'warning' },
  'networkpolicies:patch': { step: 'fill', how: 'warning' },
  'networkpolicies:get': { step: 'update', how: 'error' },
  'networkpolicies:delete': { step: 'update', how: 'error' },
  'resourcequotas:create': { step: 'fill', how: 'warning' },
  'resourcequotas:patch': { step: 'fill', how: 'warning' },
  'resourcequotas:get': { step: 'update', how: 'error' },
  'resourcequotas:delete': { step: 'update', how: 'error' },
};

const REG = 'registry.example:5000/shop';
const ingress = (name: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name },
  spec: {
    rules: [
      {
        host: `${name}.example.com`,
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

/** A database provider that hands out a Secret's worth of values (a new password on each claim). */
function stubDatabase(): DatabaseProvider {
  return {
    description: 'a stub database',
    claim: async (env) => ({
      host: 'db.example',
      port: 5432,
      database: `fe_pr_${env.number}`,
      user: `fe_pr_${env.number}`,
      password: randomBytes(12).toString('hex'),
      id: `fe_pr_${env.number}`,
    }),
    release: async () => true,
    refill: async () => ({ created: [] }),
    held: async () => new Map(),
    close: async () => undefined,
  };
}

interface Outcome {
  step: Step;
  error?: string;
  r?: FeatureEnvResult;
  warnings: string[];
  log: string;
}

describe.skipIf(!haveCluster())(
  'least privilege: feature-env under its shipped RBAC and admission policy',
  () => {
    let cluster: Cluster;
    let gh: GitHubFake;
    /**
     * A repository of its own for each scenario: a repository's environments share a pool and reap
     * judges them all, so neither other test files (acme/shop) nor earlier scenarios are seen.
     */
    const fakes: GitHubFake[] = [];
    const repository = async (name: string) => {
      const f = await startGitHubFake({ owner: 'acme', repo: `shop-${tag}-${name}` });
      f.collaborators.set('maintainer', 'write');
      fakes.push(f);
      return f;
    };
    let ws: string;
    let admin: KubeClient;
    let home: Awaited<ReturnType<typeof testNamespace>>;
    let token: string;
    let kubeconfig: string;
    /** The namespaces of this file start with it (environments, spares, control namespaces). */
    const tag = `frb${randomBytes(3).toString('hex')}`;
    const probe = `${tag}-probe`;
    let n = 700;
    let variantNo = 0;

    const kubectlApply = async (docs: unknown[]) => {
      const r = await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
        input: docs.map((d) => stringify(d)).join('---\n'),
      });
      if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
    };
    const username = () => `system:serviceaccount:${home.name}:feature-env`;

    /** The shipped ClusterRoles with these rules; waits until the authorizer applies them. */
    const setRules = async (clusterWide: Rule[], inNamespace: Rule[], absent: string[] = []) => {
      await kubectlApply([
        { ...structuredClone(CLUSTER_WIDE), rules: clusterWide },
        { ...structuredClone(IN_NAMESPACE), rules: inNamespace },
      ]);
      await rulesInForce(cluster, token, probe, [...clusterWide, ...inNamespace], absent);
    };

    beforeAll(async () => {
      cluster = await sharedCluster();
      admin = new KubeClient(await loadKubeconfig({ content: cluster.kubeconfig }, nullLogger), {
        logger: nullLogger,
      });
      home = await testNamespace(cluster, 'ferbac');
      // The shipped objects; the ServiceAccount lives in this test's namespace instead of commit-to-cloud.
      const docs = roleDocs
        .filter((d) => d.kind !== 'Namespace')
        .map((d) => {
          const doc = structuredClone(d);
          if (doc.kind === 'ServiceAccount') doc.metadata.namespace = home.name;
          for (const s of doc.subjects ?? []) if (s.namespace) s.namespace = home.name;
          return doc;
        });
      await kubectlApply(docs);
      // A namespace where the namespace role is bound by hand: where its rules are seen in force.
      await kubectlApply([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: probe } },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'probe', namespace: probe },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAMESPACE_ROLE },
          subjects: [{ kind: 'ServiceAccount', name: 'feature-env', namespace: home.name }],
        },
      ]);
      // The shipped policy, matching this test's ServiceAccount only (other test files are not fenced).
      const policies = policyDocs.map((d) => {
        const doc = structuredClone(d);
        for (const c of doc.spec?.matchConditions ?? [])
          c.expression = String(c.expression).replace(SHIPPED_USER, username());
        return doc;
      });
      expect(JSON.stringify(policies)).toContain(username());
      await kubectlApply(policies);
      ({ token, kubeconfig } = await kubeconfigFor(cluster, home.name, 'feature-env'));
      await rulesInForce(cluster, token, probe, [...CLUSTER_WIDE.rules!, ...IN_NAMESPACE.rules!]);
      // The policy is in force once it refuses a namespace without the label (a dry run: nothing stays).
      const end = Date.now() + 60_000;
      for (;;) {
        const r = await cluster.request(
          'POST',
          '/api/v1/namespaces?dryRun=All',
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `${tag}-unlabelled` } },
          token,
        );
        if (r.status === 403 && r.text.includes('feature-env identity')) break;
        if (Date.now() > end) throw new Error(`the admission policy is not in force after 60 s: ${r.text}`);
        await new Promise((res) => setTimeout(res, 200));
      }

      gh = await repository('x');
      ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-ferbac-'));
      const write = async (dir: string, objects: unknown[]) => {
        await mkdir(path.join(ws, dir));
        await writeFile(path.join(ws, dir, 'app.yaml'), objects.map((o) => stringify(o)).join('---\n'));
      };
      // The set: two services with an Ingress each. An update of web alone: its lone Ingress is read
      // with a get (several are listed). Two new Ingresses, for the update refused half-way.
      await write('k8s', [
        deploymentManifest('api', `${REG}/api:main`),
        service('api'),
        ingress('api'),
        deploymentManifest('web', `${REG}/web:main`),
        service('web'),
        ingress('web'),
      ]);
      await write('k8s-one', [deploymentManifest('web', `${REG}/web:main`), service('web'), ingress('web')]);
      await write('k8s-extra', [ingress('extra-a'), ingress('extra-b')]);
    }, CLUSTER_SETUP_TIMEOUT_MS);

    afterAll(async () => {
      const rbac = '/apis/rbac.authorization.k8s.io/v1';
      const adm = '/apis/admissionregistration.k8s.io/v1';
      if (cluster) {
        await cluster.request(
          'DELETE',
          `${adm}/validatingadmissionpolicybindings/commit-to-cloud-feature-env`,
        );
        await cluster.request('DELETE', `${adm}/validatingadmissionpolicies/commit-to-cloud-feature-env`);
        await cluster.request('DELETE', `${rbac}/clusterrolebindings/commit-to-cloud-feature-env`);
        await cluster.request('DELETE', `${rbac}/clusterroles/commit-to-cloud-feature-env`);
        await cluster.request('DELETE', `${rbac}/clusterroles/${NAMESPACE_ROLE}`);
        const all = (await admin.list('v1', 'Namespace')).items.map((x) => String(x.metadata.name));
        await Promise.all(
          all
            .filter((x) => x.startsWith(`${tag}-`))
            .map((x) => cluster.request('DELETE', `/api/v1/namespaces/${x}`)),
        );
        await home?.delete();
      }
      await Promise.all(fakes.map((f) => f.stop()));
      if (ws) await rm(ws, { recursive: true, force: true });
      closeHttpAgents();
    });

    const get = (ref: { apiVersion: string; kind: string; namespace?: string; name: string }) =>
      admin.get(ref);
    /** The namespaces of a prefix; with `part`, those named `<prefix><6 hex>-<part>…` (spare, ctl, pr). */
    const namespacesOf = async (prefix: string, part?: string) =>
      (await admin.list('v1', 'Namespace')).items.filter((x) =>
        part
          ? new RegExp(`^${prefix}[0-9a-f]{6}-${part}`).test(String(x.metadata.name))
          : String(x.metadata.name).startsWith(prefix),
      );

    /** One pull request and one namespace prefix of its own: the scenario of one variant. */
    async function scenario() {
      const number = ++n;
      const prefix = `${tag}-${++variantNo}-`;
      const gh = await repository(String(variantNo));
      const sha = `${number}`.padStart(40, 'a');
      gh.addPullRequest({ number, headSha: sha, labels: [] });
      gh.label(number, 'feature-env', 'maintainer');
      const db = stubDatabase();
      const inputs = (more: Record<string, string> = {}) => ({
        kubeconfig,
        manifests: 'k8s/',
        'pin-digests': 'false',
        'namespace-prefix': prefix,
        domain: 'preview.example.com',
        timeout: '60s',
        'warm-pool': '1',
        ...more,
      });
      const fe = async (
        step: Step,
        event: Parameters<typeof runFe>[1],
        raw: Record<string, string>,
      ): Promise<Outcome> => {
        const logger = memoryLogger();
        const out: Outcome = { step, warnings: [], log: '' };
        try {
          out.r = (await runFe(gh, event, raw, { workspace: ws, logger, database: db })).r;
        } catch (e) {
          out.error = errorMessage(e);
        }
        out.log = logger.text();
        out.warnings = logger.lines.filter((l) => l.level === 'warning').map((l) => l.message);
        return out;
      };
      let envNs = '';
      const pr = (action: 'labeled' | 'synchronize' | 'unlabeled', labels: string[], s = sha) => ({
        action,
        number,
        ...(action === 'synchronize' ? {} : { label: 'feature-env' }),
        labels,
        sha: s,
      });
      const run = async (step: Step): Promise<Outcome> => {
        switch (step) {
          case 'fill':
            return fe(step, { name: 'workflow_dispatch' }, inputs());
          case 'up': {
            const o = await fe(step, pr('labeled', ['feature-env']), inputs());
            envNs = o.r?.namespace ?? '';
            return o;
          }
          case 'update':
            return fe(
              step,
              pr('synchronize', ['feature-env'], `${number}`.padStart(40, 'b')),
              // The fences switched off: the update removes this suite's NetworkPolicy, quota and LimitRange.
              inputs({
                manifests: 'k8s-one/',
                images: `${REG}/web:pr-${number}`,
                'network-policy': 'none',
                'resource-quota': 'none',
              }),
            );
          case 'undo': {
            // Room for one more Ingress: the second new one is refused, the first is deleted again.
            await admin.apply(
              {
                apiVersion: 'v1',
                kind: 'ResourceQuota',
                metadata: { name: 'three-ingresses', namespace: envNs },
                spec: { hard: { 'count/ingresses.networking.k8s.io': '3' } },
              } as unknown as KubeObject,
              { fieldManager: 'test' },
            );
            await expect
              .poll(
                async () =>
                  (
                    (await get({
                      apiVersion: 'v1',
                      kind: 'ResourceQuota',
                      namespace: envNs,
                      name: 'three-ingresses',
                    })) as unknown as { status?: { used?: Record<string, string> } }
                  )?.status?.used?.['count/ingresses.networking.k8s.io'],
                { timeout: 30_000 },
              )
              .toBe('2');
            const o = await fe(
              step,
              pr('synchronize', ['feature-env'], `${number}`.padStart(40, 'c')),
              inputs({ manifests: 'k8s-extra/' }),
            );
            await admin.delete({
              apiVersion: 'v1',
              kind: 'ResourceQuota',
              namespace: envNs,
              name: 'three-ingresses',
            });
            return o;
          }
          case 'down':
            return fe(step, pr('unlabeled', []), inputs());
          case 'reap': {
            // A spare left `warming` by a run that died two hours ago: reap deletes it.
            await admin.apply(
              {
                apiVersion: 'v1',
                kind: 'Namespace',
                metadata: {
                  name: `${prefix}spare-dead01`,
                  labels: baseLabels(
                    { repository: `${gh.owner}/${gh.repo}`, prefix, label: 'feature-env' },
                    'warming',
                  ),
                  annotations: { [A_CREATED]: new Date(Date.now() - 2 * 3600_000).toISOString() },
                },
              },
              { fieldManager: 'test' },
            );
            return fe(step, { name: 'schedule' }, inputs());
          }
        }
      };

      /** What each step does under the whole shipped RBAC. */
      const asWhole = async (o: Outcome) => {
        const context = `${o.error ?? ''}\n${o.log}`;
        expect(context).not.toMatch(/forbidden to|cannot \w+ resource|feature-env identity may/);
        const spares = async () =>
          (await namespacesOf(prefix, 'spare')).filter(
            (x) =>
              x.metadata.labels?.['commit-to-cloud.dev/fe-state'] === 'spare' &&
              !x.metadata.deletionTimestamp,
          );
        const binding = (ns: string) =>
          get({
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'RoleBinding',
            namespace: ns,
            name: ACCESS_BINDING,
          });
        if (o.step === 'undo') {
          expect(o.error, context).toMatch(/exceeded quota: three-ingresses/);
          expect(o.error, context).toContain('Nothing this run applied is left.');
          expect(
            await get({
              apiVersion: 'networking.k8s.io/v1',
              kind: 'Ingress',
              namespace: envNs,
              name: 'extra-a',
            }),
          ).toBeUndefined();
          return;
        }
        expect(o.error, context).toBeUndefined();
        expect(o.warnings, context).toEqual([]);
        if (o.step === 'fill') {
          expect(o.r!.status).toBe('reaped');
          const [spare] = await spares();
          expect(spare, context).toBeDefined();
          // The RoleBinding the engine made, to the namespace role, for this identity only.
          const rb = (await binding(String(spare!.metadata.name))) as unknown as {
            roleRef: { name: string };
            subjects: unknown[];
          };
          expect(rb.roleRef.name).toBe(NAMESPACE_ROLE);
          expect(rb.subjects).toEqual([
            { kind: 'ServiceAccount', name: 'feature-env', namespace: home.name },
          ]);
        } else if (o.step === 'up') {
          expect(o.r!.status).toBe('up');
          expect(o.log).toMatch(/takes the spare .* from the warm pool/);
          expect(envNs).toMatch(new RegExp(`^${prefix}[0-9a-f]{6}-spare-`));
          expect(
            await get({ apiVersion: 'v1', kind: 'Secret', namespace: envNs, name: 'database' }),
          ).toBeDefined();
          const ing = (await get({
            apiVersion: 'networking.k8s.io/v1',
            kind: 'Ingress',
            namespace: envNs,
            name: 'web',
          })) as unknown as { spec: { rules: { host: string }[] } };
          expect(ing.spec.rules[0]!.host).toBe(`web-pr-${number}.preview.example.com`);
          // The control namespace got its RoleBinding too; the pool was refilled.
          const [ctl] = await namespacesOf(prefix, 'ctl');
          expect(await binding(String(ctl!.metadata.name))).toBeDefined();
          expect(await spares()).toHaveLength(1);
        } else if (o.step === 'update') {
          expect(o.r!.status).toBe('updated');
          expect(o.r!.namespace).toBe(envNs);
          expect(o.r!.summary).toMatch(/web.*success/s);
        } else if (o.step === 'down') {
          expect(o.r!.status).toBe('down');
          const left = await get({ apiVersion: 'v1', kind: 'Namespace', name: envNs });
          expect(left === undefined || !!left.metadata.deletionTimestamp).toBe(true);
        } else {
          expect(o.r!.status).toBe('reaped');
          expect(o.r!.removed!.map((x) => x.namespace)).toContain(`${prefix}spare-dead01`);
          expect(await spares()).toHaveLength(1);
        }
      };
      return { run, asWhole };
    }

    it('the engine under the whole shipped RBAC: reap fills the pool, up, update, an update undone, down, reap', async () => {
      const s = await scenario();
      for (const step of STEPS) await s.asWhole(await s.run(step));
    });

    it('each reach outside its namespaces is refused: Secrets, labelling, deleting, kube-system, RoleBindings', async () => {
      const sa = new KubeClient(await loadKubeconfig({ content: kubeconfig }, nullLogger), {
        logger: nullLogger,
        retry: { attempts: 1 },
      });
      // Someone's namespace (no managed label), with a Secret in it.
      const theirs = `${tag}-theirs`;
      await admin.apply(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: theirs } },
        { fieldManager: 'test' },
      );
      await admin.apply(
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'keys', namespace: theirs },
          stringData: { key: 'theirs' },
        } as unknown as KubeObject,
        { fieldManager: 'test' },
      );
      const secret = { apiVersion: 'v1', kind: 'Secret', namespace: theirs, name: 'keys' };
      const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', name });
      const refused = async (what: string, p: Promise<unknown>, why: RegExp) => {
        const err = await p.then(
          () => new Error(`${what}: NOT refused`),
          (e: unknown) => e,
        );
        expect(errorMessage(err), what).toMatch(why);
      };

      // Reads and writes inside: RBAC grants none outside the namespaces the engine binds itself in.
      await refused('read a Secret', sa.get(secret), /forbidden to get secrets "keys"/);
      await refused('list Secrets anywhere', sa.list('v1', 'Secret'), /forbidden to list secrets/);
      await refused(
        'create a Secret',
        sa.apply(
          {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: 'mine', namespace: theirs },
          } as unknown as KubeObject,
          { fieldManager: 'x' },
        ),
        /forbidden to (patch|create) secrets/,
      );
      await refused(
        'list the ConfigMaps of a namespace',
        sa.list('v1', 'ConfigMap', { namespace: theirs }),
        /forbidden to list configmaps/,
      );
      await refused(
        'list Deployments anywhere',
        sa.list('apps/v1', 'Deployment'),
        /forbidden to list deployments/,
      );
      await refused(
        'read a Secret in kube-system',
        sa.get({ ...secret, namespace: 'kube-system' }),
        /forbidden to get secrets/,
      );
      // Namespaces: RBAC lets the identity write them; the admission policy keeps it to its own.
      const notManaged = /feature-env identity may (UPDATE|DELETE) only namespaces it manages/;
      await refused(
        'label an existing namespace as managed',
        sa.patch(ns(theirs), { metadata: { labels: { [MANAGED]: 'true' } } }, 'merge'),
        notManaged,
      );
      await refused(
        'label it as managed by server-side apply',
        sa.apply(
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: theirs, labels: { [MANAGED]: 'true' } } },
          { fieldManager: 'x', force: true },
        ),
        notManaged,
      );
      await refused('delete it', sa.delete(ns(theirs)), notManaged);
      // kube-system is immortal (NamespaceLifecycle refuses its deletion before the policy is asked);
      // the policy refuses labelling it, and deleting the next system namespace.
      await refused(
        'delete kube-system',
        sa.delete(ns('kube-system')),
        /this namespace may not be deleted|feature-env identity may DELETE only/,
      );
      await refused(
        'label kube-system as managed',
        sa.patch(ns('kube-system'), { metadata: { labels: { [MANAGED]: 'true' } } }, 'merge'),
        notManaged,
      );
      await refused('delete kube-node-lease', sa.delete(ns('kube-node-lease')), notManaged);
      await refused(
        'create a namespace without the managed label',
        sa.apply(
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `${tag}-unlabelled` } },
          { fieldManager: 'x' },
        ),
        /may create only namespaces labelled/,
      );
      // The way in: a RoleBinding to the namespace role in someone's namespace, or kube-system.
      for (const where of [theirs, 'kube-system'])
        await refused(
          `bind itself in ${where}`,
          sa.apply(
            {
              apiVersion: 'rbac.authorization.k8s.io/v1',
              kind: 'RoleBinding',
              metadata: { name: 'in', namespace: where },
              roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAMESPACE_ROLE },
              subjects: [{ kind: 'ServiceAccount', name: 'feature-env', namespace: home.name }],
            } as unknown as KubeObject,
            { fieldManager: 'x' },
          ),
          /may write only inside namespaces labelled/,
        );
      // A namespace of its own may not be given away: the label stays.
      const own = `${tag}-own`;
      await sa.apply(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: own, labels: { [MANAGED]: 'true' } } },
        { fieldManager: 'x' },
      );
      await refused(
        'remove the managed label',
        sa.patch(ns(own), { metadata: { labels: { [MANAGED]: null } } }, 'merge'),
        /may not remove the label/,
      );
      expect(await sa.delete(ns(own))).toBe(true);

      // The engine itself, when a namespace it would make exists and is someone else's: never
      // taken over (it makes one of its own name), untouched.
      const prefix = `${tag}-x-`;
      const number = ++n;
      const wouldBe = `${prefix}${setShort({ repository: `${gh.owner}/${gh.repo}`, prefix, label: 'feature-env' })}-pr-${number}`;
      await admin.apply(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: wouldBe } },
        { fieldManager: 'someone' },
      );
      const sha = `${number}`.padStart(40, 'a');
      gh.addPullRequest({ number, headSha: sha, labels: [] });
      gh.label(number, 'feature-env', 'maintainer');
      const feInputs = {
        kubeconfig,
        manifests: 'k8s/',
        'pin-digests': 'false',
        'namespace-prefix': prefix,
        timeout: '30s',
        domain: 'preview.example.com',
      };
      const made = await runFe(
        gh,
        { action: 'labeled', number, label: 'feature-env', labels: ['feature-env'], sha },
        feInputs,
        { workspace: ws },
      );
      expect(made.r.status, made.logger.text()).toBe('up');
      expect(made.r.namespace).not.toBe(wouldBe);
      expect(made.r.namespace.startsWith(`${wouldBe}-`)).toBe(true);
      const down = await runFe(
        gh,
        { action: 'unlabeled', number, label: 'feature-env', labels: [], sha },
        feInputs,
        { workspace: ws },
      );
      expect(down.r.status, down.logger.text()).toBe('down');

      for (const name of [theirs, wouldBe, 'kube-system', 'kube-node-lease']) {
        const live = await get(ns(name));
        expect(live, name).toBeDefined();
        expect(live!.metadata.deletionTimestamp, name).toBeUndefined();
        expect(live!.metadata.labels?.[MANAGED], name).toBeUndefined();
      }
      expect(await get(secret)).toBeDefined();
      expect(await get({ ...secret, name: 'mine' })).toBeUndefined();
    });

    it('every verb beyond the deploy Role is covered by an expectation (and every expectation by a verb)', () => {
      const ids = variants([...CLUSTER_WIDE.rules!, ...EXTRA_RULES]).map((v) => v.id);
      expect(ids.sort()).toEqual(Object.keys(EXPECTED).sort());
    });

    const removals = [
      ...variants(CLUSTER_WIDE.rules!).map((v) => ({ ...v, where: 'cluster-wide' as const })),
      ...variants(IN_NAMESPACE.rules!)
        .filter((v) => EXTRA_RULES.includes(v.rule))
        .map((v) => ({ ...v, where: 'in-namespace' as const })),
    ];
    for (const v of removals) {
      const want = EXPECTED[v.id];
      it(`without ${v.verb} on ${v.rule.resources.join(', ')} (${v.where}): ${want ? `${want.how} at the ${want.step} step, naming it` : 'no expectation'}`, async () => {
        expect(want, `no expectation for ${v.id}`).toBeDefined();
        const absent = v.rule.resources.map((r) => `${r}:${v.verb}`);
        await setRules(
          v.where === 'cluster-wide' ? v.rules : CLUSTER_WIDE.rules!,
          v.where === 'in-namespace' ? v.rules : IN_NAMESPACE.rules!,
          absent,
        );
        try {
          const s = await scenario();
          for (const step of STEPS) {
            const o = await s.run(step);
            if (step !== want!.step) {
              await s.asWhole(o);
              continue;
            }
            const context = `${o.error ?? ''}\n${o.log}`;
            if (want!.how === 'error') {
              expect(o.error, context).toBeDefined();
              expect(
                naming(o.error!, v.rule, v.verb).engine,
                `the error names ${v.verb} ${v.rule.resources}:\n${context}`,
              ).toBe(true);
            } else {
              expect(o.error, context).toBeUndefined();
              expect(
                naming(o.warnings.join('\n'), v.rule, v.verb).engine,
                `a warning names ${v.verb} ${v.rule.resources}:\n${context}`,
              ).toBe(true);
            }
            return;
          }
        } finally {
          await setRules(CLUSTER_WIDE.rules!, IN_NAMESPACE.rules!);
        }
      });
    }
  },
);

describe('the shipped feature-env RBAC files', () => {
  const docs: Doc[] = [...roleDocs, ...policyDocs];
  it('the namespace role is bound by no ClusterRoleBinding: only inside the namespaces the engine makes', () => {
    const bindings = docs.filter((d) => d.kind === 'ClusterRoleBinding');
    expect(bindings.map((b) => b.roleRef!.name)).toEqual(['commit-to-cloud-feature-env']);
  });

  it('cluster-wide, the identity holds namespaces, RoleBindings and bind on the namespace role, nothing else', () => {
    expect(CLUSTER_WIDE.rules).toEqual([
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'create', 'patch', 'delete'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['create', 'patch'] },
      {
        apiGroups: ['rbac.authorization.k8s.io'],
        resources: ['clusterroles'],
        resourceNames: [NAMESPACE_ROLE],
        verbs: ['bind'],
      },
    ]);
  });

  it('the admission policy matches the shipped ServiceAccount and denies', () => {
    const policy = policyDocs.find((d) => d.kind === 'ValidatingAdmissionPolicy')!;
    expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(JSON.stringify(policy.spec.matchConditions)).toContain(`'${SHIPPED_USER}'`);
    const binding = policyDocs.find((d) => d.kind === 'ValidatingAdmissionPolicyBinding')!;
    expect(binding.spec).toEqual({ policyName: policy.metadata.name, validationActions: ['Deny'] });
  });
});
