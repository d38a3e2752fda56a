import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { withDefaults } from '../../src/core/input-spec.js';
import { memoryLogger, type Logger } from '../../src/core/logger.js';
import { DEPLOY_INPUTS, parseDeployInputs, type DeployRaw } from '../../src/deploy/inputs.js';
import { DeployUndoneError, runDeploy } from '../../src/deploy/run.js';
import { errorMessage } from '../../src/core/errors.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';

const deployment = (name: string, image: string) =>
  deploymentManifest(name, image, { spec: { progressDeadlineSeconds: 2 } });

describe('runDeploy under injected faults reaches the right result', () => {
  let kube: KubeFake;
  let ws: string;
  let n = 0;

  beforeAll(async () => {
    kube = await startKubeFake({ readyDelayMs: 400, tickMs: 50, progressDeadlineSeconds: 2 });
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-deploy-faults-'));
  });
  afterAll(async () => {
    await kube?.stop();
    if (ws) await rm(ws, { recursive: true, force: true });
    closeHttpAgents();
  });
  beforeEach(() => kube.faults.clear());

  async function setup(objects: unknown[]) {
    const ns = `f${++n}`;
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const file = `f${n}.yaml`;
    await writeFile(path.join(ws, file), objects.map((o) => stringify(o)).join('---\n'));
    return { ns, file };
  }

  /** A logger that closes every open watch stream shortly after the watch phase starts. */
  function closingWatches(times: number): Logger & { text(): string; closed: number } {
    const base = memoryLogger();
    const l = {
      ...base,
      closed: 0,
      group: async <T>(name: string, fn: () => Promise<T>) => {
        if (/^Watch|^Roll back/.test(name)) {
          let left = times;
          const tick = setInterval(() => {
            const c = kube.faults.closeWatches();
            l.closed += c;
            if (c > 0 && --left <= 0) clearInterval(tick);
          }, 120);
          try {
            return await base.group(name, fn);
          } finally {
            clearInterval(tick);
          }
        }
        return base.group(name, fn);
      },
    };
    return l;
  }

  async function deploy(r: Partial<DeployRaw>, logger: Logger & { text(): string } = memoryLogger()) {
    const opts = parseDeployInputs(
      withDefaults(DEPLOY_INPUTS, {
        kubeconfig: kube.kubeconfig,
        'pin-digests': 'false',
        timeout: '30s',
        ...r,
      } as Record<string, string>),
      ws,
      { sha: COMMIT },
    );
    const res = await runDeploy(opts, {
      logger,
      audit: { commit: COMMIT },
      kubeRetry: { baseDelayMs: 20, maxDelayMs: 1500, attempts: 6 },
    });
    return { r: res, log: logger.text() };
  }

  const image = (ns: string, name: string) =>
    kube.get('apps/v1', 'Deployment', ns, name)!.spec.template.spec.containers[0].image as string;

  it('429 with Retry-After, 500s and dropped connections on reads and writes: success', async () => {
    const { ns, file } = await setup([
      deployment('web', 'reg.example.com/web:1'),
      deployment('api', 'reg.example.com/api:1'),
    ]);
    kube.faults.add({
      kind: 'status',
      status: 429,
      retryAfterSeconds: 1,
      method: 'GET',
      pathIncludes: '/version',
    });
    kube.faults.add({
      kind: 'status',
      status: 500,
      method: 'GET',
      pathIncludes: `/namespaces/${ns}/deployments`,
      times: 2,
    });
    kube.faults.add({ kind: 'drop', method: 'PATCH', pathIncludes: 'dryRun=All' });
    kube.faults.add({ kind: 'status', status: 503, method: 'PATCH', pathIncludes: `/deployments/web?` });
    kube.faults.add({
      kind: 'drop',
      method: 'PATCH',
      pathIncludes: `/deployments/api?fieldManager=commit-to-cloud&`,
    });
    kube.faults.add({ kind: 'drop', method: 'GET', pathIncludes: 'watch=1', watch: true });
    kube.resetRequestLog();
    const t0 = Date.now();
    const { r, log } = await deploy({ manifests: file, namespace: ns });
    expect(r.result, log).toBe('success');
    expect(image(ns, 'web')).toBe('reg.example.com/web:1');
    expect(image(ns, 'api')).toBe('reg.example.com/api:1');
    // Every fault was met (the retry went around them), and the 429's Retry-After was waited for.
    expect(kube.requestLog.filter((x) => x.status === 429).length).toBe(1);
    expect(kube.requestLog.filter((x) => x.status === 500 || x.status === 503).length).toBe(3);
    expect(kube.requestLog.filter((x) => x.status === -1).length).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  it('watches closed mid-stream: the rollout is still followed to success', async () => {
    const { ns, file } = await setup([deployment('web', 'reg.example.com/web:1')]);
    const logger = closingWatches(2);
    const { r, log } = await deploy({ manifests: file, namespace: ns }, logger);
    expect(r.result, log).toBe('success');
    expect(logger.closed).toBeGreaterThan(0);
    expect(kube.get('apps/v1', 'Deployment', ns, 'web')!.status.updatedReplicas).toBe(2);
  });

  /**
   * web and its ConfigMap at v1, then v2 while the next `cuts` Deployment watches (and, with
   * `lists`, lists) break mid-stream: a raw socket error, not one of the engine's.
   */
  async function breakingWatches(cuts: number, lists = false) {
    const settings = (mode: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: { MODE: mode },
    });
    const { ns, file } = await setup([settings('v1'), deployment('web', 'reg.example.com/web:1')]);
    expect((await deploy({ manifests: file, namespace: ns })).r.result).toBe('success');
    await writeFile(
      path.join(ws, file),
      [settings('v2'), deployment('web', 'reg.example.com/web:2')].map((o) => stringify(o)).join('---\n'),
    );
    kube.faults.add({
      kind: 'cut',
      method: 'GET',
      pathIncludes: `/namespaces/${ns}/deployments?${lists ? '' : 'watch=1'}`,
      watch: true,
      times: cuts,
    });
    kube.resetRequestLog();
    const err = await deploy({ manifests: file, namespace: ns }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(kube.requestLog.filter((x) => x.status === -2).length, err!.message).toBe(cuts);
    // The error says what broke first.
    expect(err!.message).toMatch(/^aborted/);
    // A typed error built once: the failure is its cause, what became of the writes is its data.
    expect(err).toBeInstanceOf(DeployUndoneError);
    const undone = (err as DeployUndoneError).undone;
    expect(undone.written).toEqual([`ConfigMap/${ns}/settings`, `Deployment/${ns}/web`]);
    // restored: what the undo managed (nothing, when it cannot even read the cluster).
    expect(undone.restored.every((k) => undone.written.includes(k))).toBe(true);
    expect((err as DeployUndoneError).cause).toBe((err as DeployUndoneError).failure);
    expect(err!.message.startsWith(errorMessage((err as DeployUndoneError).failure))).toBe(true);
    return { ns, message: err!.message };
  }

  const restored = (ns: string, message: string) => {
    expect(message).toMatch(/Restored .* as they were before this run/);
    expect(message).toContain(`ConfigMap/${ns}/settings`);
    expect(message).toContain(`Deployment/${ns}/web`);
    expect(kube.get('v1', 'ConfigMap', ns, 'settings')!.data).toEqual({ MODE: 'v1' });
    expect(image(ns, 'web')).toBe('reg.example.com/web:1');
  };

  it('a watch that keeps breaking mid-stream (a raw socket error, not ours): what the run applied is undone', async () => {
    // Every reopening of the Deployment watch breaks, until the client gives up (2 x 6 attempts).
    const { ns, message } = await breakingWatches(13);
    restored(ns, message);
    expect(message).toContain('Nothing this run applied is left.');
  });

  it('the watch breaks again while the undo waits: the undo still reports what it restored, and what it could not follow', async () => {
    const { ns, message } = await breakingWatches(26);
    restored(ns, message);
    expect(message).toMatch(
      new RegExp(
        `could not be restored: Deployment/${ns}/web: its rollback could not be followed \\(aborted\\)`,
      ),
    );
  });

  it('the undo cannot even read the cluster: the first error stays, and what was applied is named', async () => {
    // 13 for the watch, 6 for the undo's list of Deployments (where its wait would start).
    const { ns, message } = await breakingWatches(19, true);
    expect(message).toMatch(
      new RegExp(
        `Undoing what this run applied failed too \\(.*aborted\\); applied before the failure: ConfigMap/${ns}/settings, Deployment/${ns}/web`,
      ),
    );
  });

  it('watches closed mid-stream during a failing rollout and its rollback: still rolled back', async () => {
    const { ns, file } = await setup([deployment('web', 'reg.example.com/web:1')]);
    expect((await deploy({ manifests: file, namespace: ns })).r.result).toBe('success');
    kube.failImage('reg.example.com/web:broken', 'ImagePullBackOff');
    const logger = closingWatches(3);
    const { r, log } = await deploy(
      { manifests: file, namespace: ns, images: 'reg.example.com/web:broken' },
      logger,
    );
    expect(r.result, log).toBe('rolled-back');
    expect(logger.closed).toBeGreaterThan(0);
    expect(image(ns, 'web')).toBe('reg.example.com/web:1');
  });
});
