import { formatDuration } from '../core/inputs.js';
import type { Logger } from '../core/logger.js';
import type { KubeClient, KubeObject } from '../kube/index.js';
import { rolloutStatus, type RolloutStatus } from './rollout-status.js';
import { groupByCollection, type Item } from './items.js';
import type { K8sObject } from './objects.js';

export interface Outcome {
  status: RolloutStatus;
  ms: number;
  timedOut: boolean;
  /** The workload as last seen (the watch's latest version, else the apply's answer). */
  object: KubeObject;
}

/**
 * Watches every workload until its rollout is done, has failed, or the deadline passes: one watch
 * stream per kind and namespace (not per object), from the collection's version read before this
 * run changed anything, so nothing is missed.
 *
 * That replays every change since then, other writers' included (an HPA, `kubectl annotate`, the
 * controller's status writes): such an event can show the old generation, fully rolled out. So a
 * workload is judged only on an object whose `metadata.generation` is at least the generation the
 * apply returned (and, by the status rules, whose `status.observedGeneration` has reached it), as
 * kubectl does.
 */
export async function watchRollouts(
  client: KubeClient,
  items: Item[],
  startVersions: Map<string, string>,
  timeoutMs: number,
  logger: Logger,
  now: () => number,
): Promise<Map<Item, Outcome>> {
  const start = now();
  const deadline = start + timeoutMs;
  const progress = new Progress(logger, start, timeoutMs, now);
  const out = new Map<Item, Outcome>();
  const pending = new Set<Item>();
  for (const it of items) {
    const st = rolloutStatus(it.applied as unknown as K8sObject) ?? {
      done: true,
      failed: false,
      message: 'not watched',
    };
    // Done already (nothing to roll out, or the controller was quicker than the response) or failed.
    if (st.done || st.failed)
      out.set(it, { status: st, ms: now() - start, timedOut: false, object: it.applied ?? it.object });
    else {
      pending.add(it);
      progress.update(it, st.message);
    }
  }
  const groups = groupByCollection([...pending]);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - now()));
  try {
    await Promise.all(
      [...groups].map(async ([key, group]) => {
        const first = group[0]!;
        const byName = new Map(group.map((it) => [String(it.object.metadata.name), it]));
        // From the collection's version read before this run changed anything: nothing is missed.
        const rv = startVersions.get(key);
        const last = new Map<Item, { status: RolloutStatus; object: KubeObject }>();
        try {
          for await (const ev of client.watch(first.info.apiVersion, first.info.kind, {
            ...(first.namespace ? { namespace: first.namespace } : {}),
            ...(rv ? { resourceVersion: rv } : {}),
            signal: controller.signal,
          })) {
            if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED') continue;
            const it = byName.get(ev.object.metadata.name ?? '');
            if (!it || !pending.has(it)) continue;
            // An object older than this run's apply says nothing about this run's rollout.
            if ((ev.object.metadata.generation ?? 0) < generationOf(it)) continue;
            const st = rolloutStatus(ev.object as unknown as K8sObject);
            if (!st) continue;
            last.set(it, { status: st, object: ev.object });
            if (!st.done && !st.failed) progress.update(it, st.message);
            else {
              progress.forget(it);
              pending.delete(it);
              out.set(it, { status: st, ms: now() - start, timedOut: false, object: ev.object });
              logger.info(`${it.key}: ${st.message}`);
            }
            if (group.every((g) => !pending.has(g))) break;
          }
        } catch (e) {
          if (!controller.signal.aborted) throw e;
        }
        for (const it of group) {
          if (!out.has(it)) {
            const seen = last.get(it);
            out.set(it, {
              status: {
                done: false,
                failed: true,
                message: `timed out after ${formatDuration(timeoutMs)}${seen ? `: ${seen.status.message}` : ''}`,
              },
              ms: now() - start,
              timedOut: true,
              object: seen?.object ?? it.applied ?? it.object,
            });
          }
        }
      }),
    );
  } finally {
    clearTimeout(timer);
    progress.stop();
    controller.abort();
  }
  return out;
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
    private readonly timeoutMs: number,
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
      `${it.key}: ${message} [${formatDuration(this.now() - this.start)} of ${formatDuration(this.timeoutMs)}]`,
    );
  }
}

/** The generation the apply (or the rollback) returned: the first that shows this run's change. */
function generationOf(it: Item): number {
  return (it.applied ?? it.object).metadata.generation ?? 0;
}
