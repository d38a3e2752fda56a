import { expect, it } from 'vitest';
import { CancelledError } from '../../src/core/cancel.js';
import { LOCK_NAME } from '../../src/deploy/lock.js';
import type { DeploymentRecorder } from '../../src/deploy/types.js';
import type { KubeObject } from '../../src/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { onBothTargets } from '../helpers/targets.js';

/**
 * Issue 15 item 3, second part: a cancelled run (the runner's SIGINT, then SIGTERM) ends what it
 * started where it stands: before the first write nothing is changed; an apply under way is finished,
 * then undone; a rollout being watched is rolled back; the GitHub Deployment is marked failed and the
 * deploy lock released. The engine gets the signals as one AbortSignal (core/cancel.ts).
 */
const REG = 'registry.example:5000/shop';
const slow = { progressDeadlineSeconds: 600 };

/** A recorder that keeps what the deploy told it (the GitHub Deployment's statuses). */
function recorder() {
  const states: Array<{ state: string; description: string }> = [];
  const r: DeploymentRecorder = {
    check: async () => undefined,
    start: async () => ({ id: 1 }),
    finish: async (_id, state, description) => void states.push({ state, description }),
  };
  return { r, states };
}

onBothTargets('cancelling a deploy', (target, kind) => {
  const lease = async (ns: string) =>
    ((await target().get('coordination.k8s.io/v1', 'Lease', ns, LOCK_NAME))?.spec ?? {}) as {
      holderIdentity?: string;
    };
  const imageOf = async (ns: string) =>
    (
      (await target().get('apps/v1', 'Deployment', ns, 'web')) as
        (KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } }) | undefined
    )?.spec.template.spec.containers[0]?.image;
  /** A namespace where web runs v1, and the manifest file. */
  const runningV1 = async () => {
    const { harness: h } = target();
    const ns = await h.namespace('cx');
    const file = await h.write([deploymentManifest('web', `${REG}/web:v1`, { replicas: 1, spec: slow })]);
    const first = await h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' });
    expect(first.r.result, first.logger.text()).toBe('success');
    return { h, ns, file };
  };

  it('cancelled while its rollout is watched: rolled back at once, the Deployment marked failed, the lock released', async () => {
    const { h, ns, file } = await runningV1();
    const controller = new AbortController();
    const rec = recorder();
    const t0 = Date.now();
    const running = h.deploy(
      {
        manifests: file,
        namespace: ns,
        images: `${REG}/web:fail-pull`,
        'pin-digests': 'false',
        'fail-fast': 'false',
        timeout: '2m',
      },
      { lock: { holder: 'run-1' }, signal: controller.signal, recorder: rec.r },
    );
    // The apply is done and the watch under way (a pull that never succeeds, fail-fast off).
    await expect.poll(() => imageOf(ns), { timeout: 20_000 }).toBe(`${REG}/web:fail-pull`);
    controller.abort('SIGINT');
    const { r, logger } = await running;
    expect(r.result, logger.text()).toBe('rolled-back');
    expect(r.failure).toMatch(/cancelled \(SIGINT\) while its rollout was watched/);
    expect(Date.now() - t0).toBeLessThan(30_000); // not the 2 minutes of `timeout`
    await expect.poll(() => imageOf(ns), { timeout: 20_000 }).toBe(`${REG}/web:v1`);
    expect(rec.states.map((s) => s.state)).toEqual(['failure']);
    expect((await lease(ns)).holderIdentity).toBeUndefined();
  });

  it('cancelled while waiting for the lock: stops waiting, nothing changed', async () => {
    const { h, ns, file } = await runningV1();
    const t = new Date().toISOString().replace('Z', '000Z');
    await h.client.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: LOCK_NAME, namespace: ns },
      spec: { holderIdentity: 'other-run', leaseDurationSeconds: 60, acquireTime: t, renewTime: t },
    } as KubeObject);
    const controller = new AbortController();
    setTimeout(() => controller.abort('SIGTERM'), 500);
    const t0 = Date.now();
    const err = await h
      .deploy(
        {
          manifests: file,
          namespace: ns,
          images: `${REG}/web:v2`,
          'pin-digests': 'false',
          'lock-timeout': '1m',
        },
        { lock: { holder: 'run-2', pollMs: 100 }, signal: controller.signal },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as Error).message).toMatch(
      /^Cancelled \(SIGTERM\) while waiting for the deploy lock of namespace \S+ \(held by other-run\); nothing was changed\.$/,
    );
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await imageOf(ns)).toBe(`${REG}/web:v1`);
    expect((await lease(ns)).holderIdentity).toBe('other-run');
  });

  it('cancelled before it starts writing: nothing applied, no lock left held', async () => {
    const { h, ns, file } = await runningV1();
    const controller = new AbortController();
    controller.abort('SIGINT');
    const rec = recorder();
    const err = await h
      .deploy(
        { manifests: file, namespace: ns, images: `${REG}/web:v2`, 'pin-digests': 'false' },
        { lock: { holder: 'run-3' }, signal: controller.signal, recorder: rec.r },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as Error).message).toBe('Cancelled (SIGINT) before anything was changed.');
    expect(await imageOf(ns)).toBe(`${REG}/web:v1`);
    expect((await lease(ns)).holderIdentity).toBeUndefined();
    expect(rec.states).toEqual([]); // no GitHub Deployment was started
  });

  // Fake only: holding the apply's request until the cancel has arrived needs the fake's 'hold' fault.
  if (kind === 'fake')
    it('cancelled while the set is being applied: the apply is finished, then undone', async () => {
      const { h, ns, file } = await runningV1();
      const { fake } = target();
      const controller = new AbortController();
      let release!: () => void;
      fake!.faults.add({
        kind: 'hold',
        method: 'PATCH',
        pathIncludes: `/namespaces/${ns}/deployments/web`,
        dryRun: false,
        until: new Promise<void>((r) => (release = r)),
        onHold: () => {
          controller.abort('SIGINT');
          setTimeout(release, 100);
        },
      });
      const rec = recorder();
      const err = await h
        .deploy(
          { manifests: file, namespace: ns, images: `${REG}/web:v2`, 'pin-digests': 'false' },
          { lock: { holder: 'run-4' }, signal: controller.signal, recorder: rec.r },
        )
        .catch((e: unknown) => e);
      expect((err as Error).message).toMatch(
        /^Cancelled \(SIGINT\) while the set was applied: what was applied is undone\./,
      );
      expect((err as Error).message).toContain('as they were before this run');
      expect(await imageOf(ns)).toBe(`${REG}/web:v1`);
      expect(rec.states.map((s) => s.state)).toEqual(['failure']);
      expect((await lease(ns)).holderIdentity).toBeUndefined();
    });
});
