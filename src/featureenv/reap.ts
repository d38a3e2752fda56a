import { errorMessage, shortDuration } from '../core/index.js';
import type { PullRequestInfo } from '../github/index.js';
import { PENDING_MS, environments, readIndex, updateIndex, type Scope } from './claims.js';
import { emptyResult, type FeatureEnvContext, type FeatureEnvResult } from './context.js';
import { teardown } from './down.js';
import type { FeatureEnvOptions } from './inputs.js';
import { STALE_WARMING_MS, refillPool, trimPool } from './pool.js';
import { renderFeatureEnvSummary } from './summary.js';
import { COMMENT_MARKER, renderAsleepComment } from './comment.js';
import { writeNamespace } from './environment.js';
import { sleepEnvironment } from './sleep.js';
import { A_ASLEEP, type Environment } from './state.js';
import type { DatabaseProvider } from './types.js';

/**
 * reap: removes the environments whose pull request is closed, whose TTL has passed, or that no open
 * pull request labelled for it maps to any more (orphans), with their databases; never touches a
 * namespace without this set's mark. Then drops claims whose namespace never came (judged inside the
 * compare-and-swap, so a claim made after this reap began is kept), trims the warm pool to exactly
 * its size, releases the set's databases that no environment and no claim holds, and refills the
 * warm pool and the database pool.
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
  const slept: NonNullable<FeatureEnvResult['slept']> = [];
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
      else if (e.expiresAt && !e.keep && Date.parse(e.expiresAt) <= now) why = `expired at ${e.expiresAt}`;
      else if (open && !open.has(e.number)) why = `pull request #${e.number} is closed`;
      else if (open && !open.get(e.number)!.labels.includes(opts.label))
        why = `an orphan: pull request #${e.number} is no longer labeled '${opts.label}'`;
      if (!why) {
        const idle = e.activeAt ? now - Date.parse(e.activeAt) : 0;
        if (opts.sleepAfterMs && e.number && !e.keep && !e.asleepSince && idle >= opts.sleepAfterMs) {
          try {
            await putToSleep(s, ctx, opts, e, idle);
            slept.push({
              namespace: e.namespace,
              number: e.number,
              why: `no update, command or wake for ${shortDuration(idle / 1000)} (sleep-after ${shortDuration(opts.sleepAfterMs / 1000)})`,
            });
          } catch (err) {
            logger.warning(`could not put ${e.namespace} to sleep: ${errorMessage(err)}`);
          }
          continue;
        }
        kept.push({
          namespace: e.namespace,
          ...(e.number ? { number: e.number } : {}),
          why: e.keep
            ? 'kept (/feature-env keep): no expiry, no sleep'
            : `${e.asleepSince ? `asleep since ${e.asleepSince}; ` : ''}open until ${e.expiresAt ?? '?'}`,
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
    // Claims whose namespace is gone or never came (a run that died half-way, a namespace deleted by
    // hand), judged against the namespaces as they are when the index is read: an up claims first and
    // makes its namespace within seconds, so a young claim without one is an up in flight, kept.
    await updateIndex(
      s,
      async (index) => {
        const live = new Set((await environments(s)).filter((e) => !e.terminating).map((e) => e.namespace));
        const at = (ctx.now ?? Date.now)();
        const stale = Object.entries(index.claims).filter(
          ([, c]) => !live.has(c.namespace) && at - c.at >= PENDING_MS,
        );
        if (!stale.length) return undefined;
        for (const [n] of stale) delete index.claims[n];
        return index;
      },
      { create: false },
    );
    // The warm pool: exactly warm-pool spares (extras removed, oldest first).
    for (const t of await trimPool(s, opts.warmPool, envs)) {
      removed.push(t);
      logger.info(`removed ${t.namespace}: ${t.why}`);
    }
    // The set's databases that no environment holds any more. Read after the databases, the claims
    // name every up in flight that made one (an up claims before it makes its database).
    if (db) {
      const held = await db.held(logger);
      const index = await readIndex(s);
      const gone = new Set(removed.map((r) => r.namespace));
      const keep = new Set([
        ...Object.keys(index.claims).map(Number),
        ...(await environments(s, { state: 'active' }))
          .filter((e) => e.number && !e.terminating && !gone.has(e.namespace))
          .map((e) => e.number!),
      ]);
      for (const [n, id] of held)
        if (!keep.has(n)) {
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
  const stats = readyStats((await readIndex(s).catch(() => undefined))?.ready ?? []);
  if (stats)
    logger.info(
      `time to ready of the last ${stats.count} new environment(s): p50 ${stats.p50} s, p90 ${stats.p90} s (${stats.fromPool} from the warm pool)`,
    );
  const out: FeatureEnvResult = {
    ...emptyResult(
      'reaped',
      `${removed.length} removed, ${slept.length ? `${slept.length} put to sleep, ` : ''}${kept.length} kept`,
    ),
    removed,
    kept,
    ...(slept.length ? { slept } : {}),
    ...(stats ? { readyStats: stats } : {}),
  };
  out.summary = renderFeatureEnvSummary(out);
  return out;
}

/**
 * Puts one environment to sleep: the namespace marked asleep (on the version read: an up that
 * touched it meanwhile wins, and it stays awake), its workloads scaled to 0, the comment saying so.
 */
async function putToSleep(
  s: Scope,
  ctx: FeatureEnvContext,
  opts: FeatureEnvOptions,
  e: Environment,
  idleMs: number,
): Promise<void> {
  const since = (ctx.now ?? Date.now)();
  await sleepEnvironment(s, e.namespace, async () => {
    await writeNamespace(s, e.namespace, 'active', {
      number: e.number!,
      annotations: { [A_ASLEEP]: new Date(since).toISOString() },
      ...(e.resourceVersion ? { resourceVersion: e.resourceVersion } : {}),
    });
  });
  if (ctx.github)
    await ctx.github
      .upsertComment(
        e.number!,
        COMMENT_MARKER,
        renderAsleepComment({
          number: e.number!,
          namespace: e.namespace,
          since,
          idleMs,
          label: opts.label,
          ...(e.url ? { url: e.url } : {}),
        }),
      )
      .catch((err: unknown) =>
        ctx.logger.warning(`could not write the pull request comment: ${errorMessage(err)}`),
      );
}

/** p50 and p90 (nearest rank) of the recorded times to ready; undefined when none is recorded. */
export function readyStats(
  ready: Array<{ s: number; pool?: boolean }>,
): FeatureEnvResult['readyStats'] | undefined {
  if (!ready.length) return undefined;
  const sorted = ready.map((r) => r.s).sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { count: sorted.length, p50: rank(50), p90: rank(90), fromPool: ready.filter((r) => r.pool).length };
}
