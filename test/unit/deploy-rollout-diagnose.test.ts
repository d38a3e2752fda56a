import { describe, expect, it } from 'vitest';
import {
  diagnose,
  diagnoseWorkload,
  podsForWorkload,
  selectorMatches,
  type LogRequest,
} from '../../src/deploy/rollout/diagnose.js';

const workload = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'prod' },
  spec: { selector: { matchLabels: { app: 'web' } } },
};

const owner = [{ kind: 'ReplicaSet', name: 'web-5d8f7c9b6d' }];

const pullFailing = {
  metadata: {
    name: 'web-5d8f7c9b6d-abcde',
    namespace: 'prod',
    labels: { app: 'web' },
    ownerReferences: owner,
  },
  spec: { containers: [{ name: 'web' }] },
  status: {
    phase: 'Pending',
    containerStatuses: [
      {
        name: 'web',
        ready: false,
        restartCount: 0,
        state: {
          waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "ghcr.io/org/web:typo"' },
        },
      },
    ],
  },
};

const crashing = {
  metadata: {
    name: 'web-5d8f7c9b6d-fghij',
    namespace: 'prod',
    labels: { app: 'web' },
    ownerReferences: owner,
  },
  spec: { containers: [{ name: 'web' }, { name: 'proxy' }] },
  status: {
    phase: 'Running',
    containerStatuses: [
      {
        name: 'web',
        ready: false,
        restartCount: 4,
        state: {
          waiting: { reason: 'CrashLoopBackOff', message: 'back-off 1m20s restarting failed container' },
        },
        lastState: { terminated: { reason: 'Error', exitCode: 1 } },
      },
      { name: 'proxy', ready: true, restartCount: 0, state: { running: {} } },
    ],
  },
};

const healthyOld = {
  metadata: { name: 'web-old-zzzzz', namespace: 'prod', labels: { app: 'web' } },
  spec: { containers: [{ name: 'web' }] },
  status: { phase: 'Running', containerStatuses: [{ name: 'web', ready: true, state: { running: {} } }] },
};

const otherApp = {
  metadata: { name: 'api-1', namespace: 'prod', labels: { app: 'api' } },
  status: { phase: 'Running' },
};
const otherNs = {
  metadata: { name: 'web-x', namespace: 'staging', labels: { app: 'web' } },
  status: { phase: 'Running' },
};

const event = (
  kind: string,
  name: string,
  reason: string,
  message: string,
  t: string,
  type = 'Warning',
  count = 1,
) => ({
  type,
  reason,
  message,
  count,
  lastTimestamp: t,
  involvedObject: { kind, name, namespace: 'prod' },
});

const events = [
  event(
    'Pod',
    'web-5d8f7c9b6d-fghij',
    'BackOff',
    'Back-off restarting failed container web',
    '2024-05-01T10:00:05Z',
    'Warning',
    12,
  ),
  event(
    'Pod',
    'web-5d8f7c9b6d-abcde',
    'Failed',
    'Failed to pull image "ghcr.io/org/web:typo": not found',
    '2024-05-01T10:00:02Z',
  ),
  event('Pod', 'web-5d8f7c9b6d-abcde', 'Pulling', 'Pulling image', '2024-05-01T10:00:01Z', 'Normal'),
  event('ReplicaSet', 'web-7f7f7f7f7f', 'FailedCreate', 'quota exceeded', '2024-05-01T10:00:03Z'),
  event('Pod', 'api-1', 'BackOff', 'not ours', '2024-05-01T10:00:04Z'),
  event(
    'Deployment',
    'web',
    'ProgressDeadlineExceeded',
    'ReplicaSet "web-5d8f7c9b6d" has timed out progressing.',
    '2024-05-01T10:10:00Z',
  ),
];

describe('podsForWorkload and selectorMatches', () => {
  it('selects the pods of the workload by selector and namespace', () => {
    const pods = podsForWorkload(workload, [pullFailing, otherApp, crashing, otherNs, healthyOld]);
    expect(pods.map((p) => (p.metadata as { name: string }).name)).toEqual([
      'web-5d8f7c9b6d-abcde',
      'web-5d8f7c9b6d-fghij',
      'web-old-zzzzz',
    ]);
  });

  it('supports matchExpressions and selects nothing with an empty selector', () => {
    const sel = {
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['front', 'edge'] },
        { key: 'canary', operator: 'DoesNotExist' },
        { key: 'zone', operator: 'NotIn', values: ['b'] },
        { key: 'app', operator: 'Exists' },
      ],
    };
    expect(selectorMatches(sel, { app: 'web', tier: 'edge' })).toBe(true);
    expect(selectorMatches(sel, { app: 'web', tier: 'edge', zone: 'b' })).toBe(false);
    expect(selectorMatches(sel, { app: 'web', tier: 'edge', canary: 'y' })).toBe(false);
    expect(selectorMatches(sel, { app: 'web', tier: 'back' })).toBe(false);
    expect(selectorMatches({}, { app: 'web' })).toBe(false);
  });
});

