import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentManifest, ingressManifest, serviceManifest } from '../fixtures/workloads.js';
import { runFe, useFeatureEnvStage } from '../helpers/feature-env.js';

/**
 * Issue 16 item 6 on the Kubernetes fake and the GitHub fake: with `ready-probe`, ready means the
 * first URL answers 2xx, asked through the address a stand-in ingress controller gives the Ingress
 * (a loopback HTTP server plays the controller's listener: kwok and the fake run no container);
 * ready-seconds counts from the event's time in the payload; the scheduled run's summary gives p50
 * and p90 of the recent environments.
 */
describe('feature environments: ready means usable (ready-probe)', () => {
  const stage = useFeatureEnvStage({
    from: 1800,
    objects: [
      deploymentManifest('web', 'registry.example:5000/shop/web:main'),
      serviceManifest('web'),
      ingressManifest('web'),
    ],
  });
  /** What the "controller" was asked: host and path; it answers 503 `failFirst` times, then 200. */
  const seen: Array<{ host?: string; path?: string }> = [];
  let failFirst = 0;
  let server: http.Server;
  let port = 0;
  let stop = false;
  let controller: Promise<void>;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push({ host: req.headers.host, path: req.url });
      if (failFirst-- > 0 || req.url !== '/healthz') res.writeHead(503).end('starting');
      else res.writeHead(200).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    // The ingress controller: an address for every Ingress, a moment after it appears.
    controller = (async () => {
      while (!stop) {
        for (const ing of stage.kube?.list('networking.k8s.io/v1', 'Ingress') ?? [])
          if (!ing.status?.loadBalancer?.ingress) {
            await new Promise((r) => setTimeout(r, 200));
            stage.kube.put({
              ...ing,
              status: {
                loadBalancer: { ingress: [{ ip: '127.0.0.1', ports: [{ port, protocol: 'TCP' }] }] },
              },
            });
          }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  });
  afterAll(async () => {
    stop = true;
    await controller;
    await new Promise((r) => server.close(r));
  });
  const inputs = (probe = '/healthz') => ({
    manifests: 'k8s/',
    'pin-digests': 'false',
    timeout: '5s',
    domain: 'preview.example.com',
    'ready-probe': probe,
    kubeconfig: stage.kube.kubeconfig,
  });

  it('ready once the URL answers 2xx through the Ingress address (its host sent); ready-seconds from the label event', async () => {
    failFirst = 2;
    seen.length = 0;
    const p = stage.pr();
    const labelledAt = new Date(Date.now() - 30_000).toISOString();
    const { r, logger } = await runFe(stage.gh, { ...p.ev, at: labelledAt }, inputs(), {
      workspace: stage.ws,
    });
    expect(r.status, logger.text()).toBe('up');
    expect(r.failure).toBeUndefined();
    const host = `web-pr-${p.number}.preview.example.com`;
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.every((q) => q.host === host && q.path === '/healthz')).toBe(true);
    expect(logger.text()).toMatch(
      new RegExp(
        `ready-probe: GET http://${host}/healthz answered 200 \\(${host} at 127\\.0\\.0\\.1:${port}\\)`,
      ),
    );
    // From the label, 30 s before the step began.
    expect(Number(r.readySeconds)).toBeGreaterThanOrEqual(30);
    expect(Number(r.readySeconds)).toBeLessThan(60);
  });

  it('a URL that never answers 2xx: not ready, the failure and the comment say so, the Deployment status is failure', async () => {
    seen.length = 0;
    const p = stage.pr();
    const { r, logger } = await runFe(stage.gh, p.ev, inputs('/nowhere'), { workspace: stage.ws });
    expect(r.failure, logger.text()).toMatch(
      /ready-probe: http:\/\/web-pr-\d+\.preview\.example\.com\/nowhere did not answer 2xx within 5\.0s: GET .* answered 503/,
    );
    expect(stage.gh.comments.find((c) => c.issue === p.number)!.body).toContain('the deploy failed');
    const deployment = stage.gh.deployments
      .filter((d) => d.environment === `feature-env/pr-${p.number}`)
      .at(-1)!;
    expect(deployment.statuses.at(-1)!.state).toBe('failure');
  });

  it("the scheduled run's summary: p50 and p90 of the recent environments' time to ready", async () => {
    const reap = await runFe(stage.gh, { name: 'schedule' }, inputs(), { workspace: stage.ws });
    expect(reap.r.readyStats, reap.logger.text()).toMatchObject({ count: 1 });
    expect(reap.r.readyStats!.p50).toBeGreaterThanOrEqual(30);
    expect(reap.r.summary).toMatch(
      /\| From the label to ready \| p50 [\d.]+ s, p90 [\d.]+ s, over the last 1 new environment\(s\)/,
    );
  });
});
