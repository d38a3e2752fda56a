import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { exec } from '../../src/core/exec.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { haveTools } from '../helpers/tools.js';

/**
 * The fake's fidelity, checked with the real kubectl: what these commands print and return is what
 * they print and return against a real cluster. kubectl runs as a child process (asynchronously:
 * the fake lives in this process).
 */
function deployment(
  name: string,
  image: string,
  extra: { replicas?: number; progressDeadlineSeconds?: number } = {},
): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: {app: ${name}}
spec:
  replicas: ${extra.replicas ?? 2}
${extra.progressDeadlineSeconds ? `  progressDeadlineSeconds: ${extra.progressDeadlineSeconds}\n` : ''}  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: app
        image: "${image}"
        ports: [{containerPort: 8080}]
`;
}

describe.skipIf(!haveTools('kubectl', 'openssl'))('kube fake with the real kubectl', () => {
  let fake: KubeFake;
  let dir: string;
  const kubectl = async (...args: string[]) =>
    exec('kubectl', ['--kubeconfig', fake.kubeconfigPath, ...args], {
      allowFailure: true,
      timeoutMs: 60_000,
    });
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  beforeAll(async () => {
    fake = await startKubeFake({ readyDelayMs: 200 });
    dir = mkdtempSync(path.join(os.tmpdir(), 'kube-kubectl-'));
  });
  afterAll(async () => {
    await fake?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves discovery and version over TLS with the test CA and a client certificate', async () => {
    const v = await kubectl('version', '-o', 'json');
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).serverVersion.gitVersion).toMatch(/^v1\.32/);
    const res = await kubectl('api-resources', '--api-group=apps', '-o', 'name');
    expect(res.stdout.split('\n')).toEqual(
      expect.arrayContaining([
        'deployments.apps',
        'replicasets.apps',
        'statefulsets.apps',
        'daemonsets.apps',
      ]),
    );
  });

  it('apply --server-side, then get -o yaml shows generation, status and managedFields as a cluster does', async () => {
    const a = await kubectl(
      'apply',
      '--server-side',
      '--validate=false',
      '-f',
      file('web.yaml', deployment('web', 'reg.example:5000/web:v1')),
    );
    expect(a.stderr).toBe('');
    expect(a.stdout.trim()).toBe('deployment.apps/web serverside-applied');
    const s = await kubectl('rollout', 'status', 'deploy/web', '--timeout=30s');
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('deployment "web" successfully rolled out');

    const g = await kubectl('get', 'deploy', 'web', '-o', 'yaml', '--show-managed-fields');
    const d = parseYaml(g.stdout);
    expect(d.metadata.generation).toBe(1);
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('1');
    expect(d.metadata.managedFields[0]).toMatchObject({
      manager: 'kubectl',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      fieldsType: 'FieldsV1',
    });
    expect(
      d.metadata.managedFields[0].fieldsV1['f:spec']['f:template']['f:spec']['f:containers'][
        'k:{"name":"app"}'
      ],
    ).toHaveProperty('f:image');
    expect(d.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
    });
    expect(d.spec.template.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
    expect(d.status).toMatchObject({
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
    });
    expect(d.status.conditions.find((c: { type: string }) => c.type === 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'NewReplicaSetAvailable',
    });
    // Without --show-managed-fields kubectl hides them, as with a real server.
    expect((await kubectl('get', 'deploy', 'web', '-o', 'yaml')).stdout).not.toContain('managedFields');

    const pods = JSON.parse((await kubectl('get', 'pods', '-l', 'app=web', '-o', 'json')).stdout);
    expect(pods.items).toHaveLength(2);
    expect(pods.items[0].status.phase).toBe('Running');
    expect(pods.items[0].metadata.ownerReferences[0].kind).toBe('ReplicaSet');

    // Re-applying the same manifest changes nothing: same generation, same resourceVersion.
    const rv = d.metadata.resourceVersion;
    await kubectl('apply', '--server-side', '--validate=false', '-f', path.join(dir, 'web.yaml'));
    const again = JSON.parse((await kubectl('get', 'deploy', 'web', '-o', 'json')).stdout);
    expect(again.metadata.generation).toBe(1);
    expect(again.metadata.resourceVersion).toBe(rv);
  });

  it('server-side apply by another manager conflicts, and --force-conflicts takes the field', async () => {
    const p = file('web-other.yaml', deployment('web', 'reg.example:5000/web:other'));
    const c = await kubectl(
      'apply',
      '--server-side',
      '--validate=false',
      '--field-manager=someone-else',
      '-f',
      p,
    );
    expect(c.code).not.toBe(0);
    expect(c.stderr).toContain('conflict with "kubectl"');
    expect(c.stderr).toContain('.spec.template.spec.containers[name="app"].image');
    const dry = await kubectl(
      'apply',
      '--server-side',
      '--validate=false',
      '--field-manager=someone-else',
      '--force-conflicts',
      '--dry-run=server',
      '-f',
      p,
    );
    expect(dry.code).toBe(0);
    expect(
      JSON.parse((await kubectl('get', 'deploy', 'web', '-o', 'json')).stdout).spec.template.spec
        .containers[0].image,
    ).toBe('reg.example:5000/web:v1');
  });

  it('rollout status fails with "exceeded its progress deadline" for a failing image, rollout undo restores the previous template', async () => {
    fake.failImage('reg.example:5000/web:v2', 'ImagePullBackOff');
    const a = await kubectl(
      'apply',
      '--server-side',
      '--validate=false',
      '-f',
      file('web2.yaml', deployment('web', 'reg.example:5000/web:v2', { progressDeadlineSeconds: 2 })),
    );
    expect(a.code).toBe(0);
    const s = await kubectl('rollout', 'status', 'deploy/web', '--timeout=30s');
    expect(s.code).toBe(1);
    expect(s.stderr).toContain('error: deployment "web" exceeded its progress deadline');

    const pods = JSON.parse((await kubectl('get', 'pods', '-l', 'app=web', '-o', 'json')).stdout);
    const waiting = pods.items.flatMap(
      (p: { status: { containerStatuses?: { state: { waiting?: { reason: string } } }[] } }) =>
        p.status.containerStatuses?.map((c) => c.state.waiting?.reason) ?? [],
    );
    expect(waiting).toContain('ImagePullBackOff');
    const ev = await kubectl('get', 'events', '--field-selector', 'reason=BackOff');
    expect(ev.code).toBe(0);
    expect(ev.stdout).toContain('Back-off pulling image "reg.example:5000/web:v2"');

    const u = await kubectl('rollout', 'undo', 'deploy/web');
    expect(u.code).toBe(0);
    expect(u.stdout.trim()).toBe('deployment.apps/web rolled back');
    const s2 = await kubectl('rollout', 'status', 'deploy/web', '--timeout=30s');
    expect(s2.code).toBe(0);
    const d = JSON.parse((await kubectl('get', 'deploy', 'web', '-o', 'json')).stdout);
    expect(d.spec.template.spec.containers[0].image).toBe('reg.example:5000/web:v1');
    // The old ReplicaSet is reused and becomes revision 3, as kubectl rollout history shows on a cluster.
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
    const rs = JSON.parse((await kubectl('get', 'rs', '-l', 'app=web', '-o', 'json')).stdout);
    expect(rs.items).toHaveLength(2);
    const undoAgain = await kubectl('rollout', 'undo', 'deploy/web', '--to-revision=3');
    expect(undoAgain.stdout).toContain('skipped rollback');
  });

  it('get events and get deploy print tables', async () => {
    const ev = await kubectl('get', 'events');
    expect(ev.stdout.split('\n')[0]).toMatch(/LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE/);
    expect(ev.stdout).toContain('ScalingReplicaSet');
    const d = await kubectl('get', 'deploy', 'web');
    expect(d.stdout).toMatch(/web\s+2\/2\s+2\s+2/);
  });

  it('a StatefulSet rolls out and rolls back through ControllerRevisions', async () => {
    const sts = (image: string) => `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "${image}"}]
