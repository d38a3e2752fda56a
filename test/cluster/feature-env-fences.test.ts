import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { nullLogger } from '../../src/core/logger.js';
import { KubeClient, loadKubeconfig, type KubeObject } from '../../src/kube/index.js';
import { FENCE_LABEL, FENCE_NAME } from '../../src/featureenv/fences.js';
import { MANAGED, PR_LABEL, STATE } from '../../src/featureenv/state.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { runFe } from '../helpers/feature-env.js';
import { CLUSTER_SETUP_TIMEOUT_MS, haveCluster, sharedCluster } from '../helpers/shared-cluster.js';
import type { Cluster } from '../helpers/cluster.js';

/**
 * The fences of feature environments on the genuine control plane: the NetworkPolicy, ResourceQuota
 * and LimitRange of each environment's namespace (spares too), as the server stores and enforces them
 * (quota and LimitRange admission are the API server's; kwok's nodes do not enforce NetworkPolicy, so
 * its stored content is what is judged), kept in step on update, and max-environments.
 */
const REG = 'registry.example:5000/shop';
const NP = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', name: FENCE_NAME };
const RQ = { apiVersion: 'v1', kind: 'ResourceQuota', name: FENCE_NAME };
const LR = { apiVersion: 'v1', kind: 'LimitRange', name: FENCE_NAME };

type Peer = {
  podSelector?: Record<string, unknown>;
  namespaceSelector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  ipBlock?: { cidr: string; except?: string[] };
};
type PolicySpec = {
  podSelector: Record<string, unknown>;
  policyTypes: string[];
  ingress: Array<{ from?: Peer[] }>;
};

/** No rule of the policy admits every namespace, every pod of the cluster or every address. */
function admitsTooMuch(spec: PolicySpec): string[] {
  const out: string[] = [];
  for (const rule of spec.ingress ?? []) {
    if (!rule.from || rule.from.length === 0) out.push('a rule without from admits everything');
    for (const p of rule.from ?? []) {
      const ns = p.namespaceSelector;
      if (ns && !Object.keys(ns.matchLabels ?? {}).length && !(ns.matchExpressions ?? []).length)
        out.push('an empty namespaceSelector admits every namespace');
      if (p.ipBlock && /\/0$/.test(p.ipBlock.cidr))
        out.push(`ipBlock ${p.ipBlock.cidr} admits every address`);
    }
  }
  return out;
}

