import { formatDuration, type Logger } from '../core/index.js';
import { watchWorkloads, type Outcome } from '../deploy/index.js';
import { KubeApiError, type KubeObject } from '../kube/index.js';
import type { Scope } from './claims.js';
import { PREFIX } from './state.js';

/**
 * Sleep and wake (`sleep-after`): an environment nobody touched for that long has its Deployments
 * and StatefulSets scaled to 0 by the scheduled run, each remembering its replicas in an
 * annotation; a wake (a push, `/feature-env wake`, the label added again) brings back exactly those
 * replicas and waits until they are ready. The namespace says since when it sleeps.
 *
 * The replicas are written by a field manager of their own, which is removed from the workload's
 * managedFields once they are back: the next deploy's server-side apply owns `replicas` again and
 * never conflicts with the sleep (a changed `replicas` in the manifests simply applies).
 */
/** On each workload put to sleep: its replicas before (restored on wake). */
export const A_SLEEP_REPLICAS = `${PREFIX}fe-asleep-replicas`;
/** The field manager of the sleep's and the wake's writes of `replicas`. */
export const SLEEP_MANAGER = 'commit-to-cloud-feature-env-sleep';

/** The kinds that sleep: those with replicas. DaemonSets (one pod per node) and Jobs stay as they are. */
const SLEEPING_KINDS = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
] as const;

const refOf = (w: KubeObject) => ({
  apiVersion: w.apiVersion,
  kind: w.kind,
  namespace: w.metadata.namespace!,
  name: String(w.metadata.name),
});

/**
 * Scales every Deployment and StatefulSet of the namespace to 0, remembering its replicas; one that
 * sleeps already (annotated) or runs none is left. The namespace is marked first, so a run that
 * stops half-way leaves an environment that says it sleeps and that a wake restores in full.
 * Returns what was scaled down (kind/name=replicas).
 */
export async function sleepEnvironment(
  s: Scope,
  namespace: string,
  mark: () => Promise<void>,
): Promise<string[]> {
  await mark();
  const slept: string[] = [];
  for (const k of SLEEPING_KINDS) {
    const list = await s.client.list(k.apiVersion, k.kind, { namespace });
    for (const w of list.items) {
      if (w.metadata.annotations?.[A_SLEEP_REPLICAS] !== undefined) continue;
      const replicas = Number((w.spec as { replicas?: number } | undefined)?.replicas ?? 1);
      if (!replicas) continue;
      await s.client.patch(
        refOf(w),
        {
          metadata: {
            resourceVersion: w.metadata.resourceVersion,
            annotations: { [A_SLEEP_REPLICAS]: String(replicas) },
          },
          spec: { replicas: 0 },
        },
        'merge',
        { fieldManager: SLEEP_MANAGER },
      );
      slept.push(`${k.kind}/${w.metadata.name}=${replicas}`);
    }
  }
  s.logger.info(
    `${namespace}: asleep, ${slept.length ? `scaled to 0: ${slept.join(', ')}` : 'nothing to scale'}`,
  );
  return slept;
}

export interface Woken {
  /** kind/name=replicas restored. */
  restored: string[];
  /** Workloads that did not become ready (key: why). */
  failed: Array<{ key: string; message: string }>;
}

/**
 * Restores every workload the sleep scaled down (its remembered replicas), hands `replicas` back
 * (the sleep's field manager leaves managedFields), then waits until they are ready (the deploy's
 * rollout watch, within `timeoutMs`). The caller clears the namespace's mark after.
 */
export async function wakeEnvironment(
  s: Scope,
  namespace: string,
  o: { timeoutMs: number; logger: Logger; now?: () => number; failFast?: { graceMs: number } },
): Promise<Woken> {
  const written: KubeObject[] = [];
  const since: Array<{ apiVersion: string; kind: string; namespace: string; resourceVersion: string }> = [];
  const restored: string[] = [];
  for (const k of SLEEPING_KINDS) {
    const list = await s.client.list(k.apiVersion, k.kind, { namespace });
    if (list.metadata?.resourceVersion)
      since.push({ ...k, namespace, resourceVersion: list.metadata.resourceVersion });
    for (const w of list.items) {
      const remembered = w.metadata.annotations?.[A_SLEEP_REPLICAS];
      if (remembered === undefined) continue;
      const replicas = Number(remembered) || 1;
      const back = await s.client.patch(
        refOf(w),
        {
          metadata: {
            resourceVersion: w.metadata.resourceVersion,
            annotations: { [A_SLEEP_REPLICAS]: null },
          },
          spec: { replicas },
        },
        'merge',
        { fieldManager: SLEEP_MANAGER },
      );
      written.push(await releaseReplicas(s, back));
      restored.push(`${k.kind}/${w.metadata.name}=${replicas}`);
    }
  }
  o.logger.info(
    `${namespace}: waking, ${restored.length ? `restored ${restored.join(', ')}` : 'nothing to restore'}`,
  );
  const failed: Woken['failed'] = [];
  if (written.length) {
    const outcome: Map<string, Outcome> = await watchWorkloads(s.client, written, since, {
      timeoutMs: o.timeoutMs,
      logger: o.logger,
      now: o.now ?? Date.now,
      ...(o.failFast ? { failFast: o.failFast } : {}),
    });
    for (const [key, r] of outcome) if (!r.status.done) failed.push({ key, message: r.status.message });
    if (!failed.length)
      o.logger.info(
        `${namespace}: awake, ${written.length} workload(s) ready in ${formatDuration(Math.max(...[...outcome.values()].map((r) => r.ms)))}`,
      );
  }
  return { restored, failed };
}

/**
 * Removes the sleep's field manager from the workload's managedFields (written as the server gave
 * them, on the version just read): `replicas` then belongs to nobody until the next apply takes it.
 * A concurrent write (409) reads again.
 */
async function releaseReplicas(s: Scope, w: KubeObject): Promise<KubeObject> {
  let current = w;
  for (let attempt = 1; ; attempt++) {
    const fields = current.metadata.managedFields ?? [];
    const kept = fields.filter((f) => f.manager !== SLEEP_MANAGER);
    if (kept.length === fields.length || !kept.length) return current;
    try {
      return await s.client.patch(
        refOf(current),
        { metadata: { resourceVersion: current.metadata.resourceVersion, managedFields: kept } },
        'merge',
      );
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 409) || attempt >= 5) throw e;
      current = (await s.client.get(refOf(current))) ?? current;
    }
  }
}
