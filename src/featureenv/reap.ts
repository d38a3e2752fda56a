import { errorMessage } from '../core/errors.js';
import type { PullRequestInfo } from '../github/index.js';
import { environments, readClaims, updateClaims, type Scope } from './claims.js';
import { emptyResult, type FeatureEnvContext, type FeatureEnvResult } from './context.js';
import { teardown } from './down.js';
import type { FeatureEnvOptions } from './inputs.js';
import { refillPool } from './pool.js';
import { renderFeatureEnvSummary } from './summary.js';
import type { DatabaseProvider } from './types.js';

/** A spare still `warming` after this long was left by a run that died: it goes. */
const STALE_WARMING_MS = 30 * 60_000;

/**
 * reap: removes the environments whose pull request is closed, whose TTL has passed, or that no open
 * pull request labelled for it maps to any more (orphans), with their databases; never touches a
 * namespace without this suite's labels for this repository. Then drops stale claims, releases
 * databases no environment holds, and refills the warm pool and the database pool.
 */
export async function reap(
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
  s: Scope,
  db: DatabaseProvider | undefined,
): Promise<FeatureEnvResult> {
  const { logger } = ctx;
  const now = (ctx.now ?? Date.now)();
  const removed: NonNullable<FeatureEnvResult['removed']> = [];
  const kept: NonNullable<FeatureEnvResult['kept']> = [];
  let open: Map<number, PullRequestInfo> | undefined;
  if (ctx.github) open = new Map((await ctx.github.listOpenPullRequests()).map((p) => [p.number, p]));
  else
    logger.warning('no GitHub token: pull requests are not looked up, only expired environments are removed');
  const envs = await environments(s);
  await logger.group(`Reap (${envs.filter((e) => e.state === 'active').length} environment(s))`, async () => {
    for (const e of envs) {
      if (e.state === 'control' || e.terminating) continue;
      let why: string | undefined;
      if (e.state === 'spare') {
        kept.push({ namespace: e.namespace, why: 'spare of the warm pool' });
        continue;
      }
      if (e.state === 'warming') {
        const age = now - Date.parse(e.createdAt ?? '');
        if (age > STALE_WARMING_MS) why = 'a spare that never became ready';
        else {
          kept.push({ namespace: e.namespace, why: 'a spare being made ready' });
          continue;
        }
      } else if (!e.number) why = 'an orphan: no pull request';
      else if (e.expiresAt && Date.parse(e.expiresAt) <= now) why = `expired at ${e.expiresAt}`;
      else if (open && !open.has(e.number)) why = `pull request #${e.number} is closed`;
      else if (open && !open.get(e.number)!.labels.includes(opts.label))
        why = `an orphan: pull request #${e.number} is no longer labeled '${opts.label}'`;
      if (!why) {
        kept.push({
          namespace: e.namespace,
          ...(e.number ? { number: e.number } : {}),
          why: `open until ${e.expiresAt ?? '?'}`,
        });
        continue;
      }
      try {
        if (e.number)
          await teardown(s, ctx, db, { number: e.number, namespace: e.namespace, reason: why, waitMs: 0 });
        else await s.client.delete({ apiVersion: 'v1', kind: 'Namespace', name: e.namespace });
        removed.push({ namespace: e.namespace, ...(e.number ? { number: e.number } : {}), why });
        logger.info(`removed ${e.namespace}${e.number ? ` (#${e.number})` : ''}: ${why}`);
      } catch (err) {
        logger.warning(`could not remove ${e.namespace}: ${errorMessage(err)}`);
      }
    }
    // Claims whose namespace is gone (a run that died half-way, a namespace deleted by hand).
    const existing = new Set(envs.map((e) => e.namespace));
    const claims = await readClaims(s);
    const stale = Object.entries(claims).filter(([, ns]) => !existing.has(ns));
    if (stale.length)
      await updateClaims(s, (c) => {
        const next = { ...c };
        for (const [n, ns] of stale) if (next[n] === ns) delete next[n];
        return next;
      });
    // Databases no environment holds any more.
    if (db) {
      const held = await db.held(logger);
      const active = new Set(
        envs
          .filter(
            (e) => e.state === 'active' && e.number && !removed.some((r) => r.namespace === e.namespace),
          )
          .map((e) => e.number!),
      );
      for (const [n, id] of held)
        if (!active.has(n)) {
          await db.release({ number: n }, logger);
          removed.push({ namespace: '', number: n, why: `database ${id} held by no environment` });
        }
    }
  });
  try {
    const pool = await refillPool(opts, ctx, s);
    if (pool.created.length) logger.info(`warm pool: ${pool.created.length} spare(s) made`);
    if (db) {
      const dbs = await db.refill(logger);
      if (dbs.created.length) logger.info(`database pool: ${dbs.created.join(', ')} started`);
    }
  } catch (e) {
    logger.warning(`could not refill the pools: ${errorMessage(e)}`);
  }
  const out: FeatureEnvResult = {
    ...emptyResult('reaped', `${removed.length} removed, ${kept.length} kept`),
    removed,
    kept,
  };
  out.summary = renderFeatureEnvSummary(out);
  return out;
}
