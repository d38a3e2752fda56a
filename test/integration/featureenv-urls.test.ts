import { describe, expect, it } from 'vitest';
import { A_URL } from '../../src/featureenv/state.js';
import { deploymentManifest, ingressManifest, serviceManifest } from '../fixtures/workloads.js';
import { runFe, useFeatureEnvStage } from '../helpers/feature-env.js';

/**
 * Issue 16 item 5 (its last part) on the Kubernetes fake and the GitHub fake: an environment whose
 * entry point is a Service of type LoadBalancer and no Ingress still gets a URL (an Ingress made
 * for it with `domain`; else the load balancer's address once assigned), and a warm spare carries no
 * Ingress until a pull request claims it and gives it its hosts.
 */
const loadBalancer = (name: string, port: number) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: {
    type: 'LoadBalancer',
    selector: { app: name },
    ports: [{ port, targetPort: 8080 }],
    loadBalancerSourceRanges: ['10.0.0.0/8'],
  },
});

describe('feature environments: a LoadBalancer Service and no Ingress still gets a URL', () => {
  const stage = useFeatureEnvStage({
    from: 1700,
    objects: [deploymentManifest('shop', 'registry.example:5000/shop/shop:main'), loadBalancer('shop', 8080)],
  });
  const inputs = (domain: string) => ({
    manifests: 'k8s/',
    'pin-digests': 'false',
    timeout: '20s',
    domain,
    kubeconfig: stage.kube.kubeconfig,
  });

  it('with a domain: an Ingress for it under the host template, the Service made ClusterIP (no load balancer per environment)', async () => {
    const p = stage.pr();
    const { r, logger } = await runFe(stage.gh, p.ev, inputs('preview.example.com'), { workspace: stage.ws });
    expect(r.status, logger.text()).toBe('up');
    expect(r.url).toBe(`http://shop-pr-${p.number}.preview.example.com`);
    const ing = stage.kube.get('networking.k8s.io/v1', 'Ingress', r.namespace, 'shop')!;
    expect(ing.spec.rules).toEqual([
      {
        host: `shop-pr-${p.number}.preview.example.com`,
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 8080 } } } },
          ],
        },
      },
    ]);
    const svc = stage.kube.get('v1', 'Service', r.namespace, 'shop')!;
    expect(svc.spec.type).toBe('ClusterIP');
    expect(svc.spec.loadBalancerSourceRanges).toBeUndefined();
    expect(stage.gh.comments.find((c) => c.issue === p.number)!.body).toContain(
      `http://shop-pr-${p.number}.preview.example.com`,
    );
  });

  it("without a domain: the load balancer's address once the cloud's controller assigned it", async () => {
    const p = stage.pr();
    // The cloud's load balancer controller, as it does: the address some moments after the Service.
    let stop = false;
    const controller = (async () => {
      while (!stop) {
        for (const svc of stage.kube.list('v1', 'Service'))
          if (
            svc.spec?.type === 'LoadBalancer' &&
            !svc.status?.loadBalancer?.ingress &&
            svc.metadata.namespace?.includes(`pr-${p.number}`)
          ) {
            await new Promise((res) => setTimeout(res, 300));
            stage.kube.put({
              ...svc,
              status: {
                loadBalancer: { ingress: [{ hostname: 'k8s-shop-0123456789.elb.eu-west-1.amazonaws.com' }] },
              },
            });
          }
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    try {
      const { r, logger } = await runFe(stage.gh, p.ev, inputs(''), { workspace: stage.ws });
      expect(r.status, logger.text()).toBe('up');
      expect(r.url).toBe('http://k8s-shop-0123456789.elb.eu-west-1.amazonaws.com:8080');
      expect(stage.kube.list('networking.k8s.io/v1', 'Ingress', r.namespace)).toEqual([]);
      expect(stage.kube.get('v1', 'Namespace', undefined, r.namespace)!.metadata.annotations![A_URL]).toBe(
        r.url,
      );
      expect(stage.gh.comments.find((c) => c.issue === p.number)!.body).toContain(
        '| shop | [http://k8s-shop-0123456789.elb.eu-west-1.amazonaws.com:8080]',
      );
    } finally {
      stop = true;
      await controller;
    }
  });

  it('without a domain and no address within the timeout: no URL, and a warning that says to set domain', async () => {
    const p = stage.pr();
    const { r, logger } = await runFe(
      stage.gh,
      p.ev,
      { ...inputs(''), timeout: '2s' },
      { workspace: stage.ws },
    );
    expect(r.status, logger.text()).toBe('up');
    expect(r.url).toBe('');
    expect(logger.text()).toMatch(
      /Service \S+\/shop \(LoadBalancer\) has no address after 2s: no URL for it\. Set 'domain'/,
    );
  });
});

describe('feature environments: a spare has no Ingress until claimed', () => {
  const stage = useFeatureEnvStage({
    from: 1750,
    objects: [
      deploymentManifest('web', 'registry.example:5000/shop/web:main'),
      serviceManifest('web'),
      ingressManifest('web'),
    ],
  });
  const inputs = () => ({
    manifests: 'k8s/',
    'pin-digests': 'false',
    timeout: '20s',
    domain: 'preview.example.com',
    'warm-pool': '1',
    kubeconfig: stage.kube.kubeconfig,
  });

  it("the spare runs the services without an Ingress; the claim gives it the pull request's hosts", async () => {
    const refill = await runFe(stage.gh, { name: 'schedule' }, inputs(), { workspace: stage.ws });
    expect(refill.r.status, refill.logger.text()).toBe('reaped');
    const spare = stage.kube
      .list('v1', 'Namespace')
      .find((ns) => ns.metadata.labels?.['commit-to-cloud.dev/fe-state'] === 'spare')!;
    const name = String(spare.metadata.name);
    expect(stage.kube.get('apps/v1', 'Deployment', name, 'web')).toBeDefined();
    expect(stage.kube.list('networking.k8s.io/v1', 'Ingress', name)).toEqual([]);

    const p = stage.pr();
    const { r, logger } = await runFe(stage.gh, p.ev, inputs(), { workspace: stage.ws });
    expect(r.status, logger.text()).toBe('up');
    expect(r.namespace).toBe(name);
    expect(stage.kube.get('networking.k8s.io/v1', 'Ingress', name, 'web')!.spec.rules[0].host).toBe(
      `web-pr-${p.number}.preview.example.com`,
    );
  });
});
