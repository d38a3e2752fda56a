import { errorMessage } from '../core/errors.js';
import { formatReference } from '../images/reference.js';
import { KubeClient, type KubeObject } from '../kube/index.js';
import { loadManifests } from './manifests.js';
import { isWatchedKind } from './rollout-status.js';
import { renderDeploySummary } from './summary.js';
import type { ImageTarget } from './images.js';
import type { K8sObject } from './objects.js';
import type { DeployOptions } from './inputs.js';
import { buildImage, pinImages, registerSecrets, substituteAll, type ImageWork } from './image-work.js';
import { keyOf, rank, rowFor, type Item } from './items.js';
import { annotateItems, connect, dryRunAll, markChanges, planLines, readLive, resolveItems } from './plan.js';
import { applyAll } from './apply.js';
import { watchRollouts } from './watch.js';
import { explain } from './explain.js';
import { rollBack } from './rollback.js';
import type { DeployContext, DeployResult } from './types.js';

export type { DeployContext, DeployResult, DeployResultKind, DeploymentRecorder } from './types.js';
export { renderDeploy, type RenderResult } from './render.js';

/**
 * The engine of action-deploy-k8s, as its phases: read the manifests; check the cluster; substitute
 * and pin the images; read what runs now; annotate; a server-side dry run of the whole set (nothing
 * has changed up to here); build and push; apply; watch every rollout in parallel; on failure
 * explain it and roll back what this run changed; summarise.
 */
