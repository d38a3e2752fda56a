import { createHash, randomBytes } from 'node:crypto';
import { findKind } from './resources.js';
import { recordUpdate } from './apply.js';
import { Store, canonical, now, sameJson, type Obj } from './store.js';
import { applyDefaults } from './defaults.js';

/**
 * The simulated control plane: a Deployment controller (ReplicaSets with revision annotations, a
 * simplified rolling update, the Available/Progressing conditions with ProgressDeadlineExceeded),
 * a ReplicaSet controller, a StatefulSet and a DaemonSet controller (ControllerRevisions), a Job
 * controller, a "kubelet" that moves pods to Running/Ready after a delay or into ImagePullBackOff /
 * CrashLoopBackOff for images a test marks as failing, Events, and garbage collection.
 *
 * It runs as sweeps over the store: after every change and on a short tick (for time-based
 * transitions); a sweep writes only what differs, so it settles.
 */
export type ImageFailure =
  'ImagePullBackOff' | 'CrashLoopBackOff' | 'InvalidImageName' | 'CreateContainerConfigError';

/** Containers that never start and stay waiting with this reason (no pull, no restart). */
const WAITING_ONLY: Partial<Record<ImageFailure, (c: Obj) => string>> = {
  InvalidImageName: (c) =>
    `Failed to apply default image tag "${c.image}": couldn't parse image name "${c.image}": invalid reference format`,
  CreateContainerConfigError: () => "couldn't find key DATABASE_URL in Secret default/app-secrets",
};

export interface ControllerOptions {
  /** Time from pod creation to Running/Ready. Default 300 ms. */
  readyDelayMs: number;
  /** Time a Job's pod runs before it succeeds. Default 300 ms. */
  jobDurationMs: number;
  /** Overrides every Deployment's spec.progressDeadlineSeconds (tests shorten it). */
  progressDeadlineSeconds?: number;
  /** Nodes for DaemonSets. Default 1. */
  nodes: number;
  /** Sweep period for time-based transitions. Default 100 ms. */
  tickMs: number;
}

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
export function safeHash(v: unknown, len = 10): string {
  const h = createHash('sha256')
    .update(JSON.stringify(canonical(v)))
    .digest();
  let s = '';
  for (let i = 0; i < len; i++) s += SAFE[h[i]! % SAFE.length];
  return s;
}
function randSuffix(len = 5): string {
  const b = randomBytes(len);
  let s = '';
  for (let i = 0; i < len; i++) s += SAFE[b[i]! % SAFE.length];
  return s;
}

const R = (apiVersion: string, kind: string) => findKind(apiVersion, kind)!;
const RES = {
  ns: R('v1', 'Namespace'),
  pod: R('v1', 'Pod'),
  event: R('v1', 'Event'),
  deploy: R('apps/v1', 'Deployment'),
  rs: R('apps/v1', 'ReplicaSet'),
  sts: R('apps/v1', 'StatefulSet'),
  ds: R('apps/v1', 'DaemonSet'),
  cr: R('apps/v1', 'ControllerRevision'),
  job: R('batch/v1', 'Job'),
  hpa: R('autoscaling/v2', 'HorizontalPodAutoscaler'),
};

export const REVISION = 'deployment.kubernetes.io/revision';

const controllerOf = (o: Obj): Obj | undefined =>
  (o.metadata.ownerReferences ?? []).find((r: Obj) => r.controller);
const ownedBy = (o: Obj, owner: Obj) => controllerOf(o)?.uid === owner.metadata.uid;
const ownerRef = (owner: Obj) => ({
  apiVersion: owner.apiVersion,
  kind: owner.kind,
  name: owner.metadata.name,
  uid: owner.metadata.uid,
  controller: true,
  blockOwnerDeletion: true,
});

