import { describe, expect, it } from 'vitest';
import { rolloutStatus, type KubeObject } from '../../src/kube/index.js';

const deploy = (status: object, generation = 2, replicas = 3): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', generation },
  spec: { replicas },
  status,
});

describe('rolloutStatus (kubectl rollout status semantics)', () => {
  it('Deployment: waits for the new generation, updated, old pods gone, available; fails on ProgressDeadlineExceeded', () => {
    expect(rolloutStatus(deploy({ observedGeneration: 1 })).message).toBe(
      'Waiting for deployment spec update to be observed...',
    );
    expect(rolloutStatus(deploy({ observedGeneration: 2, updatedReplicas: 1, replicas: 3 })).message).toBe(
      'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
    );
    expect(
      rolloutStatus(deploy({ observedGeneration: 2, updatedReplicas: 3, replicas: 4 })).message,
    ).toContain('1 old replicas are pending termination');
    expect(
      rolloutStatus(deploy({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 2 }))
        .message,
    ).toContain('2 of 3 updated replicas are available');
    expect(
      rolloutStatus(deploy({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 })),
    ).toEqual({
      done: true,
      failed: false,
      message: 'deployment "web" successfully rolled out',
    });
    const timedOut = rolloutStatus(
      deploy({
        observedGeneration: 2,
        updatedReplicas: 3,
        replicas: 6,
        conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
      }),
    );
    expect(timedOut).toEqual({
      done: false,
      failed: true,
      message: 'deployment "web" exceeded its progress deadline',
    });
    // An old generation's deadline does not count: the new spec is not observed yet.
    expect(
      rolloutStatus(
        deploy({
          observedGeneration: 1,
          conditions: [{ type: 'Progressing', reason: 'ProgressDeadlineExceeded' }],
        }),
      ).failed,
    ).toBe(false);
  });

  it('StatefulSet, DaemonSet and Job', () => {
    const sts = (status: object, partition?: number): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', generation: 1 },
      spec: {
        replicas: 2,
        updateStrategy: {
          type: 'RollingUpdate',
          ...(partition !== undefined ? { rollingUpdate: { partition } } : {}),
        },
      },
      status,
    });
    expect(rolloutStatus(sts({ observedGeneration: 1, readyReplicas: 1 })).message).toBe(
      'Waiting for 1 pods to be ready...',
    );
    expect(
      rolloutStatus(
        sts({ observedGeneration: 1, readyReplicas: 2, currentRevision: 'a', updateRevision: 'b' }),
      ).done,
    ).toBe(false);
    expect(
      rolloutStatus(
        sts({ observedGeneration: 1, readyReplicas: 2, currentRevision: 'b', updateRevision: 'b' }),
      ).done,
    ).toBe(true);
    expect(
      rolloutStatus(sts({ observedGeneration: 1, readyReplicas: 2, updatedReplicas: 2 }, 0)).message,
    ).toBe('partitioned roll out complete: 2 new pods have been updated...');
    const ds = (status: object): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', generation: 1 },
      status,
    });
    expect(
      rolloutStatus(
        ds({
          observedGeneration: 1,
          desiredNumberScheduled: 2,
          updatedNumberScheduled: 2,
          numberAvailable: 1,
        }),
      ).done,
    ).toBe(false);
    expect(
      rolloutStatus(
        ds({
          observedGeneration: 1,
          desiredNumberScheduled: 2,
          updatedNumberScheduled: 2,
          numberAvailable: 2,
        }),
      ).done,
    ).toBe(true);
    const job = (conditions: object[]): KubeObject => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'm' },
      status: { conditions },
    });
    expect(rolloutStatus(job([]))).toMatchObject({ done: false, failed: false });
    expect(rolloutStatus(job([{ type: 'Complete', status: 'True' }]))).toMatchObject({ done: true });
    expect(
      rolloutStatus(job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }])),
    ).toMatchObject({ failed: true, message: 'job "m" failed: BackoffLimitExceeded' });
  });
});