export async function runDeploy(opts: DeployOptions, ctx: DeployContext): Promise<DeployResult> {
  const { logger } = ctx;
  const now = ctx.now ?? Date.now;
  registerSecrets(opts, logger);
  const result: DeployResult = {
    result: 'success',
    image: '',
    digest: '',
    applied: [],
    rolledBack: false,
    deploymentId: '',
    rows: [],
    changes: [],
    plan: [],
    summary: '',
    requestCount: 0,
  };

  // ---------------------------------------------------------------- plan: nothing changes here
  const manifests = await logger.group('Read manifests', () =>
    loadManifests(opts.manifests, { workspace: opts.workspace, logger }),
  );
  const client = new KubeClient(await connect(opts, ctx), {
    logger,
    ...(ctx.kubeRetry ? { retry: ctx.kubeRetry } : {}),
  });
  const items = await logger.group('Check the cluster', () => resolveItems(client, manifests, opts, logger));

  // Images: every entry (and the image this run builds) must match a container; checked before any build.
  const targets: ImageTarget[] = items.map((i) => ({
    object: i.object as unknown as K8sObject,
    file: i.manifest.file,
    line: i.manifest.line,
  }));
  const work = substituteAll(opts, targets, logger);
  result.changes = work.changes;

  const startVersions = await logger.group('Read what runs now', () => readLive(client, items));
  await pinImages(opts, targets, work, 'others', logger);

  // Annotations and template changes on copies for the dry run when the image is still to be built
  // (its digest is not known yet).
  const audit = opts.annotate ? ctx.audit : undefined;
  const drafts = new Map<Item, KubeObject>();
  if (work.buildRef) {
    for (const it of items) drafts.set(it, structuredClone(it.object));
    annotateItems(items, (it) => drafts.get(it)!, audit);
  } else annotateItems(items, (it) => it.object, audit);
  items.sort((a, b) => rank(a.info.kind) - rank(b.info.kind) || a.manifest.index - b.manifest.index);

  // One rejected object means nothing is applied (and, when an image is to be built, nothing is pushed).
  const dryRuns = await logger.group('Server-side dry run', () => dryRunAll(client, items, drafts, opts));
  markChanges(items, dryRuns, (it) => drafts.get(it) ?? it.object, audit);
  result.plan = planLines(items, dryRuns);

  if (opts.dryRun) return reportDryRun(opts, client, items, drafts, work, result, logger);

  // ---------------------------------------------------------------- act
  if (work.buildRef) {
    await buildImage(opts, ctx, work);
    result.image = work.image;
    result.digest = work.digest;
    await pinImages(opts, targets, work, 'built', logger);
    annotateItems(items, (it) => it.object, audit);
    markChanges(items, dryRuns, (it) => it.object, audit);
  }

  let deployment: { id: number | string; url?: string } | undefined;
  if (ctx.recorder) {
    deployment = await ctx.recorder.start();
    result.deploymentId = String(deployment.id);
  }
  let finished = false;
  const finish = async (state: 'success' | 'failure', description: string) => {
    if (finished) return;
    finished = true;
    if (ctx.recorder && deployment) {
      try {
        await ctx.recorder.finish(deployment.id, state, description);
      } catch (e) {
        logger.warning(`could not record the deployment status: ${errorMessage(e)}`);
      }
    }
  };

  try {
    await logger.group('Apply', () => applyAll(client, items, opts, result, logger));

    const watched = items.filter((i) => isWatchedKind(i.info.kind) && i.applied);
    const outcome = await logger.group(`Watch ${watched.length} rollout(s)`, () =>
      watchRollouts(client, watched, startVersions, opts.timeoutMs, logger, now),
    );
    for (const it of watched) {
      const o = outcome.get(it)!;
      result.rows.push({
        ...rowFor(it),
        durationMs: o.ms,
        result: o.status.done && !o.status.failed ? 'success' : o.timedOut ? 'timed-out' : 'failed',
        ...(o.status.done && !o.status.failed ? {} : { note: o.status.message }),
      });
    }
    const failed = watched.filter((it) => {
      const o = outcome.get(it)!;
      return !o.status.done || o.status.failed;
    });

    if (failed.length === 0) {
      result.result = 'success';
      await finish('success', `deployed ${result.applied.length} object(s)`);
    } else {
      const what = failed.map((it) => `${it.key} (${outcome.get(it)!.status.message})`).join('; ');
      await logger.group('Why the rollout failed', async () => {
        // The step's one error comes at the end (what failed and what was done about it).
        logger.info(`rollout failed: ${what}`);
        logger.info(await explain(client, failed, outcome, logger));
      });
      result.result = 'failed';
      result.failure = `Rollout failed: ${what}.`;
      if (opts.rollbackOnFailure) {
        const back = await logger.group('Roll back', () =>
          rollBack(client, watched, logger, opts.timeoutMs, now),
        );
        result.rolledBack = back.rolledBack.length > 0;
        for (const row of result.rows) {
          const k = keyOf(row.kind, row.namespace, row.name);
          if (back.rolledBack.includes(k)) row.result = 'rolled-back';
          if (back.created.includes(k))
            row.note = `${row.note ? `${row.note}; ` : ''}created by this run: not rolled back`;
        }
        if (result.rolledBack) {
          result.result = 'rolled-back';
          result.failure += back.ok
            ? ` Rolled back ${back.rolledBack.join(', ')}: the previous version runs again.`
            : ` Rolled back ${back.rolledBack.join(', ')}, but the rollback itself did not complete: ${back.problems.join('; ')}.`;
        }
        if (back.created.length)
          result.failure += ` Created by this run and left in place: ${back.created.join(', ')}.`;
      }
      await finish('failure', result.failure.slice(0, 140));
    }
  } catch (e) {
    // Whatever went wrong after the GitHub Deployment was started, it does not stay in_progress.
    await finish('failure', errorMessage(e).slice(0, 140));
    throw e;
  }
  result.requestCount = client.requestCount;
  result.summary = renderDeploySummary({
    rows: result.rows,
    result: result.result,
    ...(deployment?.url
      ? {
          deployment: {
            url: deployment.url,
            id: deployment.id,
            ...(opts.environment ? { environment: opts.environment } : {}),
          },
        }
      : {}),
    ...(result.failure ? { notes: [result.failure] } : {}),
  });
  return result;
}

/** A dry run ends after the server-side dry run: what would change, in the log and the summary. */
async function reportDryRun(
  opts: DeployOptions,
  client: KubeClient,
  items: Item[],
  drafts: Map<Item, KubeObject>,
  work: ImageWork,
  result: DeployResult,
  logger: DeployContext['logger'],
): Promise<DeployResult> {
  await logger.group('Dry run: what would change', async () => {
    if (work.buildRef)
      logger.info(
        `would build ${opts.build!.context} and push ${formatReference(work.buildRef)} (not built in a dry run)`,
      );
    for (const line of result.plan) logger.info(line);
  });
  for (const [it, draft] of drafts) it.object = draft;
  result.result = 'dry-run';
  result.applied = items.map((i) => i.key);
  result.rows = items.filter((i) => isWatchedKind(i.info.kind)).map(rowFor);
  result.requestCount = client.requestCount;
  result.summary = renderDeploySummary({
    title: 'Deploy (dry run)',
    rows: result.rows,
    result: 'dry-run',
    notes: [
      ...(work.buildRef
        ? [`${formatReference(work.buildRef)} would be built and pushed (not in a dry run)`]
        : []),
      ...result.plan,
    ],
  });
  return result;
}
