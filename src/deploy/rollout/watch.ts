import { cancelReason, formatDuration, errorMessage } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import type { KubeClient, KubeObject } from '../../kube/index.js';
import { collectionKey, groupByCollection, keyOf, type Item } from '../items.js';
import { get, kindOf, nameOf, type JsonObject } from '../objects.js';
import { podsForWorkload } from './diagnose.js';
import { describeUnhealable, findUnhealable, lastWriteTime, type FailFastOptions } from './fail-fast.js';
import { type RolloutStatus, rolloutStatus } from '../kinds/index.js';
import { workloadOverrides, type WorkloadOverrides } from '../overrides.js';

export interface Outcome {
  status: RolloutStatus;
  ms: number;
  timedOut: boolean;
  /** The workload as last seen (the watch's latest version, else the apply's answer). */
  object: KubeObject;
}

export interface WatchRolloutsOptions {
  /** Per collection, the resourceVersion to watch from (read before this run changed anything). */
  startVersions: Map<string, string>;
  timeoutMs: number;
  logger: Logger;
  now: () => number;
  /** Fail a rollout as soon as its new pods are in a state that will not heal (undefined: off). */
  failFast?: FailFastOptions;
  /**
   * The workloads' own `commit-to-cloud.dev/timeout` and `fail-fast-grace` annotations replace
   * `timeoutMs` and the fail-fast grace (the deploy's watch; not a rollback's, whose timeout is the
   * rollback timeout for all).
   */
  workloadOverrides?: boolean;
  /** The run is cancelled: every rollout still watched ends at once as failed ("cancelled"). */
  signal?: AbortSignal;
  /** Told each workload's status as it changes (a live status; see DeployContext.onProgress). */
  report?: (it: Item, state: 'rolling out' | 'ready' | 'failed', message: string) => void;
}

/**
 * Watches every workload until its rollout is done, has failed, or its deadline passes (the
 * `timeout` input, or the workload's own `commit-to-cloud.dev/timeout`): one watch
 * stream per kind and namespace (not per object), from the collection's version read before this
 * run changed anything, so nothing is missed.
 *
 * That replays every change since then, other writers' included (an HPA, `kubectl annotate`, the
 * controller's status writes): such an event can show the old generation, fully rolled out. So a
 * workload is judged only on an object whose `metadata.generation` is at least the generation the
 * apply returned (and, by the status rules, whose `status.observedGeneration` has reached it), as
 * kubectl does.
 *
 * With fail-fast, one pod watch per namespace follows the pods created since the apply: a pod
 * state that will not heal (findUnhealable) fails that rollout at once, naming the cause.
 */
