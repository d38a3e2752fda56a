import { C2CError } from '../core/index.js';
import { KubeClient, connect } from '../kube/index.js';
import type { Scope } from './claims.js';
import { emptyResult, type FeatureEnvContext, type FeatureEnvResult } from './context.js';
import { decide } from './event.js';
import { teardown } from './down.js';
import type { FeatureEnvOptions } from './inputs.js';
import { reap } from './reap.js';
import { runPrCommand } from './commands.js';
import { setKey } from './state.js';
import { renderFeatureEnvSummary } from './summary.js';
import { up } from './up.js';

/**
 * The engine of action-feature-env and `c2c feature-env`: decides what the event asks for (up,
 * update, down, reap, or nothing) and does it. State lives in Kubernetes (labels and annotations of
 * namespaces) and in the GitHub objects; every step is idempotent and safe to run again.
 */
export async function runFeatureEnv(
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
): Promise<FeatureEnvResult> {
  const { logger } = ctx;
  if (opts.token) logger.secret(opts.token);
  const decision = decide(opts, ctx.gh);
  logger.info(
    `feature-env: ${decision.command}${decision.number ? ` #${decision.number}` : ''} (${decision.reason})`,
  );
  if (decision.command === 'skipped') {
    const r = {
      ...emptyResult('skipped', decision.reason),
      ...(decision.number ? { number: decision.number } : {}),
    };
    r.summary = renderFeatureEnvSummary(r);
    return r;
  }
  if (decision.command === 'up' && !opts.deploy)
    throw new C2CError(
      "Input 'manifests': is empty, but the event asks for an environment. Expected the manifests of the full set of services, e.g. 'k8s/'.",
    );
  const client = new KubeClient(ctx.connection ?? (await connect(opts.cluster, { logger })), {
    logger,
    ...(ctx.kubeRetry ? { retry: ctx.kubeRetry } : {}),
  });
  const s: Scope = {
    client,
    repository: ctx.repository,
    prefix: opts.namespacePrefix,
    label: opts.label,
    logger,
    ...(ctx.now ? { now: ctx.now } : {}),
  };
  // The providers (pg, the RDS SDK) load only when a database is asked for: not on every start.
  const db =
    ctx.database ??
    (opts.database.mode === 'none'
      ? undefined
      : (await import('./db/index.js')).databaseProvider(opts.database, logger, setKey(s), {
          ...(opts.database.mode === 'postgres-template' && opts.database.publicHost
            ? { publicHost: opts.database.publicHost }
            : {}),
        }));
  try {
    if (decision.command === 'up') return await up(opts, ctx, s, db, decision.number!);
    if (decision.command === 'reap') return await reap(opts, ctx, s, db);
    if (decision.command === 'pr-command') return await runPrCommand(opts, ctx, s, db, decision);
    const gone = await logger.group(`Remove the environment of #${decision.number}`, () =>
      teardown(s, ctx, db, {
        number: decision.number!,
        reason: decision.reason,
        waitMs: Math.min(opts.timeoutMs, 120_000),
      }),
    );
    const r: FeatureEnvResult = {
      ...emptyResult(
        'down',
        gone.namespace ? decision.reason : `${decision.reason}; there was no environment`,
      ),
      number: decision.number!,
      namespace: gone.namespace,
    };
    if (gone.stillTerminating) r.reason += ` (namespace ${gone.namespace} still terminating)`;
    r.summary = renderFeatureEnvSummary(r);
    return r;
  } finally {
    await db?.close();
  }
}
