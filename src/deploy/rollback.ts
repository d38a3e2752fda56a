import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { rollback, type KubeClient } from '../kube/index.js';
import { groupByCollection, type Item } from './items.js';
import { watchRollouts } from './watch.js';

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
  const startVersions = new Map<string, string>();
  for (const [key, group] of groupByCollection(
    watched.filter((i) => i.live && i.templateChanged && i.info.kind !== 'Job'),
  )) {
    const first = group[0]!;
    const list = await client.list(first.info.apiVersion, first.info.kind, {
      ...(first.namespace ? { namespace: first.namespace } : {}),
      limit: 1,
    });
    if (list.metadata?.resourceVersion) startVersions.set(key, list.metadata.resourceVersion);
  }
  for (const it of watched) {
    if (!it.live) {
      created.push(it.key);
      continue;
    }
    if (!it.templateChanged || it.info.kind === 'Job') continue;
    try {
      const r = await rollback(client, it.info.kind, it.namespace ?? '', String(it.object.metadata.name));
      logger.info(`${it.key}: back to revision ${r.toRevision} (from ${r.fromRevision})`);
      rolledBack.push(it.key);
      again.push({ ...it, applied: r.object, templateChanged: true });
    } catch (e) {
      problems.push(`${it.key}: ${errorMessage(e)}`);
      logger.error(`could not roll back ${it.key}: ${errorMessage(e)}`);
    }
  }
  if (again.length) {
    const out = await watchRollouts(client, again, startVersions, timeoutMs, logger, now);
    for (const [it, o] of out)
      if (!o.status.done || o.status.failed) problems.push(`${it.key}: ${o.status.message}`);
  }
  return { rolledBack, created, ok: problems.length === 0, problems };
}
