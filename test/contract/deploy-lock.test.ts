import { expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { DeployLock, LOCK_NAME, LockTimeoutError } from '../../src/deploy/lock.js';
import type { KubeObject } from '../../src/kube/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { onBothTargets } from '../helpers/targets.js';

/**
 * Issue 15 item 3: the deploy lock, a Lease per target namespace held while a run writes and watches.
 * On the fake and on the genuine control plane (the fake's Lease is held to the real one's).
 */
const REG = 'registry.example:5000/shop';
const micro = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

onBothTargets('the deploy lock', (target) => {
  const lease = (ns: string) => target().get('coordination.k8s.io/v1', 'Lease', ns, LOCK_NAME);
  /** A Lease as another run left it: held by `holder`, renewed `agoMs` ago. */
  const heldBy = async (ns: string, holder: string, agoMs: number) => {
    const t = Date.now() - agoMs;
    await target().harness.client.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: LOCK_NAME, namespace: ns },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: 60,
        acquireTime: micro(t),
        renewTime: micro(t),
        leaseTransitions: 0,
      },
    } as KubeObject);
  };
  const spec = (l: KubeObject | undefined) =>
    (l?.spec ?? {}) as { holderIdentity?: string; leaseTransitions?: number; renewTime?: string };

  it('a deploy takes the lock of its namespace and releases it at the end', async () => {
    const { harness: h } = target();
    const ns = await h.namespace('lk');
    const file = await h.write([deploymentManifest('web', `${REG}/web:v1`, { replicas: 1 })]);
    const { r, logger } = await h.deploy(
      { manifests: file, namespace: ns, 'pin-digests': 'false' },
      { lock: { holder: 'https://github.com/acme/shop/actions/runs/1', detail: 'commit abc by dev' } },
    );
    expect(r.result, logger.text()).toBe('success');
    expect(logger.text()).toContain(
      `Deploy lock of namespace ${ns} taken (Lease ${LOCK_NAME}, holder https://github.com/acme/shop/actions/runs/1)`,
    );
    const l = await lease(ns);
    expect(l, 'the Lease stays, free').toBeDefined();
    expect(spec(l).holderIdentity).toBeUndefined();
    expect(l!.metadata.annotations?.['commit-to-cloud.dev/lock-detail']).toBe('commit abc by dev');
  });

  it('held by another run: waits lock-timeout, then fails naming the holder, having changed nothing', async () => {
    const { harness: h } = target();
    const ns = await h.namespace('lk');
    await heldBy(ns, 'https://github.com/acme/shop/actions/runs/7', 1_000);
    const file = await h.write([deploymentManifest('web', `${REG}/web:v1`, { replicas: 1 })]);
    const t0 = Date.now();
    const err = await h
      .deploy(
        { manifests: file, namespace: ns, 'pin-digests': 'false', 'lock-timeout': '2s' },
        { lock: { holder: 'laptop pid 1', pollMs: 200 } },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^Namespace '${ns}' is being deployed by https://github.com/acme/shop/actions/runs/7: waited 2\\.\\ds \\('lock-timeout'\\)`,
      ),
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_000);
    expect(await target().get('apps/v1', 'Deployment', ns, 'web')).toBeUndefined();
    expect(spec(await lease(ns)).holderIdentity).toBe('https://github.com/acme/shop/actions/runs/7');
  });

  it("a dead holder's expired lease is taken over, and the transition counted", async () => {
    const { harness: h } = target();
    const ns = await h.namespace('lk');
    await heldBy(ns, 'runner-that-died pid 9', 5 * 60_000);
    const file = await h.write([deploymentManifest('web', `${REG}/web:v1`, { replicas: 1 })]);
    const { r, logger } = await h.deploy(
      { manifests: file, namespace: ns, 'pin-digests': 'false', 'lock-timeout': '2s' },
      { lock: { holder: 'next-run' } },
    );
    expect(r.result, logger.text()).toBe('success');
    expect(logger.text()).toContain('taken over from runner-that-died pid 9, whose lease had expired');
    expect(spec(await lease(ns)).leaseTransitions).toBe(1);
  });

  it('a waiting deploy goes on as soon as the holder releases', async () => {
    const { harness: h } = target();
    const ns = await h.namespace('lk');
    const other = new DeployLock(h.client, { holder: 'other-run', timeoutMs: 5_000, logger: memoryLogger() });
    expect(await other.acquire(ns)).toBe(true);
    setTimeout(() => void other.release(), 1_500);
    const file = await h.write([deploymentManifest('web', `${REG}/web:v1`, { replicas: 1 })]);
    const t0 = Date.now();
    const { r, logger } = await h.deploy(
      { manifests: file, namespace: ns, 'pin-digests': 'false', 'lock-timeout': '30s' },
      { lock: { holder: 'this-run', pollMs: 200 } },
    );
    expect(r.result, logger.text()).toBe('success');
    expect(logger.text()).toContain(
      `Namespace ${ns} is being deployed by other-run: waiting for its deploy lock`,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_400);
  });

  it('held, the lease is renewed: a short lease does not expire under its holder; once released it is free', async () => {
    const { harness: h } = target();
    const ns = await h.namespace('lk');
    const a = new DeployLock(h.client, {
      holder: 'a',
      timeoutMs: 1_000,
      leaseSeconds: 1,
      logger: memoryLogger(),
    });
    await a.acquire(ns);
    const first = spec(await lease(ns)).renewTime!;
    // Twice the lease's duration: without renewals it would have expired.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(Date.parse(spec(await lease(ns)).renewTime!)).toBeGreaterThan(Date.parse(first));
    const b = new DeployLock(h.client, { holder: 'b', timeoutMs: 500, pollMs: 100, logger: memoryLogger() });
    await expect(b.acquire(ns)).rejects.toThrow(/is being deployed by a/);
    await a.release();
    expect(await b.acquire(ns)).toBe(true);
    await b.release();
  });

  it('locks racing for a free namespace: exactly one holds it (no Lease yet: the create; a free Lease: the compare-and-swap)', async () => {
    const { harness: h } = target();
    const ns = await h.namespace('lk');
    for (const round of ['no Lease yet', 'a released Lease']) {
      const holders = ['x', 'y', 'z'];
      const locks = holders.map(
        (holder) => new DeployLock(h.client, { holder, timeoutMs: 300, pollMs: 50, logger: memoryLogger() }),
      );
      const results = await Promise.allSettled(locks.map((l) => l.acquire(ns)));
      expect(
        results.filter((x) => x.status === 'fulfilled'),
        round,
      ).toHaveLength(1);
      expect(
        results.filter((x) => x.status === 'rejected'),
        round,
      ).toHaveLength(2);
      const winner = results.findIndex((x) => x.status === 'fulfilled');
      expect(spec(await lease(ns)).holderIdentity, round).toBe(holders[winner]);
      await Promise.all(locks.map((l) => l.release()));
      expect(spec(await lease(ns)).holderIdentity, round).toBeUndefined();
    }
  });

  it('no lock without a holder in the context (feature environments), and none in a dry run', async () => {
    const { harness: h } = target();
    const ns = await h.namespace('lk');
    const file = await h.write([deploymentManifest('web', `${REG}/web:v1`, { replicas: 1 })]);
    expect((await h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' })).r.result).toBe(
      'success',
    );
    const dry = await h.deploy(
      { manifests: file, namespace: ns, 'pin-digests': 'false', 'dry-run': 'true' },
      { lock: { holder: 'dry' } },
    );
    expect(dry.r.result).toBe('dry-run');
    expect(await lease(ns)).toBeUndefined();
  });
});
