import { codeSpan, errorMessage } from '../core/index.js';
import {
  clock,
  deleteUnclaimed,
  environments,
  ownNamespace,
  readIndex,
  releaseClaim,
  type Scope,
} from './claims.js';
import { COMMENT_MARKER, renderDownComment } from './comment.js';
import type { FeatureEnvContext } from './context.js';
import { deactivate } from './recorder.js';
import type { DatabaseProvider } from './types.js';

/**
 * Removes one pull request's environment: its namespace (waiting, bounded, until it is gone, or
 * saying that it is still terminating), its database, its claim; its GitHub Deployments go
 * inactive and the PR comment says it was removed and why. Safe to run again at any point.
 */
export async function teardown(
  s: Scope,
  ctx: FeatureEnvContext,
  db: DatabaseProvider | undefined,
  o: { number: number; namespace?: string; reason: string; waitMs: number },
): Promise<{ namespace: string; stillTerminating: boolean }> {
  const started = clock(s);
  const namespace =
    o.namespace ??
    (await readIndex(s)).claims[String(o.number)]?.namespace ??
    (await environments(s, { number: o.number }))[0]?.namespace ??
    '';
  let stillTerminating = false;
  // Only a namespace that carries this set's mark is ever deleted (ownNamespace refuses another's).
  if (namespace && (await ownNamespace(s, namespace))) {
    const existed = await s.client.delete(
      { apiVersion: 'v1', kind: 'Namespace', name: namespace },
      {
        propagationPolicy: 'Background',
      },
    );
    if (existed) {
      s.logger.info(`deleting namespace ${namespace} (${o.reason})`);
      stillTerminating = !(await gone(s, namespace, o.waitMs));
      s.logger.info(
        stillTerminating
          ? `namespace ${namespace} is still terminating after ${Math.round(o.waitMs / 1000)}s: its finalizers run on`
          : `namespace ${namespace} is gone`,
      );
    }
  }
  if (db && (await db.release({ number: o.number }, s.logger)))
    s.logger.info(`database of #${o.number} released`);
  // The claim of the namespace this down found; with none found, only a claim older than this down
  // (one whose namespace never came): an up that claims after the down began is not undone by it.
  await releaseClaim(s, o.number, namespace || undefined, namespace ? {} : { madeBefore: started });
  // An up that claimed before the release may have made the namespace after the delete above: with
  // no claim naming it now, it is nobody's, and goes too (an up claiming it anew is left alone).
  if (namespace && (await deleteUnclaimed(s, namespace)))
    s.logger.info(`deleting namespace ${namespace} again: an up in flight made it meanwhile`);
  if (namespace)
    await recordRemoval(ctx, o.number, {
      what: `Namespace ${codeSpan(namespace)}`,
      reason: o.reason,
      stillTerminating,
    });
  else await recordRemoval(ctx, o.number, undefined);
  return { namespace, stillTerminating };
}

/**
 * On GitHub, after an environment went (whatever its provider): its Deployments inactive, and the
 * PR comment saying what was removed and why (when there was one to remove).
 */
export async function recordRemoval(
  ctx: FeatureEnvContext,
  number: number,
  removed: { what: string; reason: string; stillTerminating: boolean } | undefined,
): Promise<void> {
  if (!ctx.github) return;
  try {
    await deactivate(ctx.github, number, ctx.logger);
    if (removed)
      await ctx.github.upsertComment(number, COMMENT_MARKER, renderDownComment({ number, ...removed }));
  } catch (e) {
    ctx.logger.warning(`could not record the removal on GitHub: ${errorMessage(e)}`);
  }
}

async function gone(s: Scope, namespace: string, waitMs: number): Promise<boolean> {
  const until = Date.now() + waitMs;
  for (;;) {
    const ns = await s.client.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace });
    if (!ns) return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 1000));
  }
}