export async function watchRollouts(
  client: KubeClient,
  items: Item[],
  o: WatchRolloutsOptions,
): Promise<Map<Item, Outcome>> {
  const { startVersions, logger, now } = o;
  const start = now();
  const own = (it: Item): Partial<WorkloadOverrides> =>
    o.workloadOverrides ? workloadOverrides(it.object) : {};
  const timeoutMs = new Map(items.map((it) => [it, own(it).timeoutMs ?? o.timeoutMs]));
  const progress = new Progress(logger, start, (it) => timeoutMs.get(it)!, now);
  const update = (it: Item, message: string) => {
    progress.update(it, message);
    o.report?.(it, 'rolling out', message);
  };
  const out = new Map<Item, Outcome>();
  const pending = new Set<Item>();
  const lastSeen = new Map<Item, { status: RolloutStatus; object: KubeObject }>();
  for (const it of items) {
    const st = rolloutStatus(it.applied) ?? {
      done: true,
      failed: false,
      message: 'not watched',
    };
    // Done already (nothing to roll out, or the controller was quicker than the response) or failed.
    if (st.done || st.failed) {
      out.set(it, { status: st, ms: now() - start, timedOut: false, object: it.applied ?? it.object });
      o.report?.(it, st.failed ? 'failed' : 'ready', st.message);
    } else {
      pending.add(it);
      update(it, st.message);
    }
  }
  const groups = [...groupByCollection([...pending])];
  const controller = new AbortController();
  const groupControllers = new Map(groups.map(([key]) => [key, new AbortController()]));
  const groupOf = new Map(groups.flatMap(([key, group]) => group.map((it) => [it, key] as const)));
  controller.signal.addEventListener('abort', () => groupControllers.forEach((c) => c.abort()));

  /** A workload's rollout ended (done, failed or failed fast): its group's watch stops when all have. */
  const settle = (it: Item, status: RolloutStatus, object: KubeObject, timedOut = false) => {
    if (!pending.has(it)) return;
    pending.delete(it);
    progress.forget(it);
    out.set(it, { status, ms: now() - start, timedOut, object });
    logger.info(`${it.key}: ${status.message}`);
    o.report?.(it, status.failed ? 'failed' : 'ready', status.message);
    const key = groupOf.get(it)!;
    if (groups.find(([k]) => k === key)![1].every((g) => !pending.has(g))) groupControllers.get(key)!.abort();
  };
  /** Its deadline passed: timed out, with the last status seen. */
  const timeOut = (it: Item) => {
    const seen = lastSeen.get(it);
    const status: RolloutStatus = {
      done: false,
      failed: true,
      message: `timed out after ${formatDuration(timeoutMs.get(it)!)}${seen ? `: ${seen.status.message}` : ''}`,
    };
    settle(it, status, seen?.object ?? it.applied ?? it.object, true);
  };
  const cancel = () => {
    for (const it of [...pending]) {
      const seen = lastSeen.get(it);
      settle(
        it,
        {
          done: false,
          failed: true,
          message: `cancelled (${cancelReason(o.signal!)}) while its rollout was watched${seen ? `: ${seen.status.message}` : ''}`,
        },
        seen?.object ?? it.applied ?? it.object,
      );
    }
  };
  if (o.signal?.aborted) queueMicrotask(cancel);
  o.signal?.addEventListener('abort', cancel, { once: true });
  // One deadline per workload (most share the deploy's timeout); each group's watch stops when its
  // last workload has settled.
  const timers = [...pending].map((it) =>
    setTimeout(() => timeOut(it), Math.max(0, start + timeoutMs.get(it)! - now())),
  );

  // The pod watch starts only for rollouts still running after a second: a quick rollout (most of
  // them) costs no pod requests, and fail-fast has nothing to catch in a second anyway.
  const pods = o.failFast
    ? new PodFailFast(
        client,
        pending,
        (it) => {
          const grace = own(it).failFastGraceMs;
          return grace === undefined ? o.failFast! : { ...o.failFast!, graceMs: grace };
        },
        logger,
        now,
        (it, st, obj) => settle(it, st, obj),
        lastSeen,
      )
    : undefined;
  let podWork: Promise<void> | undefined;
  const podTimer = pods
    ? setTimeout(() => {
        if (pending.size) podWork = pods.run();
      }, o.failFast?.startAfterMs ?? 1_000)
    : undefined;
  try {
    await Promise.all(
      groups.map(async ([key, group]) => {
        const first = group[0]!;
        const byName = new Map(group.map((it) => [String(it.object.metadata.name), it]));
        const signal = groupControllers.get(key)!.signal;
        const rv = startVersions.get(key);
        try {
          for await (const ev of client.watch(first.info.apiVersion, first.info.kind, {
            ...(first.namespace ? { namespace: first.namespace } : {}),
            ...(rv ? { resourceVersion: rv } : {}),
            signal,
          })) {
            if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED') continue;
            const it = byName.get(ev.object.metadata.name ?? '');
            if (!it || !pending.has(it)) continue;
            // An object older than this run's apply says nothing about this run's rollout.
            if ((ev.object.metadata.generation ?? 0) < generationOf(it)) continue;
            const st = rolloutStatus(ev.object);
            if (!st) continue;
            lastSeen.set(it, { status: st, object: ev.object });
            if (st.done || st.failed) settle(it, st, ev.object);
            else update(it, st.message);
            if (group.every((g) => !pending.has(g))) break;
          }
        } catch (e) {
          if (!signal.aborted) throw e;
        }
      }),
    );
    clearTimeout(podTimer);
    pods?.stop();
    await podWork;
  } finally {
    o.signal?.removeEventListener('abort', cancel);
    timers.forEach(clearTimeout);
    clearTimeout(podTimer);
    progress.stop();
    pods?.stop();
    controller.abort();
  }
  // Still pending after the watches ended: timed out (settle makes each one's row once).
  for (const it of [...pending]) timeOut(it);
  return out;
}

/**
 * Fail-fast's eyes: one pod watch per namespace of the pending workloads, and a check of their new
 * pods on every pod event and every second (a pull failure fails only after its grace period).
 */
