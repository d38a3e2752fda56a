import { describe, expect, it } from 'vitest';
import { daemonSetStatus } from '../../src/deploy/kinds/daemonset.js';
import { deploymentStatus } from '../../src/deploy/kinds/deployment.js';
import { jobStatus } from '../../src/deploy/kinds/job.js';
import { statefulSetStatus } from '../../src/deploy/kinds/statefulset.js';
import {
  WATCHED_KINDS,
  adapterOf,
  isWatchedKind,
  podTemplateOf,
  rank,
  rolloutStatus,
} from '../../src/deploy/kinds/index.js';

/**
 * The cases of kubectl's own tests (staging/src/k8s.io/kubectl/pkg/polymorphichelpers/
 * rollout_status_test.go), same inputs, same messages (without kubectl's trailing newline).
 */

function deployment(generation: number, specReplicas: number, status: Record<string, unknown>) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace: 'bar', name: 'foo', generation },
    spec: { replicas: specReplicas },
    status,
  };
}

describe('deploymentStatus (kubectl TestDeploymentStatusViewerStatus)', () => {
  it.each([
    [
      0,
      1,
      { observedGeneration: 1, replicas: 1, updatedReplicas: 0, availableReplicas: 1 },
      'Waiting for deployment "foo" rollout to finish: 0 out of 1 new replicas have been updated...',
      false,
    ],
    [
      1,
      1,
      { observedGeneration: 1, replicas: 2, updatedReplicas: 1, availableReplicas: 2 },
      'Waiting for deployment "foo" rollout to finish: 1 old replicas are pending termination...',
      false,
    ],
    [
      1,
      2,
      {
        observedGeneration: 1,
        replicas: 2,
        updatedReplicas: 2,
        availableReplicas: 1,
        unavailableReplicas: 1,
      },
      'Waiting for deployment "foo" rollout to finish: 1 of 2 updated replicas are available...',
      false,
    ],
    [
      1,
      2,
      { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 },
      'deployment "foo" successfully rolled out',
      true,
    ],
    [
      2,
      2,
      { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 },
      'Waiting for deployment spec update to be observed...',
      false,
    ],
  ])('generation %i, %i replicas, %o', (generation, replicas, status, message, done) => {
    expect(deploymentStatus(deployment(generation, replicas, status))).toEqual({
      done,
      failed: false,
      message,
    });
  });

  it('fails on ProgressDeadlineExceeded once the generation is observed', () => {
    const status = {
      observedGeneration: 3,
      replicas: 2,
      updatedReplicas: 1,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' },
      ],
    };
    expect(deploymentStatus(deployment(3, 2, status))).toEqual({
      done: false,
      failed: true,
      message: 'deployment "foo" exceeded its progress deadline',
    });
    // a newer generation not yet observed is still waiting, not failed (the condition is stale)
    expect(deploymentStatus(deployment(4, 2, status)).failed).toBe(false);
  });

  it('appends the first stuck pod as a warning when pods are given (newer kubectl)', () => {
    const pods = [
      { status: { containerStatuses: [{ name: 'a', state: { running: {} } }] } },
      {
        status: {
          containerStatuses: [
            {
              name: 'a',
              state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "x:9"' } },
            },
          ],
        },
      },
    ];
    const s = deploymentStatus(deployment(1, 1, { observedGeneration: 1, replicas: 1, updatedReplicas: 1 }), {
      pods,
    });
    expect(s.message).toBe(
      'Waiting for deployment "foo" rollout to finish: 0 of 1 updated replicas are available... (Warning: ImagePullBackOff - Back-off pulling image "x:9")',
    );
    const unschedulable = [
      {
        status: {
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/3 nodes are available',
            },
          ],
        },
      },
    ];
    expect(
      deploymentStatus(deployment(1, 1, { observedGeneration: 1 }), { pods: unschedulable }).message,
    ).toMatch(/\(Warning: 0\/3 nodes are available\)$/);
  });
});

function daemonSet(generation: number, status: Record<string, unknown>, type = 'RollingUpdate') {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { namespace: 'bar', name: 'foo', generation },
    spec: { updateStrategy: { type } },
    status,
  };
}

