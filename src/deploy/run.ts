import { C2CError, errorMessage, formatDuration, throwIfCancelled } from '../core/index.js';
import { formatReference } from '../images/index.js';
import { KubeClient, connect, type KubeConnection, type KubeObject } from '../kube/index.js';
import { watchRollouts, type Outcome, explainFailed, rollBack, undoApply } from './rollout/index.js';
import { renderDeploySummary, type WorkloadRow } from './summary.js';
import type { DeployOptions } from './inputs.js';
import {
  buildImages,
  pinImages,
  reuseBuiltImages,
  theImage,
  verifySignatures,
  type BuildWork,
  type ImageWork,
} from './images/index.js';
import { keyOf, rowFor, type Item, type SetItem } from './items.js';
import {
  annotateAssumed,
  checkedItems,
  createNamespacesFirst,
  deleteCreatedNamespaces,
  dryRunAll,
  leaveReplicasToAutoscalers,
  preflightLines,
  readLive,
  resolveItems,
  withBuiltImage,
} from './preflight.js';
import { ApplyFailure, applyAll } from './apply.js';
import { prepareDeploy, type PreparedSet } from './prepare.js';
import type { KubeCapabilities } from './manifests/index.js';
import type { DeployContext, DeployProgress, DeployResult } from './types.js';
import type { AuditInfo } from './annotations.js';
import { isWatchedKind, rank, rolloutStatus } from './kinds/index.js';
import { workloadOverrides } from './overrides.js';
import { DeployLock } from './lock.js';
import { canaryTargets, refuseOtherKinds, removeCanaries, runCanary } from './canary.js';
import { planPrune, prune, readSet, writeParent, type PrunePlan } from './prune.js';
import { checkPermissions, deployNeeds } from './permissions.js';
import { isPreDeploy, PreDeployFailed, runPreDeploy } from './phases.js';

export type { DeployContext, DeployResult, DeployResultKind, DeploymentRecorder } from './types.js';
export { renderDeploy, type RenderResult } from './render.js';

/**
 * The engine of action-deploy-k8s, as a chain of phases, each a function from the previous one's
 * value to its own (nothing is shared but those values):
 *
 *   prepareDeploy (no cluster: read, render, validate, substitute)  → PreparedSet
 *   preflight (check the cluster, pin, read what runs, annotate, a server-side dry run of the whole
 *     set; nothing has changed up to here)                          → Checked
 *   act (build and push, apply, watch every rollout in parallel, on failure explain it and roll
 *     back what this run changed)                                   → Acted
 *   deployResult (the result and its summary)                       → DeployResult
 *
 * A dry run ends after preflight (reportDryRun). A failure after the first write is a
 * DeployUndoneError that carries what was undone.
 */
export async function runDeploy(
  opts: DeployOptions,
  ctx: DeployContext,
  /** The set as prepareDeploy made it (read once by a caller that looked at it first); else read here. */
  prepared?: PreparedSet,
): Promise<DeployResult> {
  // A chart is rendered for the cluster: its connection is then made once, for the rest too.
  const chart = prepared ? {} : await chartCapabilities(opts, ctx);
  if (chart.connection) ctx = { ...ctx, connection: chart.connection };
  const set =
    prepared ??
    (await prepareDeploy(opts, {
      ...ctx,
      ...(chart.capabilities ? { capabilities: chart.capabilities } : {}),
    }));
  const held: { lock?: DeployLock } = {};
  try {
    const checked = await preflight(opts, ctx, set, held);
    if (opts.dryRun) return reportDryRun(opts, set, checked, ctx.logger);
    const acted = await act(opts, ctx, set, checked);
    return deployResult(opts, set, checked, acted);
  } finally {
    await held.lock?.release();
  }
}

/**
 * For a Helm chart: the cluster's version and API versions, so that the chart renders for the cluster
 * it goes to (`.Capabilities`), as `helm install` would. None without a chart.
 */