class PodFailFast {
  private readonly pods = new Map<string, Map<string, JsonObject>>();
  private readonly firstSeen = new Map<string, number>();
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly pending: Set<Item>,
    private readonly optsOf: (it: Item) => FailFastOptions,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly settle: (it: Item, status: RolloutStatus, object: KubeObject) => void,
    private readonly lastSeen: Map<Item, { status: RolloutStatus; object: KubeObject }>,
  ) {}

  async run(): Promise<void> {
    const namespaces = [...new Set([...this.pending].map((i) => i.namespace ?? ''))];
    this.timer = setInterval(() => namespaces.forEach((ns) => this.check(ns)), 1_000);
    this.timer.unref();
    await Promise.all(
      namespaces.map(async (ns) => {
        const byName = new Map<string, JsonObject>();
        this.pods.set(ns, byName);
        try {
          for await (const ev of this.client.watch('v1', 'Pod', {
            ...(ns ? { namespace: ns } : {}),
            signal: this.controller.signal,
          })) {
            const name = ev.object.metadata.name ?? '';
            if (ev.type === 'DELETED') byName.delete(name);
            else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') byName.set(name, ev.object);
            else continue;
            this.check(ns);
          }
        } catch (e) {
          if (this.controller.signal.aborted) return;
          this.logger.warning(
            `fail-fast cannot follow the pods of namespace '${ns}' (${errorMessage(e)}): rollouts there end by their progress deadline or the timeout`,
          );
        }
      }),
    );
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.controller.abort();
  }

  private check(ns: string): void {
    const inNs = [...(this.pods.get(ns)?.values() ?? [])];
    for (const it of [...this.pending].filter((i) => (i.namespace ?? '') === ns)) {
      const workload = this.lastSeen.get(it)?.object ?? it.applied ?? it.object;
      // Only pods made since this run's write: an old pod's trouble is not this rollout's.
      const since = lastWriteTime(it.applied);
      const mine = podsForWorkload(workload, inNs).filter(
        (p) => !since || String(get(p, 'metadata', 'creationTimestamp') ?? '') >= since,
      );
      const u = findUnhealable(mine, this.optsOf(it), this.firstSeen, this.now());
      if (!u) continue;
      this.settle(
        it,
        {
          done: false,
          failed: true,
          message: `${kindOf(workload).toLowerCase()} "${nameOf(workload)}" cannot become ready (failing fast): ${describeUnhealable(u)}`,
        },
        workload,
      );
    }
  }
}

/**
 * kubectl-style progress of long rollouts: a workload's status line when it changes, at most one
 * per workload every `minIntervalMs` (a change inside that window is printed when it ends), and the
 * last line again after `heartbeatMs` of silence, so a wait is never silent; each line ends with
 * the time elapsed against the timeout.
 */
class Progress {
  private readonly state = new Map<Item, { message: string; printedAt: number; printed: string }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly logger: Logger,
    private readonly start: number,
    private readonly timeoutOf: (it: Item) => number,
    private readonly now: () => number,
    private readonly minIntervalMs = 5_000,
    private readonly heartbeatMs = 30_000,
  ) {
    this.timer = setInterval(() => this.tick(), 1_000);
    this.timer.unref();
  }

  update(it: Item, message: string): void {
    const s = this.state.get(it);
    if (!s) {
      this.state.set(it, { message, printedAt: this.now(), printed: message });
      this.print(it, message);
      return;
    }
    s.message = message;
    if (message !== s.printed && this.now() - s.printedAt >= this.minIntervalMs) this.flush(it, s);
  }

  forget(it: Item): void {
    this.state.delete(it);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const t = this.now();
    for (const [it, s] of this.state) {
      const changed = s.message !== s.printed && t - s.printedAt >= this.minIntervalMs;
      if (changed || t - s.printedAt >= this.heartbeatMs) this.flush(it, s);
    }
  }

  private flush(it: Item, s: { message: string; printedAt: number; printed: string }): void {
    s.printedAt = this.now();
    s.printed = s.message;
    this.print(it, s.message);
  }

  private print(it: Item, message: string): void {
    this.logger.info(
      `${it.key}: ${message} [${formatDuration(this.now() - this.start)} of ${formatDuration(this.timeoutOf(it))}]`,
    );
  }
}

/** The generation the apply (or the rollback) returned: the first that shows this run's change. */
function generationOf(it: Item): number {
  return (it.applied ?? it.object).metadata.generation ?? 0;
}

/**
 * Waits for workloads written outside a deploy (a feature environment woken from its sleep: its
 * replicas restored) with the same watch as a deploy's rollouts: `written` as the writes returned
 * them, `since` the versions of their collections (lists) read before the writes. Outcomes by
 * `kind/ns/name`.
 */
export async function watchWorkloads(
  client: KubeClient,
  written: KubeObject[],
  since: Array<{ apiVersion: string; kind: string; namespace?: string; resourceVersion: string }>,
  o: Omit<WatchRolloutsOptions, 'workloadOverrides' | 'startVersions'>,
): Promise<Map<string, Outcome>> {
  const startVersions = new Map(
    since.map((c) => [collectionKey(c.apiVersion, c.kind, c.namespace), c.resourceVersion]),
  );
  const items: Item[] = [];
  for (const [index, object] of written.entries()) {
    const info = await client.resource(object.apiVersion, object.kind);
    const namespace = object.metadata.namespace;
    items.push({
      manifest: { object, file: `${object.kind}/${object.metadata.name}`, line: 1, index },
      object,
      info,
      key: keyOf(object.kind, namespace, String(object.metadata.name)),
      ...(namespace ? { namespace } : {}),
      applied: object,
      templateChanged: true,
      state: 'configured',
    });
  }
  const out = await watchRollouts(client, items, { ...o, startVersions });
  return new Map([...out].map(([it, outcome]) => [it.key, outcome]));
}