describe.skipIf(!haveCluster())('feature environments: fences (genuine control plane)', () => {
  let cluster: Cluster;
  let gh: GitHubFake;
  let ws: string;
  let admin: KubeClient;
  let prefix: string;
  let n = 500;
  // A repository of its own per run and a prefix per test (a control plane kept up with
  // C2C_CLUSTER_DIR keeps the last run's environments).
  const run = randomBytes(2).toString('hex');

  beforeAll(async () => {
    cluster = await sharedCluster();
    gh = await startGitHubFake({ owner: 'acme', repo: `fenced-${run}` });
    gh.collaborators.set('maintainer', 'write');
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-fences-'));
    await mkdir(path.join(ws, 'k8s'));
    // Containers that ask for no resources (the LimitRange gives them their requests).
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      [deploymentManifest('api', `${REG}/api:main`), deploymentManifest('web', `${REG}/web:main`)]
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

  /** A pull request of its own, labeled by the maintainer; a prefix of its own per test (set by fresh()). */
  function pr() {
    const number = ++n;
    const sha = `${number}`.padStart(40, 'a');
    gh.addPullRequest({ number, headSha: sha, labels: [] });
    gh.label(number, 'feature-env', 'maintainer');
    return { number, sha };
  }
  const fresh = () => (prefix = `ff${run}-${n + 1}-`);
  const base = (more: Record<string, string> = {}) => ({
    kubeconfig: cluster.kubeconfig,
    manifests: 'k8s/',
    'pin-digests': 'false',
    'namespace-prefix': prefix,
    timeout: '60s',
    ...more,
  });
  const labeled = (p: { number: number; sha: string }) => ({
    action: 'labeled' as const,
    number: p.number,
    label: 'feature-env',
    labels: ['feature-env'],
    sha: p.sha,
  });
  const get = (ref: { apiVersion: string; kind: string; name: string }, namespace: string) =>
    admin.get({ ...ref, namespace });
  const spec = <T>(o: KubeObject | undefined) => {
    expect(o, 'the fence is there').toBeDefined();
    return (o as unknown as { spec: T }).spec;
  };
  const namespaces = async (selector: string) =>
    (await admin.list('v1', 'Namespace', { labelSelector: selector })).items;

  it('up fences the namespace before the services: NetworkPolicy, ResourceQuota, LimitRange; pods without requests are admitted, a pod beyond the quota is refused', async () => {
    fresh();
    const p = pr();
    const up = await runFe(
      gh,
      labeled(p),
      base({ 'allow-from': 'ingress-nginx, 10.0.0.0/16' }), // resource-quota: the default
      { workspace: ws },
    );
    expect(up.r.status, up.logger.text()).toBe('up');
    expect(up.r.failure, up.logger.text()).toBeUndefined();
    const ns = up.r.namespace;
    const log = up.logger.text();
    expect(log.indexOf(`fences of ${ns}`), log).toBeGreaterThan(-1);
    expect(log.indexOf(`fences of ${ns}`)).toBeLessThan(log.indexOf('rolled out'));

    const np = await get(NP, ns);
    expect(np?.metadata.labels?.[FENCE_LABEL]).toBe('true');
    const policy = spec<PolicySpec>(np);
    expect(policy.podSelector).toEqual({});
    expect(policy.policyTypes).toEqual(['Ingress']);
    expect(policy.ingress).toEqual([
      {
        from: [
          { podSelector: {} },
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
          { ipBlock: { cidr: '10.0.0.0/16' } },
        ],
      },
    ]);
    expect(admitsTooMuch(policy)).toEqual([]);

    const quota = await get(RQ, ns);
    expect(spec<{ hard: Record<string, string> }>(quota).hard).toEqual({
      pods: '40',
      'requests.cpu': '4',
      'requests.memory': '8Gi',
    });
    expect(spec(await get(LR, ns))).toEqual({
      limits: [{ type: 'Container', defaultRequest: { cpu: '100m', memory: '128Mi' } }],
    });
    // The set's pods asked for nothing and run, with the LimitRange's requests.
    const pods = (await admin.list('v1', 'Pod', { namespace: ns })).items;
    expect(pods.length).toBe(4);
    for (const pod of pods)
      expect(
        (pod as unknown as { spec: { containers: Array<{ resources: unknown }> } }).spec.containers[0]!
          .resources,
      ).toEqual({ requests: { cpu: '100m', memory: '128Mi' } });
    // A pod beyond the quota is refused by the API server.
    await expect(
      admin.apply(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'greedy', namespace: ns },
          spec: {
            containers: [
              { name: 'app', image: `${REG}/api:main`, resources: { requests: { cpu: '5', memory: '1Gi' } } },
            ],
          },
        },
        { fieldManager: 'someone' },
      ),
    ).rejects.toThrow(/exceeded quota: commit-to-cloud-fence.*requests\.cpu/);
    await runFe(gh, { ...labeled(p), action: 'closed' }, base(), { workspace: ws });
  });

  it('a set that needs more than resource-quota allows: the rollout fails, naming resource-quota and what it refused', async () => {
    fresh();
    const p = pr();
    const up = await runFe(gh, labeled(p), base({ 'resource-quota': 'pods=3', timeout: '15s' }), {
      workspace: ws,
    });
    expect(up.r.failure, up.logger.text()).toMatch(
      /Input 'resource-quota' \(pods=3\) refused pods of the environment \(exceeded quota: commit-to-cloud-fence, requested: pods=1, used: pods=3, limited: pods=3\)/,
    );
    expect(gh.comments.find((c) => c.issue === p.number)!.body).toMatch(
      /deploy failed \((api|web)\).*Input 'resource-quota' \(pods=3\) refused pods/s,
    );
    await runFe(gh, { ...labeled(p), action: 'closed' }, base(), { workspace: ws });
  });

  it('spares of the warm pool carry the fences', async () => {
    fresh();
    const reap = await runFe(
      gh,
      { name: 'workflow_dispatch' },
      base({ 'warm-pool': '1', 'resource-quota': 'pods=10,limits.memory=2Gi', 'allow-from': 'monitoring' }),
      { workspace: ws },
    );
    expect(reap.r.status, reap.logger.text()).toBe('reaped');
    const spares = (await namespaces(`${MANAGED}=true,${STATE}=spare`)).filter((x) =>
      x.metadata.name!.startsWith(prefix),
    );
    expect(spares, reap.logger.text()).toHaveLength(1);
    const ns = spares[0]!.metadata.name!;
    const policy = spec<PolicySpec>(await get(NP, ns));
    expect(policy.ingress[0]!.from).toEqual([
      { podSelector: {} },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ]);
    expect(admitsTooMuch(policy)).toEqual([]);
    expect(spec(await get(RQ, ns))).toEqual({ hard: { pods: '10', 'limits.memory': '2Gi' } });
    expect(spec(await get(LR, ns))).toMatchObject({
      limits: [{ type: 'Container', defaultRequest: { memory: '128Mi' }, default: { memory: '512Mi' } }],
    });
  });

  it('an update keeps the fences in step with the inputs; none removes only what this suite put there', async () => {
    fresh();
    const p = pr();
    const sync = { ...labeled(p), action: 'synchronize' as const };
    const up = await runFe(gh, labeled(p), base(), { workspace: ws });
    expect(up.r.status, up.logger.text()).toBe('up');
    const ns = up.r.namespace;

    const changed = await runFe(
      gh,
      sync,
      base({ 'resource-quota': 'pods=20,requests.cpu=2', 'allow-from': 'monitoring,192.168.0.0/24' }),
      { workspace: ws },
    );
    expect(changed.r.status, changed.logger.text()).toBe('updated');
    expect(spec(await get(RQ, ns))).toEqual({ hard: { pods: '20', 'requests.cpu': '2' } });
    expect(spec(await get(LR, ns))).toEqual({
      limits: [{ type: 'Container', defaultRequest: { cpu: '100m' } }],
    });
    expect(spec<PolicySpec>(await get(NP, ns)).ingress[0]!.from).toEqual([
      { podSelector: {} },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      { ipBlock: { cidr: '192.168.0.0/24' } },
    ]);

    const none = { 'network-policy': 'none', 'resource-quota': 'none' };
    const off = await runFe(gh, sync, base(none), { workspace: ws });
    expect(off.r.status, off.logger.text()).toBe('updated');
    expect(await get(NP, ns)).toBeUndefined();
    expect(await get(RQ, ns)).toBeUndefined();
    expect(await get(LR, ns)).toBeUndefined();

    // Someone else's objects of the same names are left as they are.
    await admin.apply(
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: FENCE_NAME, namespace: ns },
        spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [] },
      },
      { fieldManager: 'someone' },
    );
    await admin.apply(
      {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: FENCE_NAME, namespace: ns, labels: { [FENCE_LABEL]: 'true' } },
        spec: { hard: { pods: '30' } },
      },
      { fieldManager: 'someone' },
    );
    const again = await runFe(gh, sync, base(none), { workspace: ws });
    expect(again.r.status, again.logger.text()).toBe('updated');
    expect(await get(NP, ns)).toBeDefined();
    expect(await get(RQ, ns)).toBeDefined();
    expect(again.logger.text()).toMatch(/NetworkPolicy .* is not this suite's: left as it is/);
  });

  it('max-environments: the N+1th new environment is refused naming the input and the oldest, nothing created; an update passes', async () => {
    fresh();
    const max = base({ 'max-environments': '2' });
    const a = pr();
    const b = pr();
    for (const x of [a, b]) expect((await runFe(gh, labeled(x), max, { workspace: ws })).r.status).toBe('up');
    const c = pr();
    const ctl = async () =>
      (await namespaces(`${MANAGED}=true,${STATE}=control`)).find((x) => x.metadata.name!.startsWith(prefix));
    const ctlBefore = await ctl();
    await expect(runFe(gh, labeled(c), max, { workspace: ws })).rejects.toThrow(
      new RegExp(
        `Input 'max-environments' is 2, and 2 environments are active.*no environment is made for #${c.number}.*` +
          `The oldest: ${prefix}[0-9a-f]{6}-pr-${a.number} \\(#${a.number}, \\d+s\\), ${prefix}[0-9a-f]{6}-pr-${b.number} \\(#${b.number}, \\d+s\\)`,
      ),
    );
    // Nothing made: no namespace, no claim, no Deployment; the one comment is the refusal.
    expect(
      (await namespaces(`${PR_LABEL}=${c.number}`)).filter((x) => x.metadata.name!.startsWith(prefix)),
    ).toEqual([]);
    expect(
      (await admin.list('v1', 'Namespace')).items.filter((x) =>
        new RegExp(`^${prefix}[0-9a-f]{6}-pr-${c.number}`).test(String(x.metadata.name)),
      ),
    ).toEqual([]);
    expect((await ctl())?.metadata.resourceVersion).toBe(ctlBefore?.metadata.resourceVersion);
    expect(gh.deployments.filter((d) => d.environment === `feature-env/pr-${c.number}`)).toEqual([]);
    const comments = gh.comments.filter((x) => x.issue === c.number);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toMatch(/refused.*'max-environments' is 2/s);
    expect(comments[0]!.body).toMatch(
      new RegExp(`\\| \`${prefix}[0-9a-f]{6}-pr-${a.number}\` \\| #${a.number} \\|`),
    );

    // An update of an environment there is always allowed.
    const upd = await runFe(gh, { ...labeled(a), action: 'synchronize' }, max, { workspace: ws });
    expect(upd.r.status, upd.logger.text()).toBe('updated');
    // One gone: room for the next.
    await runFe(gh, { ...labeled(b), action: 'closed' }, max, { workspace: ws });
    expect((await runFe(gh, labeled(c), max, { workspace: ws })).r.status).toBe('up');
  });
});
