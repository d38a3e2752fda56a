import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { deploymentManifest } from '../fixtures/workloads.js';
import { onBothTargets } from '../helpers/targets.js';

/**
 * The deploy engine against the Kubernetes fake and the genuine control plane, same cases (issue 7):
 * every workload kind with the real controllers, failures rolled back, a second field manager, an
 * HPA owning `replicas`.
 */
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const image = (o: Obj | undefined) => o?.spec?.template?.spec?.containers?.[0]?.image as string | undefined;
const statefulSet = (name: string, img: string, partition?: number) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name },
  spec: {
    replicas: 3,
    serviceName: name,
    selector: { matchLabels: { app: name } },
    ...(partition !== undefined
      ? { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition } } }
      : {}),
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: img }] } },
  },
});
const daemonSet = (name: string, img: string) => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: img }] } },
  },
});
const job = (name: string, img: string) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: {
    backoffLimit: 0,
    template: { spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: img }] } },
  },
});
const hpa = (name: string, target: string, min: number) => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
    minReplicas: min,
    maxReplicas: 5,
    metrics: [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
      },
    ],
  },
});

const REG = 'registry.example:5000/shop';
const quick = { 'pin-digests': 'false', timeout: '60s', 'rollback-timeout': '60s', 'fail-fast-grace': '2s' };