`;
    expect(
      (await kubectl('apply', '--server-side', '--validate=false', '-f', file('db.yaml', sts('db:1')))).code,
    ).toBe(0);
    const s = await kubectl('rollout', 'status', 'sts/db', '--timeout=30s');
    // The server defaults rollingUpdate.partition to 0, so kubectl reports a partitioned roll out, as on a cluster.
    expect(s.stdout).toContain('partitioned roll out complete: 2 new pods have been updated');
    expect(
      (await kubectl('apply', '--server-side', '--validate=false', '-f', file('db2.yaml', sts('db:2')))).code,
    ).toBe(0);
    expect((await kubectl('rollout', 'status', 'sts/db', '--timeout=30s')).code).toBe(0);
    const u = await kubectl('rollout', 'undo', 'sts/db');
    expect(u.stdout.trim()).toBe('statefulset.apps/db rolled back');
    expect((await kubectl('rollout', 'status', 'sts/db', '--timeout=30s')).code).toBe(0);
    expect(
      JSON.parse((await kubectl('get', 'sts', 'db', '-o', 'json')).stdout).spec.template.spec.containers[0]
        .image,
    ).toBe('db:1');
  });

  it('a Job completes (kubectl wait) and a DaemonSet rolls out', async () => {
    const p = file(
      'job-ds.yaml',
      `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: "migrate:1"}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: a, image: "agent:1"}]
`,
    );
    expect((await kubectl('apply', '--server-side', '--validate=false', '-f', p)).stdout).toContain(
      'job.batch/migrate serverside-applied',
    );
    const w = await kubectl('wait', '--for=condition=complete', 'job/migrate', '--timeout=30s');
    expect(w.stdout.trim()).toBe('job.batch/migrate condition met');
    const s = await kubectl('rollout', 'status', 'ds/agent', '--timeout=30s');
    expect(s.stdout).toContain('daemon set "agent" successfully rolled out');
  });

  it('answers 403 like RBAC and 404 for a namespace that does not exist', async () => {
    fake.forbid({ verb: 'patch', resource: 'configmaps' });
    const cm = file('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: "1"}\n');
    const f = await kubectl('apply', '--server-side', '--validate=false', '-f', cm);
    expect(f.stderr).toContain(
      'configmaps "c" is forbidden: User "test-admin" cannot patch resource "configmaps" in API group "" in the namespace "default"',
    );
    fake.allowAll();
    const n = await kubectl('apply', '--server-side', '--validate=false', '-n', 'nope', '-f', cm);
    expect(n.stderr).toContain('namespaces "nope" not found');
  });
});
