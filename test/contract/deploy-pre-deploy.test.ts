import { expect, it } from 'vitest';
import { PreDeployFailed } from '../../src/deploy/phases.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { onBothTargets } from '../helpers/targets.js';

/**
 * Issue 15 item 4: migrations first. Jobs annotated commit-to-cloud.dev/phase: pre-deploy are applied
 * and must complete before any other object is applied; a failing one stops the deploy with its pods'
 * logs and nothing else is applied. On the fake and on the genuine control plane (kwok runs the Job's
 * pods to success; an image named fail-job fails them).
 */
const REG = 'registry.example:5000/shop';

function migrate(
  image: string,
  annotations: Record<string, string> = { 'commit-to-cloud.dev/phase': 'pre-deploy' },
) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'migrate', annotations },
    spec: {
      backoffLimit: 0,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image }] } },
    },
  };
}
const config = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { A: '1' } };
const web = (image: string) => deploymentManifest('web', image, { replicas: 1 });

onBothTargets('pre-deploy Jobs (migrations first)', (target) => {
  const deploy = async (ns: string, objects: object[]) => {
    const { harness: h } = target();
    const file = await h.write(objects);
    return h.deploy({ manifests: file, namespace: ns, 'pin-digests': 'false', timeout: '60s' });
  };
  const jobImage = async (ns: string) =>
    (
      (await target().get('batch/v1', 'Job', ns, 'migrate')) as
        { spec: { template: { spec: { containers: { image: string }[] } } } } | undefined
    )?.spec.template.spec.containers[0]?.image;

  it('runs the Job to completion before anything else is applied; a re-run of the release does not run it again; a new release runs it again', async () => {
    const ns = await target().harness.namespace('pre');
    const first = await deploy(ns, [config, web(`${REG}/web:v1`), migrate(`${REG}/migrate:v1`)]);
    expect(first.r.result, first.logger.text()).toBe('success');
    const log = first.logger.text();
    const completed = log.indexOf('job "migrate" completed');
    expect(log.indexOf(`created Job/${ns}/migrate`)).toBeGreaterThan(-1);
    expect(completed).toBeGreaterThan(log.indexOf(`created Job/${ns}/migrate`));
    expect(log.indexOf(`created ConfigMap/${ns}/settings`)).toBeGreaterThan(completed);
    expect(log.indexOf(`created Deployment/${ns}/web`)).toBeGreaterThan(completed);
    expect(first.r.applied).toContain(`Job/${ns}/migrate`);
    expect(first.r.rows.find((x) => x.name === 'migrate')!.result).toBe('success');

    // The same release again: the completed Job is not run again.
    const again = await deploy(ns, [config, web(`${REG}/web:v1`), migrate(`${REG}/migrate:v1`)]);
    expect(again.r.result, again.logger.text()).toBe('success');
    expect(again.logger.text()).toContain(
      `Job/${ns}/migrate: completed already with this template: not run again`,
    );

    // A new release with a new migration: the old Job goes, the new one runs, then the rest.
    const next = await deploy(ns, [config, web(`${REG}/web:v2`), migrate(`${REG}/migrate:v2`)]);
    expect(next.r.result, next.logger.text()).toBe('success');
    const log2 = next.logger.text();
    expect(log2).toContain(
      `deleted Job/${ns}/migrate of an earlier run (its template changed), to run it again`,
    );
    expect(log2.indexOf(`configured Deployment/${ns}/web`)).toBeGreaterThan(
      log2.indexOf('job "migrate" completed'),
    );
    expect(await jobImage(ns)).toBe(`${REG}/migrate:v2`);
  });

  it('a failing Job stops the deploy with its pods, and nothing else is applied; the Job stays, in the namespace the run created', async () => {
    const ns = `pre-new-${Math.random().toString(36).slice(2, 8)}`;
    const { harness: h } = target();
    const file = await h.write([config, web(`${REG}/web:v1`), migrate(`${REG}/migrate:fail-job`)]);
    const err = await h
      .deploy({
        manifests: file,
        namespace: ns,
        'create-namespace': 'true',
        'pin-digests': 'false',
        timeout: '60s',
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PreDeployFailed);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^Pre-deploy Job failed: Job/${ns}/migrate \\(job "migrate" (failed|is failing).*Nothing else was applied; the Job stays for its logs`,
      ),
    );
    expect(await target().get('v1', 'ConfigMap', ns, 'settings')).toBeUndefined();
    expect(await target().get('apps/v1', 'Deployment', ns, 'web')).toBeUndefined();
    expect(await jobImage(ns)).toBe(`${REG}/migrate:fail-job`);
  });

  it('the phase annotation is checked with the manifests: only pre-deploy, only on Jobs', async () => {
    const ns = await target().harness.namespace('pre');
    const onDeployment = { ...web(`${REG}/web:v1`) } as ReturnType<typeof web> & {
      metadata: Record<string, unknown>;
    };
    onDeployment.metadata = {
      ...onDeployment.metadata,
      annotations: { 'commit-to-cloud.dev/phase': 'pre-deploy' },
    };
    await expect(deploy(ns, [onDeployment])).rejects.toThrow(
      /Deployment\/web: annotation commit-to-cloud\.dev\/phase: 'pre-deploy' is for Jobs \(batch\/v1\), not a Deployment/,
    );
    await expect(
      deploy(ns, [migrate(`${REG}/migrate:v1`, { 'commit-to-cloud.dev/phase': 'post-deploy' })]),
    ).rejects.toThrow(
      /Job\/migrate: annotation commit-to-cloud\.dev\/phase: 'post-deploy' is not a phase; the one phase is 'pre-deploy'/,
    );
    expect(await target().get('batch/v1', 'Job', ns, 'migrate')).toBeUndefined();
  });
});
