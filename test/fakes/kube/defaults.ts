import type { Obj } from './store.js';

/**
 * The defaulting and the little validation a real API server does for the kinds the fake serves,
 * enough that `kubectl get -o yaml` looks like a cluster's and that broken workloads are rejected
 * (422 Invalid) by a dry run.
 */
export function applyDefaults(o: Obj): void {
  const spec = o.spec as Obj | undefined;
  switch (o.kind) {
    case 'Deployment':
      if (!spec) return;
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      spec.strategy ??= { type: 'RollingUpdate' };
      if (spec.strategy.type === 'RollingUpdate')
        spec.strategy.rollingUpdate ??= { maxSurge: '25%', maxUnavailable: '25%' };
      podTemplateDefaults(spec.template);
      break;
    case 'StatefulSet':
      if (!spec) return;
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.updateStrategy ??= { type: 'RollingUpdate' };
      if (spec.updateStrategy.type === 'RollingUpdate')
        spec.updateStrategy.rollingUpdate ??= { partition: 0 };
      spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
      podTemplateDefaults(spec.template);
      break;
    case 'DaemonSet':
      if (!spec) return;
      spec.revisionHistoryLimit ??= 10;
      spec.updateStrategy ??= { type: 'RollingUpdate' };
      if (spec.updateStrategy.type === 'RollingUpdate')
        spec.updateStrategy.rollingUpdate ??= { maxSurge: 0, maxUnavailable: 1 };
      podTemplateDefaults(spec.template);
      break;
    case 'ReplicaSet':
      if (!spec) return;
      spec.replicas ??= 1;
      podTemplateDefaults(spec.template);
      break;
    case 'Job':
      if (!spec) return;
      spec.completions ??= 1;
      spec.parallelism ??= 1;
      spec.backoffLimit ??= 6;
      spec.completionMode ??= 'NonIndexed';
      spec.suspend ??= false;
      spec.podReplacementPolicy ??= 'TerminatingOrFailed';
      spec.manualSelector ??= undefined;
      if (o.metadata.uid && !spec.selector) {
        spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': o.metadata.uid } };
        spec.template ??= {};
        spec.template.metadata ??= {};
        spec.template.metadata.labels = {
          ...(spec.template.metadata.labels ?? {}),
          'batch.kubernetes.io/controller-uid': o.metadata.uid,
          'batch.kubernetes.io/job-name': o.metadata.name,
          'controller-uid': o.metadata.uid,
          'job-name': o.metadata.name,
        };
      }
      podTemplateDefaults(spec.template, 'Never');
      break;
    case 'CronJob':
      if (!spec) return;
      spec.concurrencyPolicy ??= 'Allow';
      spec.suspend ??= false;
      spec.successfulJobsHistoryLimit ??= 3;
      spec.failedJobsHistoryLimit ??= 1;
      if (spec.jobTemplate?.spec) podTemplateDefaults(spec.jobTemplate.spec.template, 'Never');
      break;
    case 'Pod':
      if (spec) podSpecDefaults(spec);
      break;
    case 'Service':
      if (!spec) return;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
      spec.internalTrafficPolicy ??= 'Cluster';
      for (const p of (spec.ports ?? []) as Obj[]) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      break;
    case 'Namespace':
      o.spec ??= { finalizers: ['kubernetes'] };
      o.status ??= { phase: 'Active' };
      o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name };
      break;
    case 'Secret':
      o.type ??= 'Opaque';
      break;
  }
}

function podTemplateDefaults(t: Obj | undefined, restartPolicy = 'Always'): void {
  if (!t) return;
  t.metadata ??= {};
  t.metadata.creationTimestamp ??= null;
  if (t.spec) podSpecDefaults(t.spec, restartPolicy);
}

function podSpecDefaults(s: Obj, restartPolicy = 'Always'): void {
  s.restartPolicy ??= restartPolicy;
  s.terminationGracePeriodSeconds ??= 30;
  s.dnsPolicy ??= 'ClusterFirst';
  s.securityContext ??= {};
  s.schedulerName ??= 'default-scheduler';
  for (const c of [...((s.containers ?? []) as Obj[]), ...((s.initContainers ?? []) as Obj[])]) {
    const img = String(c.image ?? '');
    const tagless = !img.includes('@') && !/:[^/]+$/.test(img);
    c.imagePullPolicy ??= tagless || img.endsWith(':latest') ? 'Always' : 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
    for (const p of (c.ports ?? []) as Obj[]) p.protocol ??= 'TCP';
  }
}

export interface Cause {
  type: string;
  message: string;
  field: string;
}

/** Field errors like the API server's validation; empty when the object is valid. */
export function validate(o: Obj): Cause[] {
  const causes: Cause[] = [];
  const req = (field: string, ok: boolean, message = 'Required value') => {
    if (!ok) causes.push({ type: 'FieldValueRequired', message, field });
  };
  const name = o.metadata?.name as string | undefined;
  req('metadata.name', !!name, 'Required value: name or generateName is required');
  if (name && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name))
    causes.push({
      type: 'FieldValueInvalid',
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      field: 'metadata.name',
    });
  const podSpec = (spec: Obj | undefined, prefix: string) => {
    const containers = (spec?.containers ?? []) as Obj[];
    req(`${prefix}.containers`, containers.length > 0);
    containers.forEach((c, i) => {
      req(`${prefix}.containers[${i}].name`, !!c.name);
      req(`${prefix}.containers[${i}].image`, !!c.image);
    });
  };
  const workload = (spec: Obj | undefined, needsSelector: boolean) => {
    if (!spec) {
      req('spec', false);
      return;
    }
    if (needsSelector) {
      req('spec.selector', !!spec.selector);
      const labels = (spec.template?.metadata?.labels ?? {}) as Record<string, string>;
      const ml = (spec.selector?.matchLabels ?? {}) as Record<string, string>;
      if (spec.selector && Object.entries(ml).some(([k, v]) => labels[k] !== v))
        causes.push({
          type: 'FieldValueInvalid',
          message: 'Invalid value: map[string]string{...}: `selector` does not match template `labels`',
          field: 'spec.template.metadata.labels',
        });
    }
    podSpec(spec.template?.spec, 'spec.template.spec');
  };
  switch (o.kind) {
    case 'Deployment':
    case 'ReplicaSet':
    case 'DaemonSet':
      workload(o.spec, true);
      break;
    case 'StatefulSet':
      workload(o.spec, true);
      break;
    case 'Job':
      workload(o.spec, false);
      break;
    case 'Pod':
      podSpec(o.spec, 'spec');
      break;
  }
  return causes;
}
