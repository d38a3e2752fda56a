import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { memoryLogger, nullLogger } from '../../src/core/logger.js';
import { withDefaults } from '../../src/core/input-spec.js';
import { DEPLOY_INPUTS, parseDeployInputs, type DeployRaw } from '../../src/deploy/inputs.js';
import { runDeploy } from '../../src/deploy/run.js';
import { KubeClient, loadKubeconfig } from '../../src/kube/index.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';

/**
 * Issue 6 item 1: another writer changes the Deployment while a deploy runs (an operator's
 * `kubectl annotate`, an HPA changing replicas, the controller's own status writes). Events of the
 * old, complete generation must not end the watch as a success.
 */
type Writer = 'annotate' | 'replicas' | 'status';

describe('deploy with a concurrent writer (Kubernetes fake)', () => {
  let kube: KubeFake;
  let ws: string;
  let other: KubeClient;
  let n = 0;

  beforeAll(async () => {
    kube = await startKubeFake({ readyDelayMs: 50, tickMs: 50, progressDeadlineSeconds: 2 });
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-writers-'));
    other = new KubeClient(await loadKubeconfig({ content: kube.kubeconfig }, nullLogger), {
      logger: nullLogger,
    });
  });
  afterAll(async () => {
    await kube?.stop();
    if (ws) await rm(ws, { recursive: true, force: true });
    closeHttpAgents();
  });

  /** Writes every `everyMs` until stopped: as another field manager, never touching the template. */
  function startWriter(ns: string, name: string, how: Writer, everyMs: number) {
    let i = 0;
    let stopped = false;
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name };
    const loop = (async () => {
      while (!stopped) {
        i++;
        if (how === 'annotate')
          await other.patch(
            ref,
            { metadata: { annotations: { 'ops.example.com/poke': String(i) } } },
            'merge',
            {
              fieldManager: 'kubectl-annotate',
            },
          );
        else if (how === 'replicas')
          await other.patch(ref, { spec: { replicas: 2 + (i % 2) } }, 'merge', { fieldManager: 'hpa-sim' });
        else {
          // A status write, as a controller makes: only status changes.
          const live = kube.get('apps/v1', 'Deployment', ns, name)!;
          kube.store.update(
            {
              group: 'apps',
              version: 'v1',
              resource: 'deployments',
              kind: 'Deployment',
              namespaced: true,
            } as never,
            { ...live, status: { ...live.status, collisionCount: i } },
          );
        }
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
    return async () => {
      stopped = true;
      await loop;
      return i;
    };
  }

  async function scenario(how: Writer, good: boolean) {
    const ns = `w${++n}`;
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const file = `w${n}.yaml`;
    // Without replicas in the manifest, so an HPA-like writer owns them without a conflict.
    const manifest = (image: string) => {
      const d = deploymentManifest('web', image);
      delete (d.spec as { replicas?: number }).replicas;
      return stringify(d);
    };
    await writeFile(path.join(ws, file), manifest('registry.example:5000/shop/web:v1'));
    const opts = (timeout: string) =>
      parseDeployInputs(
        withDefaults(
          DEPLOY_INPUTS,
          {
            kubeconfig: kube.kubeconfig,
            manifests: file,
            namespace: ns,
            'pin-digests': 'false',
            timeout,
          } as Partial<DeployRaw> as Record<string, string>,
          'input',
        ),
        ws,
        { sha: '0123456789abcdef0123456789abcdef01234567' },
      );
    const first = await runDeploy(opts('30s'), { logger: memoryLogger() });
    expect(first.result).toBe('success');
    await kube.settle();

    const next = `registry.example:5000/shop/web:${good ? 'v2' : 'broken'}`;
    if (!good) kube.failImage(next, 'ImagePullBackOff');
    await writeFile(path.join(ws, file), manifest(next));
    const stop = startWriter(ns, 'web', how, 40);
    // Let the writer produce events of the old, complete generation before the deploy reads.
    await new Promise((r) => setTimeout(r, 200));
    // Widen the window between reading what runs and applying (a build or a slow dry run does so in
    // real runs): the dry run is throttled once.
    kube.faults.add({
      kind: 'status',
      status: 429,
      retryAfterSeconds: 1,
      method: 'PATCH',
      pathIncludes: 'dryRun=All',
      times: 1,
    });
    const logger = memoryLogger();
    try {
      const r = await runDeploy(opts('6s'), { logger });
      return { r, logger, ns, writes: await stop() };
    } catch (e) {
      await stop();
      throw e;
    }
  }

  for (const how of ['annotate', 'replicas', 'status'] as const) {
    it(`${how} writer, unpullable image: the rollout fails and is rolled back`, async () => {
      const { r, logger, writes } = await scenario(how, false);
      expect(writes).toBeGreaterThan(3);
      expect(r.result, logger.text()).toBe('rolled-back');
      // An HPA-like writer changing replicas counts as progress for the Deployment controller, so
      // the progress deadline may never pass: then the timeout ends the wait.
      expect(r.failure).toMatch(/exceeded its progress deadline|ImagePullBackOff|timed out/);
    });
    it(`${how} writer, good image: success`, async () => {
      const { r, logger } = await scenario(how, true);
      expect(r.result, logger.text()).toBe('success');
    });
  }
});
