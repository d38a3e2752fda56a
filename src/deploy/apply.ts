import { C2CError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { KubeClient } from '../kube/index.js';
import { rank, type Item } from './items.js';
import type { DeployOptions } from './inputs.js';
import type { DeployResult } from './types.js';

/** Applies for real: Namespaces and the like first, one rank at a time; objects of one rank in parallel. */
export async function applyAll(
  client: KubeClient,
  items: Item[],
  opts: DeployOptions,
  result: DeployResult,
  logger: Logger,
): Promise<void> {
  const ranks = [...new Set(items.map((i) => rank(i.info.kind)))];
  for (const r of ranks) {
    await Promise.all(
      items
        .filter((i) => rank(i.info.kind) === r)
        .map(async (it) => {
          try {
            it.applied = await client.apply(it.object, { force: opts.forceConflicts });
          } catch (e) {
            throw new C2CError(
              `Apply failed for ${it.key}: ${errorMessage(e)}${result.applied.length ? `\nApplied before the failure: ${result.applied.join(', ')}.` : ' Nothing else was applied.'}`,
              { cause: e, where: { file: it.manifest.file, line: it.manifest.line } },
            );
          }
          result.applied.push(it.key);
          logger.info(`${it.live ? (it.templateChanged ? 'configured' : 'applied') : 'created'} ${it.key}`);
        }),
    );
  }
}