describe('daemonSetStatus (kubectl TestDaemonSetStatusViewerStatus)', () => {
  it.each([
    [
      0,
      { observedGeneration: 1, updatedNumberScheduled: 0, desiredNumberScheduled: 1, numberAvailable: 0 },
      'Waiting for daemon set "foo" rollout to finish: 0 out of 1 new pods have been updated...',
      false,
    ],
    [
      1,
      { observedGeneration: 1, updatedNumberScheduled: 2, desiredNumberScheduled: 2, numberAvailable: 1 },
      'Waiting for daemon set "foo" rollout to finish: 1 of 2 updated pods are available...',
      false,
    ],
    [
      1,
      { observedGeneration: 1, updatedNumberScheduled: 2, desiredNumberScheduled: 2, numberAvailable: 2 },
      'daemon set "foo" successfully rolled out',
      true,
    ],
    [
      2,
      { observedGeneration: 1, updatedNumberScheduled: 2, desiredNumberScheduled: 2, numberAvailable: 2 },
      'Waiting for daemon set spec update to be observed...',
      false,
    ],
  ])('generation %i, %o', (generation, status, message, done) => {
    expect(daemonSetStatus(daemonSet(generation, status))).toEqual({ done, failed: false, message });
  });

  it('cannot watch OnDelete (kubectl: "only available for RollingUpdate strategy type"): done, unsupported', () => {
    const s = daemonSetStatus(daemonSet(1, {}, 'OnDelete'));
    expect(s).toMatchObject({ done: true, failed: false, unsupported: true });
    expect(s.message).toContain('rollout status is only available for RollingUpdate strategy type');
  });
});

function statefulSet(generation: number, strategy: Record<string, unknown>, status: Record<string, unknown>) {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { namespace: 'default', name: 'foo', generation },
    spec: { replicas: 3, updateStrategy: strategy },
    status,
  };
}

describe('statefulSetStatus (kubectl TestStatefulSetStatusViewerStatus)', () => {
  it('on delete cannot be watched', () => {
    const s = statefulSetStatus(
      statefulSet(1, { type: 'OnDelete' }, { observedGeneration: 1, replicas: 0, readyReplicas: 1 }),
    );
    expect(s).toMatchObject({ done: true, failed: false, unsupported: true });
  });

  it.each([
    [
      'unobserved update is not complete',
      2,
      { type: 'RollingUpdate' },
      { observedGeneration: 1, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 0 },
      'Waiting for statefulset spec update to be observed...',
      false,
    ],
    [
      'if all pods are not ready the update is not complete',
      1,
      { type: 'RollingUpdate' },
      { observedGeneration: 2, replicas: 3, readyReplicas: 2, currentReplicas: 3, updatedReplicas: 0 },
      'Waiting for 1 pods to be ready...',
      false,
    ],
    [
      'partition update completes when all replicas above the partition are updated',
      1,
      { type: 'RollingUpdate', rollingUpdate: { partition: 2 } },
      { observedGeneration: 2, replicas: 3, readyReplicas: 3, currentReplicas: 2, updatedReplicas: 1 },
      'partitioned roll out complete: 1 new pods have been updated...',
      true,
    ],
    [
      'partition update is in progress if all pods above the partition have not been updated',
      1,
      { type: 'RollingUpdate', rollingUpdate: { partition: 2 } },
      { observedGeneration: 2, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 0 },
      'Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...',
      false,
    ],
    [
      'update completes when all replicas are current',
      1,
      { type: 'RollingUpdate' },
      {
        observedGeneration: 2,
        replicas: 3,
        readyReplicas: 3,
        currentReplicas: 3,
        updatedReplicas: 3,
        currentRevision: 'foo',
        updateRevision: 'foo',
      },
      'statefulset rolling update complete 3 pods at revision foo...',
      true,
    ],
    [
      'a rolling update without partition waits for the update revision',
      1,
      { type: 'RollingUpdate' },
      {
        observedGeneration: 1,
        replicas: 3,
        readyReplicas: 3,
        currentReplicas: 2,
        updatedReplicas: 1,
        currentRevision: 'foo-1',
        updateRevision: 'foo-2',
      },
      'waiting for statefulset rolling update to complete 1 pods at revision foo-2...',
      false,
    ],
    [
      'an observedGeneration of 0 is never observed',
      0,
      { type: 'RollingUpdate' },
      { observedGeneration: 0, replicas: 3, readyReplicas: 3 },
      'Waiting for statefulset spec update to be observed...',
      false,
    ],
  ])('%s', (_name, generation, strategy, status, message, done) => {
    expect(statefulSetStatus(statefulSet(generation, strategy, status))).toEqual({
      done,
      failed: false,
      message,
    });
  });
});