async function chartCapabilities(
  opts: DeployOptions,
  ctx: DeployContext,
): Promise<{ capabilities?: KubeCapabilities; connection?: KubeConnection }> {
  if (!opts.chart) return {};
  const connection = await connect(opts.cluster, ctx);
  const client = new KubeClient(connection, { logger: ctx.logger });
  const [version, apiVersions] = await Promise.all([client.version(), client.apiVersions()]);
  return {
    capabilities: { ...(version.gitVersion ? { kubeVersion: version.gitVersion } : {}), apiVersions },
    connection,
  };
}

/**
 * The deploy lock of every namespace of the set that exists, in name order (two runs on the same
 * namespaces cannot each hold one the other waits for); a namespace the set creates is locked once
 * created. Taken before the first write, released by runDeploy whatever the end.
 */
async function takeLocks(
  client: KubeClient,
  items: SetItem[],
  opts: DeployOptions,
  ctx: DeployContext,
  held: { lock?: DeployLock },
): Promise<void> {
  if (!ctx.lock || opts.dryRun) return;
  const lock = new DeployLock(client, {
    ...ctx.lock,
    timeoutMs: opts.lockTimeoutMs,
    logger: ctx.logger,
    ...(ctx.now ? { now: ctx.now } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  held.lock = lock;
  const namespaces = [...new Set(items.map((i) => i.namespace).filter((n): n is string => !!n))].sort();
  // A namespace the set makes is locked once made, when it does not exist yet: asked with a GET (the
  // set's Namespace needs it anyway), not with a Lease create, which the server holds ~50 ms before
  // it refuses one in a missing namespace.
  const made = new Set(
    items.filter((i) => i.info.kind === 'Namespace').map((i) => String(i.object.metadata.name)),
  );
  await ctx.logger.group('Take the deploy lock', async () => {
    for (const ns of namespaces)
      if (!made.has(ns) || (await client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns })))
        await lock.acquire(ns);
  });
}

/** What preflight gives: the set checked against the cluster, nothing changed on it yet. */
interface Checked {
  client: KubeClient;
  /** The set's objects, in apply order, each with what runs now and what the dry run says. */
  items: Item[];
  /** The workloads' versions before this run: a rollout is this run's when it moves past them. */
  startVersions: Map<string, string>;
  /** The images to build and push (the others were found in the registry and are used as they are). */
  toBuild: BuildWork[];
  /** What the dry run showed, one line per object. */
  lines: string[];
  audit?: AuditInfo;
  /** The keys of the pre-deploy Jobs whose template changed: run again as new Jobs. */
  recreate: ReadonlySet<string>;
  /** With `prune`: the ApplySet and what it no longer holds. */
  prune?: PrunePlan;
}

async function preflight(
  opts: DeployOptions,
  ctx: DeployContext,
  set: PreparedSet,
  held: { lock?: DeployLock } = {},
): Promise<Checked> {
  const { logger } = ctx;
  const { manifests, targets, work } = set;
  const client = new KubeClient(await connect(opts.cluster, ctx), {
    logger,
    ...(ctx.kubeRetry ? { retry: ctx.kubeRetry } : {}),
  });
  const resolved = await logger.group('Check the cluster', () =>
    resolveItems(client, manifests, opts, logger),
  );
  await logger.group('Check the permissions', async () => {
    const set = opts.prune
      ? await readSet(client, resolved, {
          ...opts.prune,
          ...(opts.namespace ? { namespace: opts.namespace } : {}),
        })
      : undefined;
    await checkPermissions(
      client,
      deployNeeds(resolved, {
        opts,
        lock: !!ctx.lock,
        ...(set ? { prune: { set, volumes: opts.prune!.volumes, namespaces: opts.prune!.namespaces } } : {}),
      }),
      { dryRun: opts.dryRun, logger },
    );
  });
  await takeLocks(client, resolved, opts, ctx, held);
  if (!opts.dryRun) throwIfCancelled(ctx.signal, 'before anything was changed');
  // Every member gets the ApplySet's label before the dry run; what an earlier run left is listed.
  const prunePlan = opts.prune
    ? await logger.group('ApplySet: what the set no longer holds', () =>
        planPrune(client, resolved, {
          ...opts.prune!,
          ...(opts.namespace ? { namespace: opts.namespace } : {}),
          logger,
        }),
      )
    : undefined;
  // The GitHub Deployment can be recorded: checked before anything is built or changed.
  if (ctx.recorder && !opts.dryRun) await ctx.recorder.check();

  const { live, startVersions, handovers } = await logger.group('Read what runs now', async () => {
    const read = await readLive(client, resolved);
    return { ...read, handovers: await leaveReplicasToAutoscalers(client, resolved, read.live, logger) };
  });
  await pinImages(opts, targets, work, 'others', logger);
  // The image to build may exist already (a re-run): then its digest is known before the dry run.
  const toBuild = await reuseBuiltImages(ctx, work);
  if (work.builds.some((b) => b.reused)) await pinImages(opts, targets, work, 'built', logger);
  // verify-key: every image but those still to be built (checked once pushed), before the dry run.
  const toBuildRefs = new Set(toBuild.map((b) => formatReference(b.ref)));
  await verifySignatures(work, targets, logger, (image) => toBuildRefs.has(image));

  // Annotations and template changes on copies for the dry run when the image is still to be built
  // (its digest is not known yet).
  const audit = opts.annotate ? ctx.audit : undefined;
  const drafts = new Map(toBuild.length ? resolved.map((it) => [it, structuredClone(it.object)]) : []);
  const objectOf = (it: SetItem) => drafts.get(it) ?? it.object;
  for (const it of resolved) annotateAssumed(objectOf(it), live.get(it), false, audit);
  const ordered = [...resolved].sort(
    (a, b) => rank(a.info.kind) - rank(b.info.kind) || a.manifest.index - b.manifest.index,
  );

  // One rejected object means nothing is applied (and, when an image is to be built, nothing is
  // pushed). Namespaces the set creates are created first, so what goes in them is validated too.
  const recreate = new Set<string>();
  const { created, dryRuns } = await logger.group('Server-side dry run', async () => {
    const created = opts.dryRun
      ? new Map<SetItem, KubeObject>()
      : await createNamespacesFirst(client, ordered, live, objectOf, opts, logger);
    for (const it of created.keys()) await held.lock?.acquire(String(it.object.metadata.name));
    try {
      return { created, dryRuns: await dryRunAll(client, ordered, live, created, objectOf, opts, recreate) };
    } catch (e) {
      throw await deleteCreatedNamespaces(client, [...created.keys()], e, logger);
    }
  });
  const items = checkedItems(ordered, { live, handovers, created, dryRuns, drafts }, audit);
  return {
    client,
    items,
    startVersions,
    toBuild,
    lines: preflightLines(items),
    ...(audit ? { audit } : {}),
    recreate,
    ...(prunePlan ? { prune: prunePlan } : {}),
  };
}

/** Tells the caller's live status (onProgress) what the run does: never awaited, never fatal. */
function tell(ctx: DeployContext, p: DeployProgress): void {
  try {
    ctx.onProgress?.(p);
  } catch {
    // A live status never stops a deploy.
  }
}

const workloadOf = (it: Item) => ({
  kind: it.info.kind,
  ...(it.namespace ? { namespace: it.namespace } : {}),
  name: String(it.object.metadata.name),
});

/** How long a cancelled run waits for its rollback or undo: the runner kills the job ~10 s after its first signal. */
export const CANCEL_WAIT_MS = 5_000;

/** What act gives: what it built, wrote and recorded, and how the rollouts ended. */
interface Acted {
  deploymentId: string;
  deploymentUrl?: string;
  /** The `applied` output's lines. */
  applied: string[];
  /** What prune removed. */
  pruned?: string[];
  canary?: DeployResult['canary'];
  verdict: Verdict;
}

/** Build and push when needed, apply, watch, judge; after a failure past the first write, undo. */
async function act(
  opts: DeployOptions,
  ctx: DeployContext,
  set: PreparedSet,
  checked: Checked,
): Promise<Acted> {
  const { logger } = ctx;
  const now = ctx.now ?? Date.now;
  const { targets, work } = set;
  const { client, startVersions, audit } = checked;
  const recorder = startRecorder(ctx);
  // The set as it stands: what an undo after a failure goes by.
  let items = checked.items;
  // After a cancel, the undo does not wait long: the runner kills the job seconds after its signal.
  const undoOpts = () =>
    ctx.signal?.aborted
      ? { ...opts, rollbackTimeoutMs: Math.min(opts.rollbackTimeoutMs, CANCEL_WAIT_MS) }
      : opts;
  if (opts.strategy === 'canary') refuseOtherKinds(items);
  try {
    const deploymentId = await recorder.start();
    if (opts.strategy === 'canary-abort') {
      const removed = await logger.group('Canary: abort', () => removeCanaries(client, items, logger));
      const said = removed.length ? `removed ${removed.join(', ')}` : 'no canary of this set to remove';
      await recorder.finish('success', `canary aborted: ${said}`);
      return {
        deploymentId,
        ...(recorder.url ? { deploymentUrl: recorder.url } : {}),
        applied: [],
        canary: 'aborted',
        verdict: { result: 'success', rows: [], rolledBack: false },
      };
    }
    if (checked.toBuild.length) {
      tell(ctx, { step: 'build' });
      await buildImages(ctx, work, checked.toBuild, opts.services?.parallel ?? 1);
      await pinImages(opts, targets, work, 'built', logger);
      const built = new Set(checked.toBuild.map((b) => b.image));
      await verifySignatures(work, targets, logger, (image) => !built.has(image));
      items = withBuiltImage(items, audit);
    }
    throwIfCancelled(ctx.signal, 'before anything was applied');
    // The ApplySet's parent first, with every kind the set held and holds: a run that stops half-way
    // leaves no member of a kind it does not list.
    if (checked.prune)
      await writeParent(
        client,
        opts.prune!.set,
        checked.prune,
        [...new Set([...checked.prune.before, ...checked.prune.now])],
        opts.forceConflicts,
      );
    // Migrations first: the pre-deploy Jobs run to completion before anything else is applied.
    let preOutcome = new Map<Item, Outcome>();
    const pre = items.filter((i) => isPreDeploy(i.object));
    if (pre.length) {
      tell(ctx, { step: 'pre-deploy' });
      const ran = await logger.group(`Pre-deploy: ${pre.length} Job(s), before anything else`, () =>
        runPreDeploy(client, pre, {
          timeoutMs: opts.timeoutMs,
          ...(opts.failFast ? { failFast: { graceMs: opts.failFastGraceMs } } : {}),
          startVersions,
          forceConflicts: opts.forceConflicts,
          recreate: checked.recreate,
          logger,
          now,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        }),
      );
      const byKey = new Map(ran.items.map((i) => [i.key, i]));
      items = items.map((i) => byKey.get(i.key) ?? i);
      preOutcome = ran.outcome;
      throwIfCancelled(ctx.signal, 'after the pre-deploy Jobs, before anything else was applied');
    }
    // Canary: the rest of the set first, then the canaries of the changed Deployments, watched; the
    // Deployments themselves only once their canaries were healthy.
    const underCanary = opts.strategy === 'canary' ? canaryTargets(items) : [];
    if (underCanary.length) {
      const others = items;
      items = await logger.group('Apply (the Deployments under canary wait)', () =>
        applyAll(
          client,
          others.filter((i) => !underCanary.includes(i)),
          opts,
          logger,
        ).then((done) => others.map((i) => done.find((d) => d.key === i.key) ?? i)),
      );
      await logger.group(`Canary: ${underCanary.map((i) => i.key).join(', ')}`, () =>
        runCanary(client, underCanary, {
          canary: opts.canary!,
          timeoutMs: opts.timeoutMs,
          ...(opts.failFast ? { failFast: { graceMs: opts.failFastGraceMs } } : {}),
          startVersions,
          forceConflicts: opts.forceConflicts,
          logger,
          now,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          workspace: opts.workspace,
        }),
      );
      if (opts.canary!.promote === 'manual') {
        const note = `canary healthy; promote with strategy 'canary-promote', or remove it with 'canary-abort'`;
        logger.info(note);
        await recorder.finish('success', note);
        return {
          deploymentId,
          ...(recorder.url ? { deploymentUrl: recorder.url } : {}),
          applied: appliedLines(items),
          canary: 'healthy',
          verdict: { result: 'success', rows: [], rolledBack: false },
        };
      }
    }
    const toApply = items;
    tell(ctx, { step: 'apply' });
    // An apply under way is finished (a half-applied set is worse than either), then undone.
    items = await logger.group('Apply', () => applyAll(client, toApply, opts, logger));
    throwIfCancelled(ctx.signal, 'while the set was applied: what was applied is undone');
    const applied = appliedLines(items);

    // Only rollouts this run starts are watched: a workload whose template did not change has none;
    // nor one annotated commit-to-cloud.dev/watch: "false" (its row says not watched).
    const watched = items.filter(
      (i) =>
        isWatchedKind(i.info.kind) &&
        i.applied &&
        i.templateChanged &&
        workloadOverrides(i.object).watch &&
        !isPreDeploy(i.object),
    );
    for (const i of items)
      if (isWatchedKind(i.info.kind) && !watched.includes(i) && !isPreDeploy(i.object))
        tell(ctx, { workload: workloadOf(i), state: 'unchanged', message: 'unchanged' });
    if (watched.length) tell(ctx, { step: 'watch' });
    const outcome = watched.length
      ? await logger.group(`Watch ${watched.length} rollout(s)`, () =>
          watchRollouts(client, watched, {
            startVersions,
            timeoutMs: opts.timeoutMs,
            logger,
            now,
            ...(opts.failFast ? { failFast: { graceMs: opts.failFastGraceMs } } : {}),
            workloadOverrides: true,
            ...(ctx.signal ? { signal: ctx.signal } : {}),
            report: (it, state, message) => tell(ctx, { workload: workloadOf(it), state, message }),
          }),
        )
      : new Map<Item, Outcome>();
    const judged = judge(items, watched, new Map([...preOutcome, ...outcome]), logger);
    const verdict: Verdict = judged.failed.length
      ? await failRollout(client, undoOpts(), items, watched, judged, outcome, logger, now)
      : { result: 'success', rows: judged.rows, rolledBack: false };
    // Prune only after the set rolled out: a failed release that was rolled back keeps what it had.
    let pruned: string[] | undefined;
    if (checked.prune && !verdict.failure) {
      const plan = checked.prune;
      const done = await logger.group('Prune', () => prune(client, plan, logger));
      pruned = done.removed;
      for (const p of done.problems) logger.warning(`prune: ${p} (left; it stays in the ApplySet's kinds)`);
      await writeParent(
        client,
        opts.prune!.set,
        plan,
        // What is left of the set (kept, or not removed) stays listed, so a later prune finds it.
        done.problems.length
          ? [...new Set([...plan.before, ...plan.now])]
          : [...new Set([...plan.now, ...plan.keptKinds])],
        opts.forceConflicts,
      );
    }
    // A promoted canary (now, or by canary-promote) has served its purpose, whatever the rollout did.
    const promoted = underCanary.length > 0 || opts.strategy === 'canary-promote';
    if (promoted) await logger.group('Canary: remove', () => removeCanaries(client, items, logger));
    if (verdict.failure) await recorder.finish('failure', verdict.failure);
    else await recorder.finish('success', `deployed ${applied.length} object(s)`);
    return {
      deploymentId,
      ...(recorder.url ? { deploymentUrl: recorder.url } : {}),
      applied,
      ...(pruned ? { pruned } : {}),
      ...(promoted && !verdict.failure ? { canary: 'promoted' as const } : {}),
      verdict,
    };
  } catch (e) {
    // Whatever went wrong after the first write, what this run wrote is undone (when asked), and
    // the GitHub Deployment does not stay in_progress.
    if (e instanceof ApplyFailure) items = e.items;
    // A failed pre-deploy Job: nothing else was applied, and the Job stays for its logs.
    const failure =
      e instanceof PreDeployFailed ? e : await undoAfterFailure(client, items, undoOpts(), e, logger, now);
    await recorder.finish('failure', errorMessage(failure));
    throw failure;
  }
}

/** The deploy's result, made once from the phases' values. */
function deployResult(opts: DeployOptions, set: PreparedSet, checked: Checked, acted: Acted): DeployResult {
  const { verdict } = acted;
  return {
    result: verdict.result,
    ...imagesOf(set.work),
    applied: acted.applied,
    ...(acted.pruned ? { pruned: acted.pruned } : {}),
    ...(acted.canary ? { canary: acted.canary } : {}),
    rolledBack: verdict.rolledBack,
    deploymentId: acted.deploymentId,
    rows: verdict.rows,
    changes: set.work.changes,
    preflight: checked.lines,
    ...(verdict.failure ? { failure: verdict.failure } : {}),
    requestCount: checked.client.requestCount,
    summary: renderDeploySummary({
      rows: verdict.rows,
      result: verdict.result,
      ...(acted.deploymentUrl
        ? {
            deployment: {
              url: acted.deploymentUrl,
              id: acted.deploymentId,
              ...(opts.environment ? { environment: opts.environment } : {}),
            },
          }
        : {}),
      notes: [
        ...(verdict.failure ? [verdict.failure] : []),
        `Timeouts: rollout timeout ${formatDuration(opts.timeoutMs)}, rollback timeout ${formatDuration(opts.rollbackTimeoutMs)}.`,
      ],
    }),
  };
}

/** The result's images: every build's, and the one image when there is one build. */
function imagesOf(work: ImageWork): Pick<DeployResult, 'image' | 'digest' | 'builds'> {
  return {
    ...theImage(work),
    builds: work.builds.map((b) => ({
      name: b.spec.name,
      ...(b.spec.service ? { service: b.spec.service } : {}),
      image: b.image,
      digest: b.digest,
      built: !!b.digest && !b.reused,
    })),
  };
}

/** The GitHub Deployment of this run, when there is a recorder: started once, finished once. */
function startRecorder(ctx: DeployContext) {
  let id: number | string | undefined;
  let finished = false;
  const self = {
    url: undefined as string | undefined,
    async start(): Promise<string> {
      if (!ctx.recorder) return '';
      const d = await ctx.recorder.start();
      id = d.id;
      self.url = d.url;
      return String(d.id);
    },
    async finish(state: 'success' | 'failure', description: string): Promise<void> {
      if (finished || !ctx.recorder || id === undefined) return;
      finished = true;
      try {
        await ctx.recorder.finish(id, state, description.slice(0, 140));
      } catch (e) {
        ctx.logger.warning(`could not record the deployment status: ${errorMessage(e)}`);
      }
    },
  };
  return self;
}

/**
 * One summary row per workload: the watched ones with their rollout's end, the others as not
 * watched (written, no new template) or unchanged (not written; a live rollout that is not complete
 * is a warning, since this run did not start it); and the watched workloads whose rollout failed.
 */
function judge(
  items: Item[],
  watched: Item[],
  outcome: Map<Item, Outcome>,
  logger: DeployContext['logger'],
): { rows: WorkloadRow[]; failed: Item[] } {
  const rows: WorkloadRow[] = [];
  for (const it of items.filter((i) => isWatchedKind(i.info.kind))) {
    const o = outcome.get(it);
    if (!o) {
      const st = it.live ? rolloutStatus(it.live) : undefined;
      if (!it.applied && st && !st.done)
        logger.warning(
          `${it.key} is unchanged by this run, but its current rollout is not complete: ${st.message}`,
        );
      rows.push({ ...rowFor(it), result: it.applied ? 'not-watched' : 'unchanged' });
      continue;
    }
    const ok = o.status.done && !o.status.failed;
    rows.push({
      ...rowFor(it),
      durationMs: o.ms,
      result: ok ? 'success' : o.timedOut ? 'timed-out' : 'failed',
      ...(ok ? {} : { note: o.status.message }),
    });
  }
  const failed = watched.filter((it) => {
    const o = outcome.get(it)!;
    return !o.status.done || o.status.failed;
  });
  return { rows, failed };
}

/** The end of a deploy that applied: its result, its rows, and the failure in words when it failed. */
interface Verdict {
  result: DeployResult['result'];
  rows: WorkloadRow[];
  rolledBack: boolean;
  failure?: string;
}

/** The `applied` output: every object, those the dry run showed unchanged (not written) marked so. */
function appliedLines(items: Item[]): string[] {
  return items.map((i) => (i.state === 'unchanged' && !i.applied ? `${i.key} (unchanged)` : i.key));
}

/**
 * A failed rollout: explained, then (rollback-on-failure) everything this run changed goes back
 * within rollback-timeout: the workloads it started a rollout of to their previous revision (what
 * `kubectl rollout undo` does), every other object it changed (ConfigMaps, Services, HPAs, workloads
 * whose template stayed) restored as for a half-done apply (undoApply), first, so that the pods
 * going back find the configuration they ran with. What this run created stays, and is named.
 */
async function failRollout(
  client: KubeClient,
  opts: DeployOptions,
  items: Item[],
  watched: Item[],
  judged: { rows: WorkloadRow[]; failed: Item[] },
  outcome: Map<Item, Outcome>,
  logger: DeployContext['logger'],
  now: () => number,
): Promise<Verdict> {
  const { failed } = judged;
  // The report names each failed workload with its reason; the step's error says it once more at the end.
  // The verdict names the cause (the waiting reason and the image), not only the symptom.
  const { reasonOf, what } = await logger.group('Why the rollout failed', () =>
    explainFailed(client, failed, outcome, logger),
  );
  const noted = judged.rows.map((row) => {
    const it = failed.find((f) => f.key === keyOf(row.kind, row.namespace, row.name));
    return it ? { ...row, note: reasonOf(it) } : row;
  });
  const failure = `Rollout failed: ${what}.`;
  if (!opts.rollbackOnFailure) return { result: 'failed', rows: noted, rolledBack: false, failure };
  const changed = items.filter((i) => i.applied && i.live && !watched.includes(i));
  const { undo, back } = await logger.group('Roll back', async () => {
    const undo = await undoApply(client, changed, logger, opts.rollbackTimeoutMs, now);
    const back = await rollBack(client, watched, logger, opts.rollbackTimeoutMs, now);
    return { undo, back };
  });
  const created = items.filter((i) => i.applied && !i.live).map((i) => i.key);
  const problems = [...undo.problems, ...back.problems];
  const rolledBack = back.rolledBack.length + undo.restored.length > 0;
  const rows = noted.map((row) => {
    const k = keyOf(row.kind, row.namespace, row.name);
    return {
      ...row,
      ...(back.rolledBack.includes(k) ? { result: 'rolled-back' as const } : {}),
      ...(created.includes(k)
        ? { note: `${row.note ? `${row.note}; ` : ''}created by this run: not rolled back` }
        : {}),
    };
  });
  const said: string[] = [failure];
  if (rolledBack) {
    const put = [
      ...(back.rolledBack.length ? [`Rolled back ${back.rolledBack.join(', ')}`] : []),
      ...(undo.restored.length ? [`restored ${undo.restored.join(', ')} as they were before this run`] : []),
    ].join('; ');
    said.push(
      problems.length
        ? `${upperFirst(put)}, but the rollback itself did not complete: ${problems.join('; ')}.`
        : `${upperFirst(put)}: the previous version runs again.`,
    );
  } else if (problems.length) said.push(`Could not roll back: ${problems.join('; ')}.`);
  if (created.length) said.push(`Created by this run and left in place: ${created.join(', ')}.`);
  return { result: rolledBack ? 'rolled-back' : 'failed', rows, rolledBack, failure: said.join(' ') };
}

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * A deploy that failed after it had written: the failure (its cause, whose message comes first) and
 * what became of what this run wrote, as data and in words. Built once, never edited.
 */
export class DeployUndoneError extends C2CError {
  override name = 'DeployUndoneError';
  constructor(
    readonly failure: unknown,
    readonly undone: { written: string[]; restored: string[]; removed: string[]; problems: string[] },
    said: string,
  ) {
    super(`${errorMessage(failure)}\n${said}`, {
      cause: failure,
      ...(failure instanceof C2CError && failure.where ? { where: failure.where } : {}),
    });
  }
}

/**
 * After any failure once the first write is done (a build that fails after the namespaces were
 * created, an apply refused half-way by a quota or a webhook, a watch that keeps breaking, a bug):
 * with rollback-on-failure, what this run wrote is undone; the error says what was and what could
 * not be. A failure that is not one of the engine's errors is wrapped (it stays the cause).
 */
async function undoAfterFailure(
  client: KubeClient,
  items: Item[],
  opts: DeployOptions,
  e: unknown,
  logger: DeployContext['logger'],
  now: () => number,
): Promise<unknown> {
  const written = items.filter((i) => i.applied);
  if (written.length === 0) return e;
  const keys = written.map((i) => i.key);
  if (!opts.rollbackOnFailure)
    return new DeployUndoneError(
      e,
      { written: keys, restored: [], removed: [], problems: [] },
      `Applied before the failure: ${keys.join(', ')} (rollback-on-failure is false: left as they are).`,
    );
  let undo: Awaited<ReturnType<typeof undoApply>>;
  try {
    undo = await logger.group('Undo what this run applied', () =>
      undoApply(client, written, logger, opts.rollbackTimeoutMs, now),
    );
  } catch (u) {
    return new DeployUndoneError(
      e,
      { written: keys, restored: [], removed: [], problems: [errorMessage(u)] },
      `Undoing what this run applied failed too (${errorMessage(u)}); applied before the failure: ${keys.join(', ')}.`,
    );
  }
  const said: string[] = [];
  if (undo.restored.length) said.push(`Restored ${undo.restored.join(', ')} as they were before this run.`);
  if (undo.removed.length) said.push(`Removed ${undo.removed.join(', ')}, created by this run.`);
  if (undo.problems.length) said.push(`These could not be restored: ${undo.problems.join('; ')}.`);
  else said.push('Nothing this run applied is left.');
  return new DeployUndoneError(
    e,
    { written: keys, restored: undo.restored, removed: undo.removed, problems: undo.problems },
    said.join(' '),
  );
}

/**
 * A dry run ends after preflight: what would change, in the log and the summary, as the result.
 */
async function reportDryRun(
  opts: DeployOptions,
  set: PreparedSet,
  checked: Checked,
  logger: DeployContext['logger'],
): Promise<DeployResult> {
  const { client, items, lines } = checked;
  // The images to build, when some would be built (not those that exist already).
  const wouldBuild = checked.toBuild.map((b) => formatReference(b.ref));
  const wouldPrune = (checked.prune?.candidates ?? []).map((c) =>
    keyOf(c.kind, c.metadata.namespace, String(c.metadata.name)),
  );
  await logger.group('Dry run: what would change', async () => {
    for (const b of checked.toBuild)
      logger.info(
        `would build ${b.spec.context} and push ${formatReference(b.ref)} (not built in a dry run)`,
      );
    for (const line of lines) logger.info(line);
    for (const c of wouldPrune) logger.info(`would prune ${c} (no longer in the set)`);
  });
  // The rows show the objects as the dry run sent them (the drafts, when there are).
  const rows = items
    .filter((i) => isWatchedKind(i.info.kind))
    .map((i) => rowFor({ ...i, object: i.draft ?? i.object }));
  return {
    result: 'dry-run',
    ...imagesOf(set.work),
    applied: appliedLines(items),
    ...(checked.prune ? { pruned: wouldPrune } : {}),
    rolledBack: false,
    deploymentId: '',
    rows,
    changes: set.work.changes,
    preflight: lines,
    requestCount: client.requestCount,
    summary: renderDeploySummary({
      title: 'Deploy (dry run)',
      rows,
      result: 'dry-run',
      notes: [...wouldBuild.map((r) => `${r} would be built and pushed (not in a dry run)`), ...lines],
    }),
  };
}
