import { C2CError, errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { KubeClient } from '../kube/index.js';
import { HANDOVER_MANAGER } from './preflight.js';
import { type Item } from './items.js';
import type { DeployOptions } from './inputs.js';
import { rank } from './kinds/index.js';

/** The apply failed for one or more objects; `items` is the set as it stands, `applied` where written. */
export class ApplyFailure extends C2CError {
  override name = 'ApplyFailure';
  constructor(
    readonly failures: Array<{ item: Item; error: unknown }>,
    readonly items: Item[],
  ) {
    const first = failures[0]!;
    super(failures.map((f) => `Apply failed for ${f.item.key}: ${errorMessage(f.error)}`).join('\n'), {
      cause: first.error,
      where: { file: first.item.manifest.file, line: first.item.manifest.line },
    });
  }
}

/**
 * Applies for real: Namespaces and the like first, one rank at a time; objects of one rank in
 * parallel. Objects already applied (namespaces created before the dry run) and those the dry run
 * showed unchanged are not written. When a
 * write fails, the rank's other writes still finish (so what was applied is known exactly), then
 * ApplyFailure says what failed and carries the set with what was applied. Returns the items, each
 * with what the apply wrote.
 */
export async function applyAll(
  client: KubeClient,
  items: Item[],
  opts: DeployOptions,
  logger: Logger,
): Promise<Item[]> {
  const written = new Map<Item, Item>();
  const current = () => items.map((i) => written.get(i) ?? i);
  const ranks = [...new Set(items.map((i) => rank(i.info.kind)))];
  for (const r of ranks) {
    const batch = items.filter((i) => rank(i.info.kind) === r && !i.applied && i.state !== 'unchanged');
    for (const it of items.filter((i) => rank(i.info.kind) === r && i.state === 'unchanged' && !i.applied))
      logger.info(`unchanged ${it.key}`);
    const settled = await Promise.allSettled(
      batch.map(async (it) => {
        if (it.replicasHandover !== undefined) await handOverReplicas(client, it, logger);
        written.set(it, { ...it, applied: await client.apply(it.object, { force: opts.forceConflicts }) });
        logger.info(`${it.live ? 'configured' : 'created'} ${it.key}`);
      }),
    );
    const failures = settled.flatMap((s, i) =>
      s.status === 'rejected' ? [{ item: batch[i]!, error: s.reason as unknown }] : [],
    );
    if (failures.length) throw new ApplyFailure(failures, current());
  }
  return current();
}

/**
 * Before a workload is applied without the `replicas` it used to set (an HPA scales it now): another
 * field manager takes the current count, so the field stays when this manager lets it go.
 */
async function handOverReplicas(client: KubeClient, it: Item, logger: Logger): Promise<void> {
  await client.apply(
    {
      apiVersion: it.info.apiVersion,
      kind: it.info.kind,
      metadata: {
        name: String(it.object.metadata.name),
        ...(it.namespace ? { namespace: it.namespace } : {}),
      },
      spec: { replicas: it.replicasHandover },
    },
    { fieldManager: HANDOVER_MANAGER, force: true },
  );
  logger.info(`${it.key}: replicas (${it.replicasHandover}) handed over to the HorizontalPodAutoscaler`);
}
