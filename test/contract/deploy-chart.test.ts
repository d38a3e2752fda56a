import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, loadKubeconfig } from '../../src/kube/index.js';
import { nullLogger } from '../../src/core/logger.js';
import { goTool } from '../helpers/go-tool.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { onBothTargets } from '../helpers/targets.js';
import { haveTools } from '../helpers/tools.js';
import { ROOT } from '../e2e/runner.js';

/**
 * Issue 15 item 1: Helm charts, rendered with the real helm (`helm template`, the cluster's version
 * and API versions passed) and deployed by the suite's own pipeline. The chart of
 * test/fixtures/charts/shop: a Deployment and a Service, a pre-install/pre-upgrade migration Job, a
 * test hook Pod; its labels say which cluster it was rendered for.
 */
const helm = goTool('helm', 'The chart tests');
const CHARTS = path.join(ROOT, 'test/fixtures/charts');
const REG = 'registry.example:5000/shop';

describe.skipIf(!helm.have())('charts (helm)', () => {
  const savedPath = process.env.PATH;
  let bin: string;
  beforeAll(() => {
    bin = helm.ensure();
    // The engine finds helm on PATH, as on a runner.
    process.env.PATH = `${path.dirname(bin)}${path.delimiter}${savedPath}`;
  }, 600_000);
  afterAll(() => {
    process.env.PATH = savedPath;
  });

  onBothTargets('a Helm chart deployed', (target) => {
    const minorOf = async () => {
      const client = new KubeClient(await loadKubeconfig({ content: target().kubeconfig }, nullLogger), {
        logger: nullLogger,
      });
      return String(Number((await client.version()).minor));
    };
    const chartInputs = (ns: string, extra: Record<string, string> = {}) => ({
      chart: path.join(CHARTS, 'shop'),
      namespace: ns,
      'pin-digests': 'false',
      timeout: '60s',
      ...extra,
    });

    it('renders for the cluster, runs the pre-install hook Job first, leaves the test hook out, substitutes images', async () => {
      const { harness: h } = target();
      const ns = await h.namespace('ch');
      const values = await h.write([{ replicaCount: 2 }], 'values-prod.yaml');
      const { r, logger } = await h.deploy(
        chartInputs(ns, {
          values,
          set: 'image.tag=v1\nmigrate=true',
          'release-name': 'store',
          images: `${REG}/web:v2`,
        }),
      );
      expect(r.result, logger.text()).toBe('success');
      const d = (await target().get('apps/v1', 'Deployment', ns, 'store-web')) as unknown as {
        metadata: { labels: Record<string, string> };
        spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
      };
      expect(d.spec.replicas).toBe(2);
      expect(d.spec.template.spec.containers[0]!.image).toBe(`${REG}/web:v2`);
      expect(d.metadata.labels['kube-minor']).toBe(await minorOf());
      expect(d.metadata.labels['has-leases']).toBe('true');
      expect(await target().get('v1', 'Service', ns, 'store-web')).toBeDefined();
      expect(await target().get('v1', 'Pod', ns, 'store-test-connection')).toBeUndefined();
      const log = logger.text();
      expect(log).toContain('1 test hook(s) left out, as helm install does');
      const jobDone = log.indexOf('job "store-migrate" completed');
      expect(jobDone).toBeGreaterThan(-1);
      expect(log.indexOf(`created Deployment/${ns}/store-web`)).toBeGreaterThan(jobDone);
      const job = (await target().get('batch/v1', 'Job', ns, 'store-migrate')) as unknown as {
        metadata: { annotations: Record<string, string> };
      };
      expect(job.metadata.annotations['commit-to-cloud.dev/phase']).toBe('pre-deploy');
      expect(job.metadata.annotations['helm.sh/hook']).toBeUndefined();
      // No Helm release state: no release Secret in the namespace.
      const secrets = await target().harness.client.list('v1', 'Secret', { namespace: ns });
      expect(secrets.items.filter((s) => s.metadata.name?.startsWith('sh.helm.release'))).toEqual([]);
    });

    it('a chart with a hook that would not run is refused before anything is applied', async () => {
      const { harness: h } = target();
      const ns = await h.namespace('ch');
      await expect(h.deploy(chartInputs(ns, { chart: path.join(CHARTS, 'post-hook') }))).rejects.toThrow(
        /Job\/notify: Helm hook 'post-install' is not supported: only pre-install and pre-upgrade Jobs run/,
      );
      expect(await target().get('v1', 'ConfigMap', ns, 'settings')).toBeUndefined();
    });

    it('bad chart inputs: one error each, before anything', async () => {
      const { harness: h } = target();
      const ns = await h.namespace('ch');
      await expect(h.deploy(chartInputs(ns, { chart: path.join(CHARTS, 'missing') }))).rejects.toThrow(
        /Input 'chart': '.*missing' is not a chart directory \(no Chart\.yaml in it\)/,
      );
      await expect(h.deploy(chartInputs(ns, { set: 'replicaCount' }))).rejects.toThrow(
        /Input 'set': 'replicaCount' is not key=value/,
      );
      await expect(h.deploy(chartInputs(ns, { values: 'nope.yaml' }))).rejects.toThrow(
        /Input 'values': 'nope.yaml' does not exist in the workspace/,
      );
      await expect(h.deploy({ namespace: ns, values: 'x.yaml' })).rejects.toThrow(
        /Input 'values': is set, but 'chart' is empty/,
      );
      await expect(h.deploy({ namespace: ns })).rejects.toThrow(
        /Input 'manifests': no file, directory or glob given, and no 'chart'/,
      );
    });
  });

  // An OCI chart from the real registry: `helm package` and `helm push`, then deployed by reference.
  describe.skipIf(!haveTools('docker-registry'))('an OCI chart', () => {
    let reg: RegistryServer;
    let work: string;
    beforeAll(async () => {
      reg = await startRegistry();
      work = await mkdtemp(path.join(os.tmpdir(), 'c2c-chart-'));
      execFileSync(bin, ['package', path.join(CHARTS, 'shop'), '--destination', work]);
      execFileSync(
        bin,
        ['push', path.join(work, 'shop-0.1.0.tgz'), `oci://${reg.host}/charts`, '--plain-http'],
        {
          env: { ...process.env, HELM_REGISTRY_CONFIG: path.join(work, 'registry.json') },
        },
      );
    });
    afterAll(async () => {
      await reg?.stop();
      if (work) await rm(work, { recursive: true, force: true });
    });

    onBothTargets('deployed by its oci:// reference', (target) => {
      it('chart oci://…/shop, chart-version 0.1.0', async () => {
        const { harness: h } = target();
        const ns = await h.namespace('oci');
        const { r, logger } = await h.deploy({
          chart: `oci://${reg.host}/charts/shop`,
          'chart-version': '0.1.0',
          set: 'migrate=false',
          namespace: ns,
          'pin-digests': 'false',
        });
        expect(r.result, logger.text()).toBe('success');
        expect(r.applied).toEqual([`Service/${ns}/shop-web`, `Deployment/${ns}/shop-web`]);
        expect(logger.text()).toContain(
          `Rendering chart oci://${reg.host}/charts/shop 0.1.0 as release shop`,
        );
      });
    });
  });
});