describe('diagnoseWorkload', () => {
  it('reports phases, waiting reasons with messages, warning events and the logs of the crashed container', async () => {
    const requests: LogRequest[] = [];
    const text = await diagnoseWorkload({
      workload,
      reason: 'deployment "web" exceeded its progress deadline',
      pods: [healthyOld, pullFailing, crashing],
      events,
      tailLines: 3,
      fetchLogs: async (req) => {
        requests.push(req);
        return 'starting\nconnecting to db\nError: ECONNREFUSED 10.0.0.5:5432\npanic: exiting\n';
      },
    });
    expect(text).toBe(
      [
        'Deployment prod/web: deployment "web" exceeded its progress deadline',
        '  Pods: 3 (1 Pending, 2 Running)',
        '    web-5d8f7c9b6d-abcde: Pending, 0/1 ready',
        '      container web: waiting: ImagePullBackOff: Back-off pulling image "ghcr.io/org/web:typo"',
        '    web-5d8f7c9b6d-fghij: Running, 1/2 ready',
        '      container web: waiting: CrashLoopBackOff: back-off 1m20s restarting failed container, 4 restarts; last run: Error, exit code 1',
        '    web-old-zzzzz: Running, 1/1 ready',
        '  Recent warning events:',
        '    2024-05-01T10:00:02Z Pod/web-5d8f7c9b6d-abcde Failed: Failed to pull image "ghcr.io/org/web:typo": not found',
        '    2024-05-01T10:00:03Z ReplicaSet/web-7f7f7f7f7f FailedCreate: quota exceeded',
        '    2024-05-01T10:00:05Z Pod/web-5d8f7c9b6d-fghij BackOff (x12): Back-off restarting failed container web',
        '    2024-05-01T10:10:00Z Deployment/web ProgressDeadlineExceeded: ReplicaSet "web-5d8f7c9b6d" has timed out progressing.',
        '  Last 3 log lines of web-5d8f7c9b6d-fghij/web (previous run):',
        '    | connecting to db',
        '    | Error: ECONNREFUSED 10.0.0.5:5432',
        '    | panic: exiting',
      ].join('\n'),
    );
    // No logs for a container that never started (image pull); the crashed one's previous run.
    expect(requests).toEqual([
      { namespace: 'prod', pod: 'web-5d8f7c9b6d-fghij', container: 'web', previous: true, tailLines: 3 },
    ]);
  });

  it('reports unschedulable pods, init container failures, OOMKilled, no pods at all, and failing log fetches', async () => {
    const pending = {
      metadata: { name: 'web-p', namespace: 'prod', labels: { app: 'web' } },
      spec: { containers: [{ name: 'web' }] },
      status: {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/2 nodes are available: 2 Insufficient cpu.',
          },
        ],
      },
    };
    const oom = {
      metadata: { name: 'web-o', namespace: 'prod', labels: { app: 'web' } },
      spec: { containers: [{ name: 'web' }] },
      status: {
        phase: 'Running',
        initContainerStatuses: [
          { name: 'migrate', state: { terminated: { reason: 'Completed', exitCode: 0 } } },
        ],
        containerStatuses: [
          {
            name: 'web',
            ready: false,
            restartCount: 1,
            state: { running: {} },
            lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
          },
        ],
      },
    };
    const initFail = {
      metadata: { name: 'web-i', namespace: 'prod', labels: { app: 'web' } },
      spec: { containers: [{ name: 'web' }] },
      status: {
        phase: 'Pending',
        initContainerStatuses: [
          {
            name: 'migrate',
            restartCount: 2,
            state: { terminated: { reason: 'Error', exitCode: 2, message: 'no such table' } },
          },
        ],
      },
    };
    const text = await diagnoseWorkload({
      workload,
      pods: [pending, oom, initFail],
      events: [],
      fetchLogs: async (req) => {
        if (req.pod === 'web-o') throw new Error('pods "web-o" is forbidden');
        return '';
      },
    });
    expect(text).toContain('Deployment prod/web: rollout failed');
    expect(text).toContain(
      '      not scheduled: Unschedulable: 0/2 nodes are available: 2 Insufficient cpu.',
    );
    expect(text).toContain(
      '      container web: running, not ready, 1 restart; last run: OOMKilled, exit code 137',
    );
    expect(text).toContain(
      '      init container migrate: terminated: Error, exit code 2: no such table, 2 restarts',
    );
    expect(text).not.toContain('Completed');
    expect(text).toContain('  Logs of web-o/web (previous run): unavailable: pods "web-o" is forbidden');
    expect(text).toContain('  Logs of web-i/migrate: (empty)');

    const none = await diagnoseWorkload({ workload, pods: [], events: [events[5]!] });
    expect(none).toContain('  Pods: none (none were created; see the events)');
    expect(none).toContain('Deployment/web ProgressDeadlineExceeded');
  });

  it('limits the pods shown, the events and the logs fetched', async () => {
    const many = Array.from({ length: 8 }, (_, i) => ({
      ...crashing,
      metadata: { ...crashing.metadata, name: `web-5d8f7c9b6d-p${i}` },
    }));
    let fetched = 0;
    const text = await diagnoseWorkload({
      workload,
      pods: many,
      events,
      maxPods: 2,
      maxEvents: 1,
      maxLogs: 2,
      fetchLogs: async () => {
        fetched++;
        return 'x';
      },
    });
    expect(text).toContain('    … and 6 more pods');
    expect(text.match(/ProgressDeadlineExceeded/g)).toHaveLength(1);
    expect(text).not.toContain('quota exceeded');
    expect(fetched).toBe(2);
  });

  it('joins several workloads', async () => {
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'm', namespace: 'prod' },
      spec: { selector: { matchLabels: { job: 'm' } } },
    };
    const text = await diagnose([
      { workload, reason: 'a', pods: [], events: [] },
      { workload: job, reason: 'b', pods: [], events: [] },
    ]);
    expect(text).toMatch(/^Deployment prod\/web: a\n[\s\S]*\n\nJob prod\/m: b\n/);
  });
});
