import { errorMessage } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import { extractOwned, FIELD_MANAGER, type KubeClient } from '../../kube/index.js';
import { groupByCollection, type Item } from '../items.js';
import { watchRollouts } from './watch.js';
import { adapterOf, isWatchedKind, rank } from '../kinds/index.js';

export interface RollBackResult {
  rolledBack: string[];
  created: string[];
  ok: boolean;
  problems: string[];
}

/**
 * Restores every workload this run changed to its previous revision (what `kubectl rollout undo`
 * does) and waits for that rollout; workloads this run created have no previous revision and are
 * reported, not deleted.
 */
export async function rollBack(
  client: KubeClient,
  watched: Item[],
  logger: Logger,
  timeoutMs: number,
  now: () => number,
): Promise<RollBackResult> {
  const rolledBack: string[] = [];
  const created: string[] = [];
  const problems: string[] = [];
  const again: Item[] = [];
  const startVersions = await collectionVersions(
    client,
    watched.filter((i) => i.live && i.templateChanged && !!adapterOf(i.info.kind)?.rollback),
  );
  for (const it of watched) {
    if (!it.live) {
      created.push(it.key);
      continue;
    }
    const undo = adapterOf(it.info.kind)?.rollback;
    if (!it.templateChanged || !undo) continue;
    try {
      const r = await undo(client, it.namespace ?? '', String(it.object.metadata.name));
      logger.info(`${it.key}: back to revision ${r.toRevision} (from ${r.fromRevision})`);
      rolledBack.push(it.key);
      again.push({ ...it, applied: r.object, templateChanged: true });
    } catch (e) {
      problems.push(`${it.key}: ${errorMessage(e)}`);
      logger.error(`could not roll back ${it.key}: ${errorMessage(e)}`);
    }
  }
  problems.push(...(await waitBack(client, again, { startVersions, timeoutMs, logger, now })));
  return { rolledBack, created, ok: problems.length === 0, problems };
}

export interface UndoResult {
  /** Objects put back as they were before this run. */
  restored: string[];
  /** Objects this run created, deleted again. */
  removed: string[];
  /** What could not be undone, with why. */
  problems: string[];
}

/**
 * Undoes a half-done apply: deletes what this run created and puts back what it changed, in the
 * reverse order of the apply. An object is put back with a forced server-side apply of what this
 * field manager owned before the run (its earlier values; fields it did not own before are dropped
 * again), so ownership stays as it was. Workloads whose template went back roll back: that is
 * waited for, within `timeoutMs`.
 */
export async function undoApply(
  client: KubeClient,
  applied: Item[],
  logger: Logger,
  timeoutMs: number,
  now: () => number,
): Promise<UndoResult> {
  const restored: string[] = [];
  const removed: string[] = [];
  const problems: string[] = [];
  const rollingBack: Item[] = [];
  const startVersions = await collectionVersions(
    client,
    applied.filter((i) => i.live && i.templateChanged),
  );
  for (const it of [...applied].sort((a, b) => rank(b.info.kind) - rank(a.info.kind))) {
    const ref = {
      apiVersion: it.info.apiVersion,
      kind: it.info.kind,
      name: String(it.object.metadata.name),
      ...(it.namespace ? { namespace: it.namespace } : {}),
    };
    try {
      if (!it.live) {
        await client.delete(ref, { propagationPolicy: 'Background' });
        removed.push(it.key);
        logger.info(`${it.key}: created by this run, deleted again`);
      } else {
        const back = await client.apply(extractOwned(it.live, FIELD_MANAGER), { force: true });
        restored.push(it.key);
        logger.info(`${it.key}: restored`);
        if (it.templateChanged && isWatchedKind(it.info.kind)) rollingBack.push({ ...it, applied: back });
      }
    } catch (e) {
      problems.push(`${it.key}: ${errorMessage(e)}`);
      logger.error(`could not undo ${it.key}: ${errorMessage(e)}`);
    }
  }
  problems.push(...(await waitBack(client, rollingBack, { startVersions, timeoutMs, logger, now })));
  return { restored, removed, problems };
}

/** The current resourceVersion of each collection the items are in: where a watch starts. */
async function collectionVersions(client: KubeClient, items: Item[]): Promise<Map<string, string>> {
  const versions = new Map<string, string>();
  for (const [key, group] of groupByCollection(items)) {
    const first = group[0]!;
    const list = await client.list(first.info.apiVersion, first.info.kind, {
      ...(first.namespace ? { namespace: first.namespace } : {}),
      limit: 1,
    });
    if (list.metadata?.resourceVersion) versions.set(key, list.metadata.resourceVersion);
  }
  return versions;
}

/**
 * Waits for the workloads going back to their earlier template; what did not get there, with why
 * (a watch that cannot be followed, too: the undo's report is not lost to it).
 */
async function waitBack(
  client: KubeClient,
  items: Item[],
  o: Parameters<typeof watchRollouts>[2],
): Promise<string[]> {
  if (!items.length) return [];
  let out: Awaited<ReturnType<typeof watchRollouts>>;
  try {
    out = await watchRollouts(client, items, o);
  } catch (e) {
    return items.map((it) => `${it.key}: its rollback could not be followed (${errorMessage(e)})`);
  }
  return [...out]
    .filter(([, r]) => !r.status.done || r.status.failed)
    .map(([it, r]) => `${it.key}: ${r.status.message}`);
}
