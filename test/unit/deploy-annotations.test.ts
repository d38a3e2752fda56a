import { describe, expect, it } from 'vitest';
import {
  annotateAll,
  annotateObject,
  AUDIT_KEYS,
  auditAnnotations,
  templatesEqual,
  type AuditInfo,
} from '../../src/deploy/annotations.js';

const audit: AuditInfo = {
  commit: '0123456789abcdef0123456789abcdef01234567',
  ref: 'refs/heads/main',
  runUrl: 'https://github.com/org/repo/actions/runs/42/attempts/1',
  actor: 'alice',
  approvers: ['carol', 'bob', 'carol'],
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function deployment(image = 'app:1'): Any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', annotations: { team: 'core' } },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image, ports: [{ containerPort: 80 }] }] },
      },
    },
  };
}

/** What the API server returns for a Deployment applied earlier: defaults filled in, our annotations. */
function live(image: string, commit: string): Any {
  const d = deployment(image);
  d.metadata.uid = 'u1';
  d.spec.replicas = 1;
  d.spec.template.metadata.annotations = {
    [AUDIT_KEYS.commit]: commit,
    'kubectl.kubernetes.io/restartedAt': 'x',
  };
  const c = d.spec.template.spec.containers[0];
  c.imagePullPolicy = 'IfNotPresent';
  c.terminationMessagePath = '/dev/termination-log';
  c.ports[0].protocol = 'TCP';
  d.spec.template.spec.restartPolicy = 'Always';
  return d;
}

describe('auditAnnotations', () => {
  it('gives every key, approvers sorted and unique, and leaves out empty values', () => {
    expect(auditAnnotations(audit)).toEqual({
      'commit-to-cloud.dev/commit': audit.commit,
      'commit-to-cloud.dev/ref': 'refs/heads/main',
      'commit-to-cloud.dev/run-url': audit.runUrl,
      'commit-to-cloud.dev/actor': 'alice',
      'commit-to-cloud.dev/approved-by': 'bob, carol',
    });
    expect(auditAnnotations({ commit: 'abc', approvers: [] })).toEqual({
      'commit-to-cloud.dev/commit': 'abc',
    });
  });
});

describe('annotateObject', () => {
  it('puts everything on the object and only the commit on the pod template of a new workload', () => {
    const d = deployment();
    expect(annotateObject(d, audit)).toBe(true);
    expect(d.metadata.annotations).toEqual({ team: 'core', ...auditAnnotations(audit) });
    expect(d.spec.template.metadata.annotations).toEqual({ [AUDIT_KEYS.commit]: audit.commit });
  });

  it('leaves the pod template as it runs when nothing else in it changed (no rollout from a new run)', () => {
    const d = deployment('app:1');
    const changed = annotateObject(
      d,
      { ...audit, commit: 'new-commit' },
      { live: live('app:1', 'old-commit') },
    );
    expect(changed).toBe(false);
    // the old commit is carried over, so server-side apply leaves the template untouched
    expect(d.spec.template.metadata.annotations).toEqual({ [AUDIT_KEYS.commit]: 'old-commit' });
    expect(d.metadata.annotations[AUDIT_KEYS.commit]).toBe('new-commit');
    expect(d.metadata.annotations[AUDIT_KEYS.runUrl]).toBe(audit.runUrl);
  });

  it('puts the new commit on the template when the template changes anyway', () => {
    const d = deployment('app:2');
    expect(annotateObject(d, audit, { live: live('app:1', 'old-commit'), templateChanges: true })).toBe(true);
    expect(d.spec.template.metadata.annotations).toEqual({ [AUDIT_KEYS.commit]: audit.commit });
  });

  it('annotates a CronJob job template, but never a Job pod template (immutable)', () => {
    const cron: Any = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: { jobTemplate: { spec: { template: { spec: { containers: [] } } } } },
    };
    const job: Any = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      spec: { template: { spec: {} } },
    };
    const cm: Any = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } };
    annotateAll([cron, job, cm], audit);
    expect(cron.spec.jobTemplate.spec.template.metadata.annotations).toEqual({
      [AUDIT_KEYS.commit]: audit.commit,
    });
    expect(job.spec.template.metadata).toBeUndefined();
    expect(job.metadata.annotations[AUDIT_KEYS.actor]).toBe('alice');
    expect(cm.metadata.annotations[AUDIT_KEYS.approvedBy]).toBe('bob, carol');
  });
});

describe('templatesEqual', () => {
  it('ignores our own annotations, sees changed, added and removed fields', () => {
    const a = live('app:1', 'x').spec.template;
    expect(templatesEqual(a, live('app:1', 'y').spec.template)).toBe(true);
    expect(templatesEqual(live('app:2', 'x').spec.template, a)).toBe(false);
    const more = live('app:1', 'x').spec.template;
    more.spec.containers.push({ name: 'side', image: 'b' });
    expect(templatesEqual(more, a)).toBe(false);
    // A field the manifest dropped is missing from the dry run's template: a change.
    const fewer = live('app:1', 'x').spec.template;
    delete fewer.spec.containers[0].ports;
    expect(templatesEqual(fewer, a)).toBe(false);
    const relabelled = live('app:1', 'x').spec.template;
    relabelled.metadata.labels.tier = 'front';
    expect(templatesEqual(relabelled, a)).toBe(false);
  });
});
