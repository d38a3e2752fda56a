import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { withDefaults } from '../../src/core/input-spec.js';
import { memoryLogger } from '../../src/core/logger.js';
import { DEPLOY_INPUTS, parseDeployInputs, type DeployRaw } from '../../src/deploy/inputs.js';
import { auditFromGitHub, githubRecorder } from '../../src/deploy/record.js';
import { runDeploy } from '../../src/deploy/run.js';
import { GitHubClient, githubContextFromEnv } from '../../src/github/index.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';

const COMMIT = 'fedcba9876543210fedcba9876543210fedcba98';
const RUN_ID = 777;

const deployment = (name: string, image: string) =>
  deploymentManifest(name, image, { replicas: 1, spec: { progressDeadlineSeconds: 2 } });

describe('runDeploy records a GitHub Deployment and who approved the run', () => {
  let kube: KubeFake;
  let gh: GitHubFake;
  let ws: string;
  let n = 0;

  beforeAll(async () => {
    [kube, gh] = await Promise.all([
      startKubeFake({ readyDelayMs: 30, tickMs: 50, progressDeadlineSeconds: 2 }),
      startGitHubFake(),
    ]);
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-deploy-gh-'));
  });
  afterAll(async () => {
    await kube?.stop();
    await gh?.stop();
    if (ws) await rm(ws, { recursive: true, force: true });
    closeHttpAgents();
  });

  async function setup(objects: unknown[]) {
    const ns = `g${++n}`;
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const file = `g${n}.yaml`;
    await writeFile(path.join(ws, file), objects.map((o) => stringify(o)).join('---\n'));
    return { ns, file };
  }

  /** What the action does: audit from the run's approvals, a recorder for the environment. */
  async function deploy(r: Partial<DeployRaw>, runId = RUN_ID, fake: GitHubFake = gh) {
    const logger = memoryLogger();
    const opts = parseDeployInputs(
      withDefaults(DEPLOY_INPUTS, {
        kubeconfig: kube.kubeconfig,
        'pin-digests': 'false',
        token: fake.token,
        ...r,
      } as Record<string, string>),
      ws,
      { sha: COMMIT },
    );
    const context = githubContextFromEnv({
      ...fake.env,
      GITHUB_SHA: COMMIT,
      GITHUB_REF: 'refs/heads/main',
      GITHUB_RUN_ID: String(runId),
      GITHUB_ACTOR: 'octocat',
    });
    const client = new GitHubClient({
      token: opts.token!,
      context,
      logger,
      retry: { baseDelayMs: 10, maxDelayMs: 50, attempts: 2 },
    });
    const audit = await auditFromGitHub(context, client, opts.environment, logger);
    const res = await runDeploy(opts, {
      logger,
      ...(audit ? { audit } : {}),
      ...(opts.environment
        ? {
            recorder: githubRecorder(client, context, {
              environment: opts.environment,
              ...(opts.environmentUrl ? { environmentUrl: opts.environmentUrl } : {}),
            }),
          }
        : {}),
    });
    return { r: res, logger, context };
  }

  it('success: a Deployment with statuses in_progress then success, environment_url and log_url; approvers annotated', async () => {
    gh.addRun(RUN_ID, [
      { user: 'alice', environments: ['production'], state: 'approved' },
      { user: 'bob', environments: ['staging'], state: 'approved' },
      { user: 'carol', environments: ['production'], state: 'rejected' },
    ]);
    const { ns, file } = await setup([deployment('web', 'reg.example.com/web:1')]);
    const before = gh.deployments.length;
    const { r, logger, context } = await deploy({
      manifests: file,
      namespace: ns,
      environment: 'production',
      'environment-url': 'https://shop.example.com',
    });
    expect(r.result, logger.text()).toBe('success');
    expect(gh.deployments.length).toBe(before + 1);
    const d = gh.deployments.at(-1)!;
    expect(String(d.id)).toBe(r.deploymentId);
    expect(d.environment).toBe('production');
    expect(d.sha).toBe(COMMIT);
    expect(d.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    for (const s of d.statuses) {
      expect(s.environment_url).toBe('https://shop.example.com');
      expect(s.log_url).toBe(context.runUrl);
    }
    const web = kube.get('apps/v1', 'Deployment', ns, 'web')!;
    expect(web.metadata.annotations['commit-to-cloud.dev/approved-by']).toBe('alice');
    expect(web.metadata.annotations['commit-to-cloud.dev/run-url']).toBe(context.runUrl);
    expect(r.summary).toContain('production');
  });

  it('a failed rollout: the Deployment ends in failure, with the reason', async () => {
    gh.addRun(RUN_ID + 1, []);
    kube.failImage('reg.example.com/web:broken', 'CrashLoopBackOff');
    const { ns, file } = await setup([deployment('web', 'reg.example.com/web:1')]);
    expect((await deploy({ manifests: file, namespace: ns }, RUN_ID + 1)).r.result).toBe('success');
    const { r, logger } = await deploy(
      { manifests: file, namespace: ns, environment: 'staging', images: 'reg.example.com/web:broken' },
      RUN_ID + 1,
    );
    expect(r.result, logger.text()).toBe('rolled-back');
    const d = gh.deployments.find((x) => String(x.id) === r.deploymentId)!;
    expect(d.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
    expect(d.statuses[1]!.description).toMatch(/Rollout failed/);
  });

  it('an approvals lookup failure is only a warning', async () => {
    const { ns, file } = await setup([deployment('web', 'reg.example.com/web:1')]);
    // Run 999 is unknown to the fake: the approvals endpoint answers 404.
    const { r, logger } = await deploy({ manifests: file, namespace: ns, environment: 'production' }, 999);
    expect(r.result, logger.text()).toBe('success');
    expect(logger.lines.some((l) => l.level === 'warning' && /approvals/.test(l.message))).toBe(true);
    const web = kube.get('apps/v1', 'Deployment', ns, 'web')!;
    expect(web.metadata.annotations['commit-to-cloud.dev/approved-by']).toBeUndefined();
    expect(web.metadata.annotations['commit-to-cloud.dev/commit']).toBe(COMMIT);
  });

  it('no Deployment is recorded for a dry run or for input the cluster rejects', async () => {
    gh.addRun(RUN_ID + 2, []);
    const { ns, file } = await setup([deployment('web', 'reg.example.com/web:1')]);
    const before = gh.deployments.length;
    expect(
      (
        await deploy(
          { manifests: file, namespace: ns, environment: 'production', 'dry-run': 'true' },
          RUN_ID + 2,
        )
      ).r.result,
    ).toBe('dry-run');
    kube.forbid({ verb: 'patch', resource: 'deployments', namespace: ns });
    await expect(
      deploy({ manifests: file, namespace: ns, environment: 'production' }, RUN_ID + 2),
    ).rejects.toThrow(/forbidden/);
    kube.allowAll();
    expect(gh.deployments.length).toBe(before);
  });

  it('an error after the Deployment started (watch forbidden: the Role changed mid-run) still ends it in failure', async () => {
    gh.addRun(RUN_ID + 3, []);
    const { ns, file } = await setup([deployment('web', 'reg.example.com/web:1')]);
    // Allowed when the run checked its permissions, refused when it watches.
    kube.faults.add({
      kind: 'status',
      status: 403,
      method: 'GET',
      pathIncludes: `/namespaces/${ns}/deployments?watch=1`,
      watch: true,
      times: 20,
      reason: 'Forbidden',
      message: `deployments.apps is forbidden: User "test-admin" cannot watch resource "deployments" in API group "apps" in the namespace "${ns}"`,
    });
    try {
      const before = gh.deployments.length;
      await expect(
        deploy({ manifests: file, namespace: ns, environment: 'staging' }, RUN_ID + 3),
      ).rejects.toThrow(/forbidden to watch deployments/);
      expect(gh.deployments.length).toBe(before + 1);
      const d = gh.deployments.at(-1)!;
      expect(d.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
      expect(d.statuses[1]!.description).toMatch(/forbidden/);
    } finally {
      kube.faults.clear();
    }
  });

  it('a token without deployments: write fails before anything is built or changed, naming the permission', async () => {
    const readOnly = await startGitHubFake({ permissions: { deployments: 'read', actions: 'read' } });
    try {
      readOnly.addRun(RUN_ID, []);
      const { ns, file } = await setup([deployment('web', 'reg.example.com/web:1')]);
      kube.resetRequestLog();
      await expect(
        deploy({ manifests: file, namespace: ns, environment: 'production' }, RUN_ID, readOnly),
      ).rejects.toThrow(/needs the permission 'deployments: write'.*Nothing was built or changed/s);
      expect(readOnly.deployments).toEqual([]);
      // Not even a dry run reached the cluster: only reads.
      expect(kube.writes()).toEqual([]);
    } finally {
      await readOnly.stop();
    }
  });

  it('without environment, no approvals are looked up (there can be none)', async () => {
    gh.addRun(RUN_ID + 4, []);
    const { ns, file } = await setup([deployment('web', 'reg.example.com/web:1')]);
    const before = gh.requestsTo('GET', /\/approvals$/).length;
    const { r, logger } = await deploy({ manifests: file, namespace: ns }, RUN_ID + 4);
    expect(r.result, logger.text()).toBe('success');
    expect(gh.requestsTo('GET', /\/approvals$/).length).toBe(before);
  });
});
