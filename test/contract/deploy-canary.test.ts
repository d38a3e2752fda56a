import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CanaryFailed } from '../../src/deploy/canary.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { onBothTargets } from '../helpers/targets.js';

/**
 * Issue 15 item 5: canary without a controller. The new template runs as `<name>-canary` beside the
 * stable Deployment; healthy, the stable one gets it and the canary goes; unhealthy, the canary goes
 * and the stable one is never touched; promote: manual stops with the canary running. On the fake and
 * on the genuine control plane; `canary-check` is a loopback server standing in for the Service.
 */
const REG = 'registry.example:5000/shop';
const web = (image: string) => deploymentManifest('web', image, { replicas: 2 });

let check: http.Server;
let checkUrl = '';
let checkStatus = 200;
const hits: number[] = [];
beforeAll(async () => {
  check = http.createServer((_req, res) => {
    hits.push(checkStatus);
    res.writeHead(checkStatus).end();
  });
  await new Promise<void>((r) => check.listen(0, '127.0.0.1', r));
  checkUrl = `http://127.0.0.1:${(check.address() as AddressInfo).port}/healthz`;
});
afterAll(() => new Promise<void>((r) => check.close(() => r())));

onBothTargets('canary', (target) => {
  type D = {
    metadata: { generation: number };
    spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
  };
  const get = async (ns: string, name: string) =>
    (await target().get('apps/v1', 'Deployment', ns, name)) as unknown as D | undefined;
  const imageOf = async (ns: string, name: string) =>
    (await get(ns, name))?.spec.template.spec.containers[0]!.image;
  const running = async () => {
    const { harness: h } = target();
    const ns = await h.namespace('cn');
    const file = await h.write([web(`${REG}/web:v1`)]);
    expect((await h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false' })).r.result).toBe(
      'success',
    );
    return { h, ns };
  };
  const canary = async (
    h: Awaited<ReturnType<typeof running>>['h'],
    ns: string,
    image: string,
    extra: Record<string, string> = {},
  ) =>
    h.deploy({
      manifests: await h.write([web(image)]),
      namespace: ns,
      'pin-digests': 'false',
      strategy: 'canary',
      'canary-replicas': '1',
      'canary-duration': '2s',
      'fail-fast-grace': '1s',
      timeout: '30s',
      ...extra,
    });

  it('healthy: the canary runs the new template first, then the Deployment gets it and the canary goes', async () => {
    const { h, ns } = await running();
    hits.length = 0;
    checkStatus = 200;
    const { r, logger } = await canary(h, ns, `${REG}/web:v2`, { 'canary-check': checkUrl });
    expect(r.result, logger.text()).toBe('success');
    expect(r.canary).toBe('promoted');
    const log = logger.text();
    expect(log).toContain(
      `created Deployment/${ns}/web-canary: 1 pod(s) of the new template of Deployment/${ns}/web`,
    );
    expect(log.indexOf('canary healthy for 2.0s')).toBeLessThan(
      log.indexOf(`configured Deployment/${ns}/web`),
    );
    expect(log).toContain(`removed the canary Deployment/${ns}/web-canary`);
    expect(hits.length).toBeGreaterThanOrEqual(1);
    expect(await imageOf(ns, 'web')).toBe(`${REG}/web:v2`);
    await expect.poll(() => get(ns, 'web-canary')).toBeUndefined();
  });

  it('unhealthy (its pods cannot pull): the canary goes, the Deployment is never touched, the step fails saying why', async () => {
    const { h, ns } = await running();
    const before = (await get(ns, 'web'))!.metadata.generation;
    const err = await canary(h, ns, `${REG}/web:fail-pull`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CanaryFailed);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^Canary failed: Deployment/${ns}/web-canary did not become ready .*(ErrImagePull|ImagePullBackOff).*the stable Deployment was not touched`,
      ),
    );
    expect(await imageOf(ns, 'web')).toBe(`${REG}/web:v1`);
    expect((await get(ns, 'web'))!.metadata.generation).toBe(before);
    await expect.poll(() => get(ns, 'web-canary')).toBeUndefined();
  });

  it('a canary-check that fails during the duration fails the canary', async () => {
    const { h, ns } = await running();
    checkStatus = 503;
    try {
      const err = await canary(h, ns, `${REG}/web:v2`, { 'canary-check': checkUrl }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CanaryFailed);
      expect((err as Error).message).toMatch(
        /^Canary check http:\/\/127\.0\.0\.1:\d+\/healthz answered HTTP 503: the canary is removed/,
      );
    } finally {
      checkStatus = 200;
    }
    expect(await imageOf(ns, 'web')).toBe(`${REG}/web:v1`);
    await expect.poll(() => get(ns, 'web-canary')).toBeUndefined();
  });

  it('a canary-check command must exit 0 each time (run without a shell, in the workspace)', async () => {
    const { h, ns } = await running();
    await writeFile(path.join(h.ws, 'ok.sh'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    await writeFile(path.join(h.ws, 'bad.sh'), '#!/bin/sh\necho "orders: db down" >&2\nexit 3\n', {
      mode: 0o755,
    });
    const good = await canary(h, ns, `${REG}/web:v2`, { 'canary-check': './ok.sh --canary' });
    expect(good.r.result, good.logger.text()).toBe('success');
    expect(good.logger.text()).toContain('`./ok.sh --canary` must exit 0');
    const err = await canary(h, ns, `${REG}/web:v3`, { 'canary-check': "./bad.sh 'quoted arg'" }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CanaryFailed);
    expect((err as Error).message).toMatch(
      /^Canary check `\.\/bad\.sh quoted arg` exited 3: orders: db down: the canary is removed/,
    );
    expect(await imageOf(ns, 'web')).toBe(`${REG}/web:v2`);
    await expect(canary(h, ns, `${REG}/web:v3`, { 'canary-check': "./ok.sh 'open" })).rejects.toThrow(
      /Input 'canary-check': '\.\/ok\.sh 'open' has an unclosed single quote/,
    );
  });

  it('promote: manual stops with the canary running; canary-promote finishes it; canary-abort removes one', async () => {
    const { h, ns } = await running();
    const manual = await canary(h, ns, `${REG}/web:v2`, { promote: 'manual' });
    expect(manual.r.result, manual.logger.text()).toBe('success');
    expect(manual.r.canary).toBe('healthy');
    expect(await imageOf(ns, 'web')).toBe(`${REG}/web:v1`);
    expect(await imageOf(ns, 'web-canary')).toBe(`${REG}/web:v2`);
    // Behind the same Service: the stable pods' labels, and a track label of its own.
    const c = (await target().get('apps/v1', 'Deployment', ns, 'web-canary')) as unknown as {
      spec: { replicas: number; template: { metadata: { labels: Record<string, string> } } };
    };
    expect(c.spec.replicas).toBe(1);
    expect(c.spec.template.metadata.labels).toEqual({ app: 'web', 'commit-to-cloud.dev/track': 'canary' });

    const file = await h.write([web(`${REG}/web:v2`)]);
    const promoted = await h.deploy({
      manifests: file,
      namespace: ns,
      'pin-digests': 'false',
      strategy: 'canary-promote',
    });
    expect(promoted.r.result, promoted.logger.text()).toBe('success');
    expect(promoted.r.canary).toBe('promoted');
    expect(await imageOf(ns, 'web')).toBe(`${REG}/web:v2`);
    await expect.poll(() => get(ns, 'web-canary')).toBeUndefined();

    await canary(h, ns, `${REG}/web:v3`, { promote: 'manual' });
    expect(await imageOf(ns, 'web-canary')).toBe(`${REG}/web:v3`);
    const aborted = await h.deploy({
      manifests: await h.write([web(`${REG}/web:v3`)]),
      namespace: ns,
      'pin-digests': 'false',
      strategy: 'canary-abort',
    });
    expect(aborted.r.canary).toBe('aborted');
    expect(await imageOf(ns, 'web')).toBe(`${REG}/web:v2`);
    await expect.poll(() => get(ns, 'web-canary')).toBeUndefined();
  });

  it('canary-percent: a share of the current replicas, rounded up; a share that is none is refused', async () => {
    const { h, ns } = await running(); // web runs 2 replicas
    const replicas = async () =>
      (
        (await target().get('apps/v1', 'Deployment', ns, 'web-canary')) as unknown as {
          spec: { replicas: number };
        }
      ).spec.replicas;
    const half = await canary(h, ns, `${REG}/web:v2`, { 'canary-percent': '50', promote: 'manual' });
    expect(half.r.canary, half.logger.text()).toBe('healthy');
    expect(await replicas()).toBe(1);
    const most = await canary(h, ns, `${REG}/web:v3`, { 'canary-percent': '60%', promote: 'manual' });
    expect(most.r.canary, most.logger.text()).toBe('healthy');
    expect(await replicas()).toBe(2); // 1.2 rounded up
    await expect(canary(h, ns, `${REG}/web:v3`, { 'canary-percent': '0' })).rejects.toThrow(
      /Input 'canary-percent': '0' is not a share from 1 to 100/,
    );
  });

  it('other kinds that would roll are refused, before anything changes', async () => {
    const { h, ns } = await running();
    const sts = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db',
        replicas: 1,
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: { containers: [{ name: 'db', image: `${REG}/db:v1` }] },
        },
      },
    };
    const file1 = await h.write([sts, web(`${REG}/web:v1`)]);
    expect((await h.deploy({ manifests: file1, namespace: ns, 'pin-digests': 'false' })).r.result).toBe(
      'success',
    );
    sts.spec.template.spec.containers[0]!.image = `${REG}/db:v2`;
    const file2 = await h.write([sts, web(`${REG}/web:v2`)]);
    await expect(
      h.deploy({ manifests: file2, namespace: ns, 'pin-digests': 'false', strategy: 'canary' }),
    ).rejects.toThrow(
      /^Input 'strategy': canary works for Deployments, and StatefulSet\/\S+\/db would roll too/,
    );
    expect(await imageOf(ns, 'web')).toBe(`${REG}/web:v1`);
  });
});