onBothTargets('deploy contract', (target) => {
  it('Deployments, StatefulSets (rolling and partitioned), DaemonSets and Jobs roll out with the controllers', async () => {
    const { harness: h, get } = target();
    const ns = await h.namespace('kinds');
    const file = await h.write([
      deploymentManifest('web', `${REG}/web:v1`),
      statefulSet('db', `${REG}/db:v1`),
      statefulSet('cache', `${REG}/cache:v1`, 2),
      daemonSet('agent', `${REG}/agent:v1`),
      job('migrate-1', `${REG}/migrate:v1`),
    ]);
    const first = await h.deploy({ manifests: file, namespace: ns, ...quick });
    expect(first.r.result, first.logger.text()).toBe('success');
    expect(Object.fromEntries(first.r.rows.map((r) => [r.name, r.result]))).toEqual({
      web: 'success',
      db: 'success',
      cache: 'success',
      agent: 'success',
      'migrate-1': 'success',
    });
    const next = await h.deploy({
      manifests: file,
      namespace: ns,
      ...quick,
      images: [`${REG}/web:v2`, `${REG}/db:v2`, `${REG}/cache:v2`, `${REG}/agent:v2`].join('\n'),
    });
    expect(next.r.result, next.logger.text()).toBe('success');
    expect(image(await get('apps/v1', 'StatefulSet', ns, 'db'))).toBe(`${REG}/db:v2`);
    // Partitioned: only the pods at or above the partition (1 of 3) were updated.
    expect(next.logger.text()).toMatch(/partitioned roll out complete: 1 new pods have been updated/);
    expect(image(await get('apps/v1', 'DaemonSet', ns, 'agent'))).toBe(`${REG}/agent:v2`);
  });

  it('a Job whose pod fails fails the deploy', async () => {
    const { harness: h } = target();
    const ns = await h.namespace('job');
    const file = await h.write([job('migrate', `${REG}/migrate:fail-job`)]);
    const { r, logger } = await h.deploy({ manifests: file, namespace: ns, ...quick });
    expect(r.result, logger.text()).toBe('failed');
    expect(r.failure).toMatch(/job "migrate" (failed|is failing)/);
  });

  for (const [marker, reason] of [
    ['fail-pull', /ErrImagePull|ImagePullBackOff/],
    ['crash-loop', /CrashLoopBackOff/],
  ] as const) {
    it(`${marker}: diagnosed, rolled back, verified; the next deploy has no field-manager conflict`, async () => {
      const { harness: h, get } = target();
      const ns = await h.namespace('rb');
      const file = await h.write([deploymentManifest('web', `${REG}/web:v1`)]);
      expect((await h.deploy({ manifests: file, namespace: ns, ...quick })).r.result).toBe('success');
      const bad = await h.deploy({
        manifests: file,
        namespace: ns,
        ...quick,
        images: `${REG}/web:${marker}`,
      });
      expect(bad.r.result, bad.logger.text()).toBe('rolled-back');
      expect(bad.r.failure).toMatch(reason);
      expect(bad.r.failure).toContain(`${REG}/web:${marker}`);
      await expect
        .poll(async () => image(await get('apps/v1', 'Deployment', ns, 'web')))
        .toBe(`${REG}/web:v1`);
      // After the rollback, the next deploy applies without a conflict and without force.
      const again = await h.deploy({ manifests: file, namespace: ns, ...quick, images: `${REG}/web:v3` });
      expect(again.r.result, again.logger.text()).toBe('success');
      expect(image(await get('apps/v1', 'Deployment', ns, 'web'))).toBe(`${REG}/web:v3`);
    });
  }

  it('a failed rollout puts back every object the run changed (ConfigMap, Service, HPA), names what it created', async () => {
    const { harness: h, get } = target();
    const ns = await h.namespace('every');
    const settings = (mode: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: { MODE: mode },
    });
    const service = (port: number) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ port, targetPort: 8080 }] },
    });
    const scaler = (max: number) => ({
      ...hpa('web', 'web', 1),
      spec: { ...hpa('web', 'web', 1).spec, maxReplicas: max },
    });
    const file = await h.write([
      settings('v1'),
      service(80),
      scaler(2),
      deploymentManifest('web', `${REG}/web:v1`, { replicas: 1 }),
    ]);
    const first = await h.deploy({ manifests: file, namespace: ns, ...quick });
    expect(first.r.result, first.logger.text()).toBe('success');
    await h.write(
      [
        settings('v2'),
        { ...settings('new'), metadata: { name: 'extra' } },
        service(81),
        scaler(3),
        deploymentManifest('web', `${REG}/web:fail-pull`, { replicas: 1 }),
      ],
      file,
    );
    const bad = await h.deploy({ manifests: file, namespace: ns, ...quick });
    const log = bad.logger.text();
    expect(bad.r.result, log).toBe('rolled-back');
    expect((await get('v1', 'ConfigMap', ns, 'settings'))?.data).toEqual({ MODE: 'v1' });
    expect(((await get('v1', 'Service', ns, 'web')) as Obj).spec.ports.map((p: Obj) => p.port)).toEqual([80]);
    expect(
      ((await get('autoscaling/v2', 'HorizontalPodAutoscaler', ns, 'web')) as Obj).spec.maxReplicas,
    ).toBe(2);
    await expect.poll(async () => image(await get('apps/v1', 'Deployment', ns, 'web'))).toBe(`${REG}/web:v1`);
    for (const k of [`ConfigMap/${ns}/settings`, `Service/${ns}/web`, `HorizontalPodAutoscaler/${ns}/web`])
      expect(bad.r.failure).toContain(k);
    expect(bad.r.failure).toContain(`Rolled back Deployment/${ns}/web`);
    expect(bad.r.failure).toContain('the previous version runs again');
    // What the run created is not the previous version: left in place, and said.
    expect(bad.r.failure).toContain(`Created by this run and left in place: ConfigMap/${ns}/extra`);
    expect(await get('v1', 'ConfigMap', ns, 'extra')).toBeDefined();
    // The next deploy of the good version applies without conflicts.
    await h.write(
      [settings('v1'), service(80), scaler(2), deploymentManifest('web', `${REG}/web:v1`, { replicas: 1 })],
      file,
    );
    const again = await h.deploy({ manifests: file, namespace: ns, ...quick });
    expect(again.r.result, again.logger.text()).toBe('success');
  });

  it('another field manager: a field only it sets is kept; a field both set conflicts, force-conflicts takes it', async () => {
    const { harness: h, get } = target();
    const ns = await h.namespace('mgr');
    const withEnv = deploymentManifest('web', `${REG}/web:v1`) as Obj;
    withEnv.spec.template.spec.containers[0].env = [{ name: 'MODE', value: 'a' }];
    const file = await h.write([withEnv]);
    expect((await h.deploy({ manifests: file, namespace: ns, ...quick })).r.result).toBe('success');
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' };
    // kubectl edit: an annotation of its own, and the value of MODE (a field the deploy sets).
    await h.client.patch(ref, { metadata: { annotations: { 'ops.example.com/owner': 'team-a' } } }, 'merge', {
      fieldManager: 'kubectl-edit',
    });
    await h.client.patch(
      ref,
      {
        spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'MODE', value: 'b' }] }] } } },
      },
      'strategic',
      { fieldManager: 'kubectl-edit' },
    );
    const conflicted = await h
      .deploy({ manifests: file, namespace: ns, ...quick, images: `${REG}/web:v2` })
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(conflicted?.message).toMatch(/conflict/i);
    expect(conflicted?.message).toMatch(/kubectl-edit/);
    expect(conflicted?.message).toMatch(/force-conflicts/);
    const forced = await h.deploy({
      manifests: file,
      namespace: ns,
      ...quick,
      images: `${REG}/web:v2`,
      'force-conflicts': 'true',
    });
    expect(forced.r.result, forced.logger.text()).toBe('success');
    const live = (await get('apps/v1', 'Deployment', ns, 'web')) as Obj;
    expect(live.spec.template.spec.containers[0].env).toEqual([{ name: 'MODE', value: 'a' }]);
    expect(live.metadata.annotations['ops.example.com/owner']).toBe('team-a');
  });

  it('an HPA owns replicas: the deploy leaves them out and does not fight it', async () => {
    const { harness: h, get } = target();
    const ns = await h.namespace('hpa');
    const file = await h.write([deploymentManifest('web', `${REG}/web:v1`, { replicas: 2 })]);
    expect((await h.deploy({ manifests: file, namespace: ns, ...quick })).r.result).toBe('success');
    await h.client.apply({ ...hpa('web', 'web', 3), metadata: { name: 'web', namespace: ns } } as never, {
      fieldManager: 'platform-team',
    });
    // The HPA controller scales the Deployment into its range (no metrics API needed for that).
    await expect
      .poll(async () => ((await get('apps/v1', 'Deployment', ns, 'web')) as Obj).spec.replicas, {
        timeout: 60_000,
      })
      .toBe(3);
    const { r, logger } = await h.deploy({
      manifests: file,
      namespace: ns,
      ...quick,
      images: `${REG}/web:v2`,
    });
    expect(r.result, logger.text()).toBe('success');
    expect(logger.text()).toMatch(/replicas left out, the HorizontalPodAutoscaler .*\/web sets them/);
    const live = (await get('apps/v1', 'Deployment', ns, 'web')) as Obj;
    expect(live.spec.replicas).toBe(3);
    expect(image(live)).toBe(`${REG}/web:v2`);
  });

  it('an HPA over a workload this field manager scaled: replicas are handed over, never reset', async () => {
    const { harness: h, get } = target();
    const ns = await h.namespace('hpa2');
    const file = await h.write([deploymentManifest('web', `${REG}/web:v1`, { replicas: 4 })]);
    expect((await h.deploy({ manifests: file, namespace: ns, ...quick })).r.result).toBe('success');
    // An HPA whose range holds 4: its controller writes nothing, the deploy still owns replicas.
    await h.client.apply({ ...hpa('web', 'web', 2), metadata: { name: 'web', namespace: ns } } as never, {
      fieldManager: 'platform-team',
    });
    const { r, logger } = await h.deploy({
      manifests: file,
      namespace: ns,
      ...quick,
      images: `${REG}/web:v2`,
    });
    expect(r.result, logger.text()).toBe('success');
    expect(logger.text()).toMatch(/replicas \(4\) handed over/);
    expect(((await get('apps/v1', 'Deployment', ns, 'web')) as Obj).spec.replicas).toBe(4);
  });

  it('a value of the wrong type (YAML 1.1 reads an unquoted `on` as true) is one clear error, not retried', async () => {
    const { harness: h } = target();
    const ns = await h.namespace('typed');
    const file = 'typed.yaml';
    await writeFile(
      path.join(h.ws, file),
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: web}',
        'spec:',
        '  selector: {matchLabels: {app: web}}',
        '  template:',
        '    metadata: {labels: {app: web}}',
        '    spec:',
        '      containers:',
        '        - name: app',
        `          image: ${REG}/web:v1`,
        '          env:',
        '            - {name: FEATURE, value: on}',
        '',
      ].join('\n'),
    );
    const t0 = Date.now();
    const err = await h.deploy({ manifests: file, namespace: ns, ...quick }).then(
      () => undefined,
      (e: Error & { problems?: Array<{ where?: { file: string; line?: number } }> }) => e,
    );
    expect(err?.message).toMatch(/env\[name="FEATURE"\]\.value: expected string/);
    expect(err?.message).toMatch(/nothing was applied/);
    expect(err?.problems?.[0]?.where).toEqual({ file, line: 1 });
    // Not retried as if the server were overloaded.
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});