describe('jobStatus', () => {
  const job = (status: Record<string, unknown>, spec: Record<string, unknown> = { completions: 1 }) => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'migrate' },
    spec,
    status,
  });
  it('waits while running, is done on Complete, failed on Failed or FailureTarget', () => {
    expect(jobStatus(job({ active: 1 }))).toEqual({
      done: false,
      failed: false,
      message: 'Waiting for job "migrate" to complete: 0 of 1 succeeded, 1 active, 0 failed...',
    });
    expect(jobStatus(job({ succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] }))).toEqual({
      done: true,
      failed: false,
      message: 'job "migrate" completed: 1 succeeded',
    });
    expect(
      jobStatus(
        job({
          failed: 7,
          conditions: [
            {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
            },
          ],
        }),
      ),
    ).toEqual({
      done: false,
      failed: true,
      message:
        'job "migrate" failed (BackoffLimitExceeded: Job has reached the specified backoff limit): 7 failed, 0 succeeded',
    });
    expect(
      jobStatus(job({ conditions: [{ type: 'FailureTarget', status: 'True', reason: 'DeadlineExceeded' }] }))
        .failed,
    ).toBe(true);
    expect(jobStatus(job({ conditions: [{ type: 'Complete', status: 'False' }] })).done).toBe(false);
  });

  it('fails a Job whose failed pods exceed its backoffLimit, before the controller says so', () => {
    expect(jobStatus(job({ failed: 2, active: 1 }, { backoffLimit: 1 }))).toEqual({
      done: false,
      failed: true,
      message: 'job "migrate" failed: 2 pod(s) failed, more than its backoffLimit 1',
    });
    // The default backoffLimit is 6.
    expect(jobStatus(job({ failed: 6, active: 1 })).failed).toBe(false);
    expect(jobStatus(job({ failed: 7, active: 1 })).failed).toBe(true);
  });

  it('does not wait for a suspended Job', () => {
    expect(jobStatus(job({}, { suspend: true }))).toMatchObject({ done: true, unsupported: true });
  });
});

describe('rolloutStatus', () => {
  it('dispatches by kind and has nothing to say about other kinds', () => {
    expect(
      rolloutStatus(
        deployment(1, 1, { observedGeneration: 1, updatedReplicas: 1, replicas: 1, availableReplicas: 1 }),
      )?.done,
    ).toBe(true);
    expect(rolloutStatus({ kind: 'ConfigMap', metadata: { name: 'x' } })).toBeUndefined();
  });
});

describe('the kind registry (src/deploy/kinds): what the engine knows of each kind, in one place', () => {
  const kinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet', 'CronJob'];
  it('watches Deployments, StatefulSets, DaemonSets and Jobs; rolls back all of them but Jobs', () => {
    expect([...WATCHED_KINDS].sort()).toEqual(['DaemonSet', 'Deployment', 'Job', 'StatefulSet']);
    expect(kinds.filter((k) => adapterOf(k)?.rollback)).toEqual(['Deployment', 'StatefulSet', 'DaemonSet']);
    expect(isWatchedKind('ReplicaSet')).toBe(false);
    expect(rolloutStatus({ apiVersion: 'v1', kind: 'ConfigMap' })).toBeUndefined();
  });

  it('leaves replicas to an autoscaler for Deployments, StatefulSets and ReplicaSets only', () => {
    expect(kinds.filter((k) => adapterOf(k)?.scalable)).toEqual(['Deployment', 'StatefulSet', 'ReplicaSet']);
  });

  it("puts the commit on pod templates, but not on a Job's (immutable)", () => {
    expect(kinds.filter((k) => adapterOf(k)?.annotateTemplate)).toEqual([
      'Deployment',
      'StatefulSet',
      'DaemonSet',
      'ReplicaSet',
      'CronJob',
    ]);
  });

  it('finds each pod template where its kind keeps it', () => {
    const template = { metadata: { labels: { app: 'x' } }, spec: { containers: [] } };
    expect(podTemplateOf({ kind: 'Deployment', spec: { template } })).toBe(template);
    expect(podTemplateOf({ kind: 'CronJob', spec: { jobTemplate: { spec: { template } } } })).toBe(template);
    expect(podTemplateOf({ kind: 'PodTemplate', template })).toBe(template);
    expect(podTemplateOf({ kind: 'Pod', spec: {} })).toBeUndefined();
  });

  it("applies namespaces first, Services before workloads, and a Deployment's ReplicaSet events are its own", () => {
    const order = ['Deployment', 'Service', 'Secret', 'Namespace', 'CustomResourceDefinition', 'Widget'];
    expect([...order].sort((a, b) => rank(a) - rank(b))).toEqual([
      'Namespace',
      'CustomResourceDefinition',
      'Secret',
      'Service',
      'Deployment',
      'Widget',
    ]);
    expect(rank('Deployment')).toBe(rank('Widget'));
    const web = { kind: 'Deployment', metadata: { name: 'web' } };
    expect(adapterOf('Deployment')!.ownsEventsOf!(web, 'ReplicaSet', 'web-7d4b9c')).toBe(true);
    expect(adapterOf('Deployment')!.ownsEventsOf!(web, 'ReplicaSet', 'web-api-7d4b9c')).toBe(false);
  });
});
