import { C2CError } from '../core/index.js';
import { KubeClient, connect } from '../kube/index.js';
import type { Scope } from './claims.js';
import { emptyResult, type FeatureEnvContext, type FeatureEnvResult } from './context.js';
import { decide, type Decision } from './event.js';
import { teardown } from './down.js';
import type { FeatureEnvOptions } from './inputs.js';
import type { DatabaseProvider } from './types.js';
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
  const identity = { repository: ctx.repository, prefix: opts.namespacePrefix, label: opts.label };
  // The providers (pg, the RDS SDK) load only when a database is asked for: not on every start.
  const db =
    ctx.database ??
    (opts.database.mode === 'none'
      ? undefined
      : (await import('./db/index.js')).databaseProvider(opts.database, logger, setKey(identity), {
          ...(opts.database.mode === 'postgres-template' && opts.database.publicHost
            ? { publicHost: opts.database.publicHost }
            : {}),
        }));
  if (opts.machine) {
    try {
      return await onMachines(opts, ctx, db, decision);
    } finally {
      await db?.close();
    }
  }
  const client = new KubeClient(ctx.connection ?? (await connect(opts.cluster, { logger })), {
    logger,
    ...(ctx.kubeRetry ? { retry: ctx.kubeRetry } : {}),
  });
  const s: Scope = { client, ...identity, logger, ...(ctx.now ? { now: ctx.now } : {}) };
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

/** isolation: ec2: the same decisions, each environment an EC2 instance of its own (src/featureenv/machine). */
async function onMachines(
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
  db: DatabaseProvider | undefined,
  decision: Decision,
): Promise<FeatureEnvResult> {
  const { logger } = ctx;
  if (decision.command === 'pr-command')
    throw new C2CError(
      "Commands in comments (/feature-env …) do not work with 'isolation: ec2' yet: add the label for an environment, remove it to take it down. Nothing was done.",
    );
  const { Machines, reapMachines, teardownMachine, upOnMachine } = await import('./machine/index.js');
  const m = new Machines(
    opts.machine!,
    { repository: ctx.repository, prefix: opts.namespacePrefix, label: opts.label },
    logger,
    { ...ctx.machines, ...(ctx.now ? { now: ctx.now } : {}) },
  );
  try {
    if (decision.command === 'up') return await upOnMachine(opts, ctx, m, db, decision.number!, ctx.machines);
    if (decision.command === 'reap') return await reapMachines(opts, ctx, m, db, ctx.machines);
    const gone = await logger.group(`Remove the environment of #${decision.number}`, () =>
      teardownMachine(m, ctx, db, {
        number: decision.number!,
        reason: decision.reason,
        ...(ctx.machines?.groupWaitMs !== undefined ? { groupWaitMs: ctx.machines.groupWaitMs } : {}),
      }),
    );
    const r: FeatureEnvResult = {
      ...emptyResult(
        'down',
        gone.instances.length ? decision.reason : `${decision.reason}; there was no environment`,
      ),
      number: decision.number!,
      ...(gone.instances[0] ? { instanceId: gone.instances[0] } : {}),
    };
    r.summary = renderFeatureEnvSummary(r);
    return r;
  } finally {
    m.close();
  }
}