function percent(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  const m = String(v ?? '').match(/^(\d+)%$/);
  if (!m) return Number(v) || 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

function cond(
  prev: Obj[] | undefined,
  type: string,
  status: string,
  reason: string,
  message: string,
  withUpdate = false,
): Obj {
  const old = (prev ?? []).find((c) => c.type === type);
  const t = now();
  const sameState = old && old.status === status;
  const same = sameState && old.reason === reason && old.message === message;
  return {
    type,
    status,
    ...(withUpdate ? { lastUpdateTime: same ? old.lastUpdateTime : t } : {}),
    lastTransitionTime: sameState ? old.lastTransitionTime : t,
    reason,
    message,
  };
}

/**
 * Failures asked for by image name, the same markers as the genuine control plane's kwok stages
 * (scripts/cluster/stages.yaml), so one test runs on both: fail-pull, invalid-name, config-error,
 * crash-loop, and fail-job (a Job's pod fails; elsewhere it runs).
 */
function markerFailure(c: Obj, p: Obj): ImageFailure | undefined {
  const image = String(c.image ?? '');
  if (image.includes('fail-pull')) return 'ImagePullBackOff';
  if (image.includes('invalid-name')) return 'InvalidImageName';
  if (image.includes('config-error')) return 'CreateContainerConfigError';
  if (image.includes('crash-loop')) return 'CrashLoopBackOff';
  if (image.includes('fail-job') && p.spec?.restartPolicy && p.spec.restartPolicy !== 'Always')
    return 'CrashLoopBackOff';
  return undefined;
}

export class Controllers {
  readonly failImages = new Map<string, ImageFailure>();
  /** Containers that fail by other traits than their image (a missing env var, say). */
  readonly failRules: Array<(container: Obj, pod: Obj) => ImageFailure | undefined> = [];
  /** Log lines per pod-name prefix (set by tests); otherwise generated. */
  readonly logs = new Map<string, string[]>();
  private readonly born = new Map<string, number>();
  private readonly progress = new Map<
    string,
    { rs: string; counts: string; at: number; timedOut: boolean }
  >();
  private readonly emitted = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private inSweep = false;
  private podIp = 10;

  constructor(
    private readonly store: Store,
    private readonly opts: ControllerOptions,
  ) {
    store.onChange = () => this.schedule();
  }

  start(): void {
    this.timer = setInterval(() => this.schedule(), this.opts.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  schedule(): void {
    if (this.scheduled || this.inSweep || !this.timer) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.sweep();
    });
  }

  /** Runs every controller until nothing changes (bounded). */
  sweep(): void {
    this.inSweep = true;
    try {
      for (let i = 0; i < 8; i++) {
        const before = this.store.currentRv();
        this.gc();
        for (const d of this.store.all(RES.deploy)) this.deployment(d);
        for (const rs of this.store.all(RES.rs)) this.replicaSet(rs);
        for (const s of this.store.all(RES.sts)) this.statefulSet(s);
        for (const ds of this.store.all(RES.ds)) this.daemonSet(ds);
        for (const j of this.store.all(RES.job)) this.job(j);
        for (const h of this.store.all(RES.hpa)) this.autoscaler(h);
        for (const p of this.store.all(RES.pod)) this.kubelet(p);
        if (this.store.currentRv() === before) break;
      }
    } finally {
      this.inSweep = false;
    }
  }

  // ---------------------------------------------------------------- helpers

  private put(res: typeof RES.pod, o: Obj): Obj {
    const cur = this.store.get(res, o.metadata.namespace, o.metadata.name);
    if (!cur) return this.store.create(res, o);
    if (
      sameJson(
        { ...cur, metadata: { ...cur.metadata, resourceVersion: 0 } },
        { ...o, metadata: { ...o.metadata, resourceVersion: 0 } },
      )
    )
      return cur;
    return this.store.update(res, {
      ...o,
      metadata: { ...o.metadata, resourceVersion: cur.metadata.resourceVersion },
    });
  }

  private setStatus(res: typeof RES.pod, o: Obj, status: Obj): void {
    if (sameJson(o.status, status)) return;
    this.store.update(res, { ...o, status });
  }

  /** Records an Event once per (object, reason, message). */
  emit(involved: Obj, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
    const key = `${involved.metadata.uid}|${reason}|${message}`;
    if (this.emitted.has(key)) return;
    this.emitted.add(key);
    const t = now();
    this.store.create(RES.event, {
      metadata: {
        name: `${involved.metadata.name}.${randomBytes(8).toString('hex')}`,
        namespace: involved.metadata.namespace ?? 'default',
      },
      involvedObject: {
        apiVersion: involved.apiVersion,
        kind: involved.kind,
        name: involved.metadata.name,
        namespace: involved.metadata.namespace,
        uid: involved.metadata.uid,
        resourceVersion: involved.metadata.resourceVersion,
        ...(involved.kind === 'Pod'
          ? { fieldPath: `spec.containers{${involved.spec?.containers?.[0]?.name ?? ''}}` }
          : {}),
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: t,
      lastTimestamp: t,
      source: { component, ...(involved.kind === 'Pod' ? { host: 'fake-node-1' } : {}) },
      reportingComponent: component,
      reportingInstance: '',
    });
  }

  /** Deletes objects whose controller or namespace is gone. */
  private gc(): void {
    const namespaces = new Set(this.store.all(RES.ns).map((n) => n.metadata.name));
    const uids = new Set<string>();
    const kinds = [RES.deploy, RES.rs, RES.sts, RES.ds, RES.job, RES.pod, RES.cr];
    const objs = kinds.map((r) => [r, this.store.all(r)] as const);
    for (const [, list] of objs) for (const o of list) uids.add(o.metadata.uid);
    for (const [r, list] of objs) {
      for (const o of list) {
        const c = controllerOf(o);
        if ((c && !uids.has(c.uid)) || (o.metadata.namespace && !namespaces.has(o.metadata.namespace)))
          this.store.delete(r, o.metadata.namespace, o.metadata.name);
      }
    }
  }

  private podTemplateHash(template: Obj): string {
    const t = structuredClone(template);
    if (t.metadata?.labels) delete t.metadata.labels['pod-template-hash'];
    return safeHash(t);
  }

  private newPod(owner: Obj, template: Obj, name: string, extraLabels: Record<string, string>): Obj {
    const t = structuredClone(template);
    const pod: Obj = {
      metadata: {
        name,
        namespace: owner.metadata.namespace,
        labels: { ...(t.metadata?.labels ?? {}), ...extraLabels },
        ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
        ownerReferences: [ownerRef(owner)],
      },
      spec: { ...t.spec, nodeName: 'fake-node-1' },
      status: { phase: 'Pending', qosClass: 'BestEffort' },
    };
    applyDefaults({ kind: 'Pod', ...pod });
    const created = this.store.create(RES.pod, pod);
    this.born.set(created.metadata.uid, Date.now());
    this.emit(
      created,
      'Normal',
      'Scheduled',
      `Successfully assigned ${created.metadata.namespace}/${name} to fake-node-1`,
      'default-scheduler',
    );
    if (owner.kind !== 'Deployment')
      this.emit(
        owner,
        'Normal',
        'SuccessfulCreate',
        `Created pod: ${name}`,
        `${owner.kind.toLowerCase()}-controller`,
      );
    return created;
  }

  private podsOf(owner: Obj): Obj[] {
    return this.store.list(RES.pod, owner.metadata.namespace, (p) => ownedBy(p, owner));
  }

  private static isReady(p: Obj): boolean {
    return (
      p.status?.phase === 'Running' &&
      (p.status.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True')
    );
  }

  // ---------------------------------------------------------------- deployments

  private deployment(d: Obj): void {
    const spec = d.spec;
    const replicas: number = spec.replicas ?? 1;
    const hash = this.podTemplateHash(spec.template);
    const all = this.store.list(RES.rs, d.metadata.namespace, (rs) => ownedBy(rs, d));
    const rev = (o: Obj) => Number(o.metadata.annotations?.[REVISION] ?? 0);
    const maxRev = Math.max(0, ...all.map(rev));
    let newRs = all.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    let found = false;
    if (!newRs) {
      const name = `${d.metadata.name}-${hash}`;
      const template = structuredClone(spec.template);
      template.metadata ??= {};
      template.metadata.labels = { ...(template.metadata.labels ?? {}), 'pod-template-hash': hash };
      newRs = this.store.create(RES.rs, {
        metadata: {
          name,
          namespace: d.metadata.namespace,
          labels: template.metadata.labels,
          annotations: {
            // The controller copies the Deployment's annotations to a new ReplicaSet (rollout undo copies them back).
            ...Object.fromEntries(
              Object.entries((d.metadata.annotations ?? {}) as Record<string, string>).filter(
                ([k]) => k !== REVISION && k !== 'kubectl.kubernetes.io/last-applied-configuration',
              ),
            ),
            [REVISION]: String(maxRev + 1),
            'deployment.kubernetes.io/desired-replicas': String(replicas),
            'deployment.kubernetes.io/max-replicas': String(
              replicas + percent(spec.strategy?.rollingUpdate?.maxSurge, replicas, true),
            ),
          },
          ownerReferences: [ownerRef(d)],
        },
        spec: {
          replicas: 0,
          selector: {
            ...spec.selector,
            matchLabels: { ...(spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash },
          },
          template,
        },
        status: { replicas: 0 },
      });
    } else if (rev(newRs) < maxRev) {
      // Back to an older template (a rollback): that ReplicaSet becomes the newest revision.
      found = true;
      const history = [
        newRs.metadata.annotations?.['deployment.kubernetes.io/revision-history'],
        String(rev(newRs)),
      ]
        .filter(Boolean)
        .join(',');
      newRs = this.store.update(RES.rs, {
        ...newRs,
        metadata: {
          ...newRs.metadata,
          annotations: {
            ...newRs.metadata.annotations,
            [REVISION]: String(maxRev + 1),
            'deployment.kubernetes.io/revision-history': history,
          },
        },
      });
    }
    const olds = all.filter((rs) => rs.metadata.name !== newRs!.metadata.name);
    const newRev = newRs.metadata.annotations?.[REVISION];
    if (d.metadata.annotations?.[REVISION] !== newRev) {
      d = this.store.update(RES.deploy, {
        ...d,
        metadata: { ...d.metadata, annotations: { ...(d.metadata.annotations ?? {}), [REVISION]: newRev } },
      });
    }

    // Scaling: the new ReplicaSet straight to the desired count; old ones down as the new becomes available.
    const maxUnavailable =
      spec.strategy?.type === 'Recreate'
        ? replicas
        : percent(spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%', replicas, false);
    const newAvailable = newRs.status?.availableReplicas ?? 0;
    if (!spec.paused) {
      if ((newRs.spec.replicas ?? 0) !== replicas) {
        const from = newRs.spec.replicas ?? 0;
        newRs = this.store.update(RES.rs, {
          ...newRs,
          spec: { ...newRs.spec, replicas },
          metadata: {
            ...newRs.metadata,
            annotations: {
              ...newRs.metadata.annotations,
              'deployment.kubernetes.io/desired-replicas': String(replicas),
            },
          },
        });
        this.emit(
          d,
          'Normal',
          'ScalingReplicaSet',
          `Scaled ${replicas > from ? 'up' : 'down'} replica set ${newRs.metadata.name} from ${from} to ${replicas}`,
          'deployment-controller',
        );
      }
      let budget = Math.max(0, replicas - maxUnavailable - newAvailable);
      for (const old of olds) {
        const cur = old.spec.replicas ?? 0;
        const want = newAvailable >= replicas ? 0 : Math.min(cur, budget);
        budget -= want;
        if (want !== cur) {
          this.store.update(RES.rs, { ...old, spec: { ...old.spec, replicas: want } });
          this.emit(
            d,
            'Normal',
            'ScalingReplicaSet',
            `Scaled down replica set ${old.metadata.name} from ${cur} to ${want}`,
            'deployment-controller',
          );
        }
      }
    }

    // Status, from the ReplicaSets' status.
    const rsNow = this.store.list(RES.rs, d.metadata.namespace, (rs) => ownedBy(rs, d));
    const sum = (f: string) => rsNow.reduce((n, rs) => n + (rs.status?.[f] ?? 0), 0);
    const nrs = rsNow.find((rs) => rs.metadata.name === newRs!.metadata.name);
    const updated = nrs?.status?.replicas ?? 0;
    const total = sum('replicas');
    const ready = sum('readyReplicas');
    const available = sum('availableReplicas');
    const prev = d.status?.conditions as Obj[] | undefined;
    const deadline = (this.opts.progressDeadlineSeconds ?? spec.progressDeadlineSeconds ?? 600) * 1000;
    const key = d.metadata.uid as string;
    const counts = `${updated}/${ready}/${available}/${total}`;
    let p = this.progress.get(key);
    const rsName = newRs.metadata.name as string;
    let reason: string;
    let message: string;
    let status = 'True';
    const complete =
      updated === replicas &&
      available >= replicas &&
      total === updated &&
      (nrs?.status?.availableReplicas ?? 0) >= replicas;
    if (!p || p.rs !== rsName) {
      p = { rs: rsName, counts, at: Date.now(), timedOut: false };
      this.progress.set(key, p);
      reason =
        found || (all.length && all.some((rs) => rs.metadata.name === rsName))
          ? 'FoundNewReplicaSet'
          : 'NewReplicaSetCreated';
      message =
        reason === 'FoundNewReplicaSet'
          ? `Found new replica set "${rsName}"`
          : `Created new replica set "${rsName}"`;
      const old = prev?.find((c) => c.type === 'Progressing');
      if (old && old.reason !== 'ProgressDeadlineExceeded' && old.message?.includes(`"${rsName}"`)) {
        reason = old.reason;
        message = old.message;
      }
    } else {
      const old = prev?.find((c) => c.type === 'Progressing');
      reason = old?.reason ?? 'ReplicaSetUpdated';
      message = old?.message ?? `ReplicaSet "${rsName}" is progressing.`;
      if (p.counts !== counts) {
        p.counts = counts;
        p.at = Date.now();
        reason = 'ReplicaSetUpdated';
        message = `ReplicaSet "${rsName}" is progressing.`;
      }
    }
    if (complete) {
      reason = 'NewReplicaSetAvailable';
      message = `ReplicaSet "${rsName}" has successfully progressed.`;
      p.timedOut = false;
    } else if (p.timedOut || (!spec.paused && Date.now() - p.at > deadline)) {
      if (!p.timedOut)
        this.emit(
          d,
          'Warning',
          'ProgressDeadlineExceeded',
          `Deployment "${d.metadata.name}" has timed out progressing.`,
          'deployment-controller',
        );
      p.timedOut = true;
      status = 'False';
      reason = 'ProgressDeadlineExceeded';
      message = `ReplicaSet "${rsName}" has timed out progressing.`;
    }
    const availableOk = available >= replicas - maxUnavailable;
    const conditions = [
      availableOk
        ? cond(
            prev,
            'Available',
            'True',
            'MinimumReplicasAvailable',
            'Deployment has minimum availability.',
            true,
          )
        : cond(
            prev,
            'Available',
            'False',
            'MinimumReplicasUnavailable',
            'Deployment does not have minimum availability.',
            true,
          ),
      cond(prev, 'Progressing', status, reason, message, true),
    ];
    const st: Obj = {
      observedGeneration: d.metadata.generation,
      ...(total ? { replicas: total } : {}),
      ...(updated ? { updatedReplicas: updated } : {}),
      ...(ready ? { readyReplicas: ready } : {}),
      ...(available ? { availableReplicas: available } : {}),
      ...(replicas - available > 0 ? { unavailableReplicas: replicas - available } : {}),
      conditions,
    };
    this.setStatus(RES.deploy, d, st);
  }

  private replicaSet(rs: Obj): void {
    const want: number = rs.spec.replicas ?? 1;
    let pods = this.podsOf(rs).filter((p) => !p.metadata.deletionTimestamp);
    for (let i = pods.length; i < want; i++) {
      this.newPod(rs, rs.spec.template, `${rs.metadata.name}-${randSuffix()}`, {});
    }
    if (pods.length > want) {
      // Not-ready pods go first, then the youngest.
      const order = [...pods].sort(
        (a, b) =>
          Number(Controllers.isReady(a)) - Number(Controllers.isReady(b)) ||
          String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
      );
      for (const p of order.slice(0, pods.length - want)) {
        this.store.delete(RES.pod, p.metadata.namespace, p.metadata.name);
        this.emit(
          rs,
          'Normal',
          'SuccessfulDelete',
          `Deleted pod: ${p.metadata.name}`,
          'replicaset-controller',
        );
      }
    }
    pods = this.podsOf(rs);
    const ready = pods.filter(Controllers.isReady).length;
    this.setStatus(RES.rs, rs, {
      replicas: pods.length,
      ...(pods.length ? { fullyLabeledReplicas: pods.length } : {}),
      ...(ready ? { readyReplicas: ready, availableReplicas: ready } : {}),
      observedGeneration: rs.metadata.generation,
    });
  }

  // ---------------------------------------------------------------- statefulsets and daemonsets

  /** The ControllerRevision for the current template (created or promoted); returns its name. */
  private controllerRevision(owner: Obj): string {
    const hash = safeHash(owner.spec.template);
    const name = `${owner.metadata.name}-${hash}`;
    const crs = this.store.list(RES.cr, owner.metadata.namespace, (cr) => ownedBy(cr, owner));
    const max = Math.max(0, ...crs.map((c) => Number(c.revision ?? 0)));
    const cur = crs.find((c) => c.metadata.name === name);
    if (!cur) {
      this.store.create(RES.cr, {
        metadata: {
          name,
          namespace: owner.metadata.namespace,
          labels: { ...(owner.spec.selector?.matchLabels ?? {}), 'controller.kubernetes.io/hash': hash },
          ownerReferences: [ownerRef(owner)],
        },
        data: { spec: { template: { ...structuredClone(owner.spec.template), $patch: 'replace' } } },
        revision: max + 1,
      });
    } else if (Number(cur.revision) < max) {
      this.store.update(RES.cr, { ...cur, revision: max + 1 });
    }
    return name;
  }

  private statefulSet(s: Obj): void {
    const replicas: number = s.spec.replicas ?? 1;
    const updateRevision = this.controllerRevision(s);
    const crHash = updateRevision;
    // Pods below the partition keep their revision (all of them with OnDelete), as the real
    // controller does; the others are replaced by pods of the update revision.
    const strategy = s.spec.updateStrategy ?? {};
    const partition: number =
      strategy.type === 'OnDelete' ? replicas : (strategy.rollingUpdate?.partition ?? 0);
    let pods = this.podsOf(s);
    for (const p of pods) {
      const idx = Number(p.metadata.name.slice(s.metadata.name.length + 1));
      const stale = p.metadata.labels?.['controller-revision-hash'] !== crHash && idx >= partition;
      if (idx >= replicas || stale) this.store.delete(RES.pod, p.metadata.namespace, p.metadata.name);
    }
    for (let i = 0; i < replicas; i++) {
      const name = `${s.metadata.name}-${i}`;
      if (!this.store.get(RES.pod, s.metadata.namespace, name))
        this.newPod(s, s.spec.template, name, {
          'controller-revision-hash': crHash,
          'statefulset.kubernetes.io/pod-name': name,
          'apps.kubernetes.io/pod-index': String(i),
        });
    }
    pods = this.podsOf(s);
    const ready = pods.filter(Controllers.isReady).length;
    const updated = pods.filter(
      (p) => p.metadata.labels?.['controller-revision-hash'] === updateRevision,
    ).length;
    const prevCurrent = s.status?.currentRevision as string | undefined;
    const done = updated === replicas && ready === replicas;
    const currentRevision =
      done || !prevCurrent ? (done ? updateRevision : (prevCurrent ?? updateRevision)) : prevCurrent;
    const current = pods.filter(
      (p) => p.metadata.labels?.['controller-revision-hash'] === currentRevision,
    ).length;
    this.setStatus(RES.sts, s, {
      observedGeneration: s.metadata.generation,
      replicas: pods.length,
      ...(ready ? { readyReplicas: ready, availableReplicas: ready } : { availableReplicas: 0 }),
      ...(current ? { currentReplicas: current } : {}),
      ...(updated ? { updatedReplicas: updated } : {}),
      currentRevision,
      updateRevision,
      collisionCount: 0,
    });
  }

  private daemonSet(ds: Obj): void {
    const updateRevision = this.controllerRevision(ds);
    const hash = updateRevision.slice(ds.metadata.name.length + 1);
    let pods = this.podsOf(ds);
    for (const p of pods)
      if (p.metadata.labels?.['controller-revision-hash'] !== hash)
        this.store.delete(RES.pod, p.metadata.namespace, p.metadata.name);
    pods = this.podsOf(ds);
    for (let i = pods.length; i < this.opts.nodes; i++)
      this.newPod(ds, ds.spec.template, `${ds.metadata.name}-${randSuffix()}`, {
        'controller-revision-hash': hash,
        'pod-template-generation': String(ds.metadata.generation ?? 1),
      });
    pods = this.podsOf(ds);
    const ready = pods.filter(Controllers.isReady).length;
    this.setStatus(RES.ds, ds, {
      currentNumberScheduled: pods.length,
      desiredNumberScheduled: this.opts.nodes,
      numberMisscheduled: 0,
      numberReady: ready,
      ...(ready ? { numberAvailable: ready } : {}),
      ...(this.opts.nodes - ready > 0 ? { numberUnavailable: this.opts.nodes - ready } : {}),
      updatedNumberScheduled: pods.length,
      observedGeneration: ds.metadata.generation,
    });
  }

  // ---------------------------------------------------------------- jobs

  private job(j: Obj): void {
    if (
      (j.status?.conditions ?? []).some(
        (c: Obj) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
      )
    )
      return;
    if (j.spec.suspend) return;
    const completions: number = j.spec.completions ?? 1;
    const backoffLimit: number = j.spec.backoffLimit ?? 6;
    const pods = this.podsOf(j);
    const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length;
    const failed = pods.filter((p) => p.status?.phase === 'Failed').length;
    const active = pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    const status: Obj = { ...(j.status ?? {}), startTime: j.status?.startTime ?? now() };
    if (failed > backoffLimit) {
      for (const p of active) this.store.delete(RES.pod, p.metadata.namespace, p.metadata.name);
      status.failed = failed;
      delete status.active;
      status.conditions = [
        cond(
          j.status?.conditions,
          'FailureTarget',
          'True',
          'BackoffLimitExceeded',
          'Job has reached the specified backoff limit',
        ),
        cond(
          j.status?.conditions,
          'Failed',
          'True',
          'BackoffLimitExceeded',
          'Job has reached the specified backoff limit',
        ),
      ].map((c) => ({ ...c, lastProbeTime: c.lastTransitionTime }));
      this.emit(
        j,
        'Warning',
        'BackoffLimitExceeded',
        'Job has reached the specified backoff limit',
        'job-controller',
      );
      this.setStatus(RES.job, j, status);
      return;
    }
    if (succeeded >= completions) {
      for (const p of active) this.store.delete(RES.pod, p.metadata.namespace, p.metadata.name);
      status.succeeded = succeeded;
      delete status.active;
      status.ready = 0;
      status.completionTime = now();
      status.conditions = [
        cond(
          j.status?.conditions,
          'SuccessCriteriaMet',
          'True',
          'CompletionsReached',
          'Reached expected number of succeeded pods',
        ),
        cond(
          j.status?.conditions,
          'Complete',
          'True',
          'CompletionsReached',
          'Reached expected number of succeeded pods',
        ),
      ].map((c) => ({ ...c, lastProbeTime: c.lastTransitionTime }));
      this.emit(j, 'Normal', 'Completed', 'Job completed', 'job-controller');
      this.setStatus(RES.job, j, status);
      return;
    }
    const want = Math.min(j.spec.parallelism ?? 1, completions - succeeded);
    for (let i = active.length; i < want; i++)
      this.newPod(j, j.spec.template, `${j.metadata.name}-${randSuffix()}`, {});
    const nowActive = this.podsOf(j).filter(
      (p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
    );
    if (nowActive.length) status.active = nowActive.length;
    else delete status.active;
    if (succeeded) status.succeeded = succeeded;
    if (failed) status.failed = failed;
    status.ready = nowActive.filter(Controllers.isReady).length;
    status.terminating = 0;
    status.uncountedTerminatedPods ??= {};
    this.setStatus(RES.job, j, status);
  }

  // ---------------------------------------------------------------- horizontal pod autoscaler

  /**
   * What the HPA controller does without a metrics API (as on a cluster without metrics-server):
   * a target below minReplicas or above maxReplicas is scaled into range, through the scale
   * subresource (field manager kube-controller-manager); nothing else.
   */
  private autoscaler(h: Obj): void {
    const ref = h.spec?.scaleTargetRef ?? {};
    const res = ref.kind === 'Deployment' ? RES.deploy : ref.kind === 'StatefulSet' ? RES.sts : undefined;
    if (!res) return;
    const target = this.store.get(res, h.metadata.namespace, ref.name);
    if (!target) return;
    const current = target.spec?.replicas ?? 1;
    const min = h.spec?.minReplicas ?? 1;
    const max = h.spec?.maxReplicas ?? current;
    const want = Math.min(max, Math.max(min, current));
    if (want === current) return;
    const next = structuredClone(target);
    next.spec.replicas = want;
    recordUpdate(target, next, 'kube-controller-manager', 'apps/v1', 'scale');
    this.store.update(res, next);
  }

  // ---------------------------------------------------------------- kubelet

  private kubelet(p: Obj): void {
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const uid = p.metadata.uid as string;
    let born = this.born.get(uid);
    if (born === undefined) this.born.set(uid, (born = Date.now()));
    const elapsed = Date.now() - born;
    const containers = (p.spec?.containers ?? []) as Obj[];
    const runOnce = p.spec?.restartPolicy && p.spec.restartPolicy !== 'Always';
    const failing = containers.map((c) => [c, this.failureOf(c, p)] as const).find(([, f]) => f);
    const prev = p.status ?? {};
    const ts = prev.startTime ?? now();
    const ip = prev.podIP ?? `10.244.0.${(this.podIp = (this.podIp % 250) + 1)}`;
    const base: Obj = {
      hostIP: '172.18.0.2',
      hostIPs: [{ ip: '172.18.0.2' }],
      podIP: ip,
      podIPs: [{ ip }],
      qosClass: 'BestEffort',
      startTime: ts,
    };
    const conds = (ready: boolean, initialized = true) =>
      [
        cond(prev.conditions, 'PodReadyToStartContainers', 'True', '', ''),
        cond(prev.conditions, 'Initialized', initialized ? 'True' : 'False', '', ''),
        cond(
          prev.conditions,
          'Ready',
          ready ? 'True' : 'False',
          ready ? '' : 'ContainersNotReady',
          ready ? '' : `containers with unready status: [${containers.map((c) => c.name).join(' ')}]`,
        ),
        cond(
          prev.conditions,
          'ContainersReady',
          ready ? 'True' : 'False',
          ready ? '' : 'ContainersNotReady',
          ready ? '' : `containers with unready status: [${containers.map((c) => c.name).join(' ')}]`,
        ),
        cond(prev.conditions, 'PodScheduled', 'True', '', ''),
      ].map((c) => {
        const out: Obj = {
          type: c.type,
          status: c.status,
          lastProbeTime: null,
          lastTransitionTime: c.lastTransitionTime,
        };
        if (c.reason) out.reason = c.reason;
        if (c.message) out.message = c.message;
        return out;
      });
    const prevCs = (name: string) => ((prev.containerStatuses ?? []) as Obj[]).find((c) => c.name === name);
    const imageId = (img: string) =>
      `${img.split('@')[0]}@sha256:${createHash('sha256').update(img).digest('hex')}`;
    const csOf = (c: Obj, state: Obj, ready: boolean, extra: Obj = {}) => ({
      name: c.name,
      image: c.image,
      imageID: state.running || state.terminated ? imageId(c.image) : '',
      ...(state.running || state.terminated
        ? { containerID: `containerd://${safeHash([uid, c.name], 32)}` }
        : {}),
      ready,
      started: !!state.running,
      restartCount: 0,
      state,
      ...extra,
    });
    let status: Obj;
    if (elapsed < this.opts.readyDelayMs) {
      status = {
        ...base,
        phase: 'Pending',
        conditions: conds(false),
        containerStatuses: containers.map((c) =>
          csOf(c, { waiting: { reason: 'ContainerCreating' } }, false),
        ),
      };
    } else if (failing && WAITING_ONLY[failing[1]!]) {
      const [fc, how] = failing;
      this.emit(
        p,
        'Warning',
        how === 'InvalidImageName' ? 'InspectFailed' : 'Failed',
        WAITING_ONLY[how!]!(fc),
        'kubelet',
      );
      this.emit(p, 'Warning', 'Failed', `Error: ${how}`, 'kubelet');
      status = {
        ...base,
        phase: 'Pending',
        conditions: conds(false),
        containerStatuses: containers.map((c) => {
          const f = this.failureOf(c, p);
          return f && WAITING_ONLY[f]
            ? csOf(c, { waiting: { reason: f, message: WAITING_ONLY[f]!(c) } }, false)
            : csOf(c, { running: { startedAt: prevCs(c.name)?.state?.running?.startedAt ?? now() } }, true);
        }),
      };
    } else if (failing && failing[1] === 'ImagePullBackOff') {
      const [fc] = failing;
      this.emit(p, 'Normal', 'Pulling', `Pulling image "${fc.image}"`, 'kubelet');
      this.emit(
        p,
        'Warning',
        'Failed',
        `Failed to pull image "${fc.image}": rpc error: code = NotFound desc = failed to pull and unpack image "${fc.image}": not found`,
        'kubelet',
      );
      this.emit(p, 'Warning', 'Failed', 'Error: ErrImagePull', 'kubelet');
      this.emit(p, 'Normal', 'BackOff', `Back-off pulling image "${fc.image}"`, 'kubelet');
      this.emit(p, 'Warning', 'Failed', 'Error: ImagePullBackOff', 'kubelet');
      status = {
        ...base,
        phase: 'Pending',
        conditions: conds(false),
        containerStatuses: containers.map((c) =>
          this.failureOf(c, p) === 'ImagePullBackOff'
            ? csOf(
                c,
                { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` } },
                false,
              )
            : csOf(c, { running: { startedAt: prevCs(c.name)?.state?.running?.startedAt ?? now() } }, true),
        ),
      };
    } else if (failing && failing[1] === 'CrashLoopBackOff') {
      const [fc] = failing;
      this.emit(p, 'Normal', 'Pulled', `Container image "${fc.image}" already present on machine`, 'kubelet');
      this.emit(p, 'Normal', 'Created', `Created container ${fc.name}`, 'kubelet');
      this.emit(p, 'Normal', 'Started', `Started container ${fc.name}`, 'kubelet');
      this.emit(
        p,
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${fc.name} in pod ${p.metadata.name}_${p.metadata.namespace}(${uid})`,
        'kubelet',
      );
      const terminated = {
        exitCode: 1,
        reason: 'Error',
        startedAt: ts,
        finishedAt: ts,
        containerID: `containerd://${safeHash([uid, fc.name], 32)}`,
      };
      if (runOnce) {
        status = {
          ...base,
          phase: 'Failed',
          conditions: conds(false),
          containerStatuses: containers.map((c) => csOf(c, { terminated }, false)),
        };
      } else {
        const restarts = Math.min(5, 1 + Math.floor((elapsed - this.opts.readyDelayMs) / 2000));
        status = {
          ...base,
          phase: 'Running',
          conditions: conds(false),
          containerStatuses: containers.map((c) =>
            this.failureOf(c, p) === 'CrashLoopBackOff'
              ? csOf(
                  c,
                  {
                    waiting: {
                      reason: 'CrashLoopBackOff',
                      message: `back-off 10s restarting failed container=${c.name} pod=${p.metadata.name}_${p.metadata.namespace}(${uid})`,
                    },
                  },
                  false,
                  {
                    restartCount: restarts,
                    lastState: { terminated },
                    imageID: imageId(c.image),
                    containerID: terminated.containerID,
                  },
                )
              : csOf(c, { running: { startedAt: prevCs(c.name)?.state?.running?.startedAt ?? now() } }, true),
          ),
        };
      }
    } else {
      for (const c of containers) {
        this.emit(
          p,
          'Normal',
          'Pulled',
          `Container image "${c.image}" already present on machine`,
          'kubelet',
        );
        this.emit(p, 'Normal', 'Created', `Created container ${c.name}`, 'kubelet');
        this.emit(p, 'Normal', 'Started', `Started container ${c.name}`, 'kubelet');
      }
      if (runOnce && elapsed >= this.opts.readyDelayMs + this.opts.jobDurationMs) {
        status = {
          ...base,
          phase: 'Succeeded',
          conditions: conds(false),
          containerStatuses: containers.map((c) =>
            csOf(
              c,
              { terminated: { exitCode: 0, reason: 'Completed', startedAt: ts, finishedAt: now() } },
              false,
            ),
          ),
        };
      } else {
        status = {
          ...base,
          phase: 'Running',
          conditions: conds(true),
          containerStatuses: containers.map((c) =>
            csOf(c, { running: { startedAt: prevCs(c.name)?.state?.running?.startedAt ?? now() } }, true),
          ),
        };
      }
    }
    this.setStatus(RES.pod, p, status);
  }

  /** How a container fails, if it does: by its image, else by the first rule that says so. */
  private failureOf(c: Obj, p: Obj): ImageFailure | undefined {
    return (
      this.failImages.get(c.image) ?? this.failRules.map((r) => r(c, p)).find(Boolean) ?? markerFailure(c, p)
    );
  }

  /** A pod container's log: what a test set for the pod's name prefix, or a generated one. */
  podLog(p: Obj, container: string | undefined): string[] {
    for (const [prefix, lines] of this.logs) if (p.metadata.name.startsWith(prefix)) return lines;
    const c = ((p.spec?.containers ?? []) as Obj[]).find((x) => !container || x.name === container);
    if (!c) return [];
    const lines = [`starting ${c.name} (${c.image})`];
    if (this.failureOf(c, p) === 'CrashLoopBackOff')
      lines.push('panic: simulated crash: the application exited', 'exit status 1');
    else if (this.failureOf(c, p) !== 'ImagePullBackOff') lines.push('listening on :8080', 'ready');
    else return [];
    return lines;
  }
}

export { RES };
