import { C2CError } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { FIELD_MANAGER, KubeApiError, type KubeClient, type KubeObject } from '../kube/index.js';
import type { Item } from './items.js';
import { asObject, get, type JsonObject } from './objects.js';
import { rolloutStatus } from './kinds/index.js';
import { explainFailed, watchRollouts, type FailFastOptions, type Outcome } from './rollout/index.js';

/**
 * Migrations first: Jobs annotated `commit-to-cloud.dev/phase: pre-deploy` are applied, and must
 * complete, before any other object of the set is applied (Helm's pre-install/pre-upgrade hooks,
 * krane's and Argo CD's PreSync). A failing one stops the deploy with its pods' logs: nothing else is
 * applied, and the Job stays for a look (`kubectl logs job/<name>`).
 *
 * A Job's pod template cannot change. A pre-deploy Job that exists already is run again when its
 * template changed (a new image: a new release's migration) or when it failed: the old one (only
 * when this suite applied it) is deleted first, then the new one created. One that completed with
 * the same template is not run again (a re-run of the same release); one still running is waited for.
 * The server-side dry run validates a changed one as a create under a probe name (the apply of the
 * changed template itself would be refused as immutable).
 */
export const PHASE_KEY = 'commit-to-cloud.dev/phase';
export const PRE_DEPLOY = 'pre-deploy';

export function isPreDeploy(o: JsonObject): boolean {
  return (asObject(get(o, 'metadata', 'annotations')) ?? {})[PHASE_KEY] === PRE_DEPLOY;
}

/** The problem with an object's phase annotation, if any (validateManifests names the object). */
export function phaseProblem(o: JsonObject): string | undefined {
  const value = (asObject(get(o, 'metadata', 'annotations')) ?? {})[PHASE_KEY];
  if (value === undefined) return undefined;
  if (value !== PRE_DEPLOY)
    return `annotation ${PHASE_KEY}: '${String(value)}' is not a phase; the one phase is '${PRE_DEPLOY}'`;
  if (o.kind !== 'Job' || o.apiVersion !== 'batch/v1')
    return `annotation ${PHASE_KEY}: '${PRE_DEPLOY}' is for Jobs (batch/v1), not a ${String(o.kind)}`;
  return undefined;
}

/** The probe name a changed pre-deploy Job is validated under (a dry-run create: nothing is made). */
export function probeName(name: string): string {
  return `${name.slice(0, 50)}-c2c-probe`;
}

/** A 422 of an apply that changes what cannot change (a Job's template). */
export function isImmutableRefusal(e: unknown): boolean {
  return e instanceof KubeApiError && e.status === 422 && /immutable/i.test(e.message);
}

export class PreDeployFailed extends C2CError {
  override name = 'PreDeployFailed';
  /** The failure report: each failed Job's pods, their events and the end of their logs. */
  report = '';
}

export interface PreDeployOptions {
  timeoutMs: number;
  failFast?: FailFastOptions;
  startVersions: Map<string, string>;
  forceConflicts: boolean;
  /** The keys of the pre-deploy Jobs whose template changed (the dry run found them immutable): run again. */
  recreate: ReadonlySet<string>;
  logger: Logger;
  now: () => number;
  signal?: AbortSignal;
}

/**
 * Runs the set's pre-deploy Jobs (all of them at once) and waits for them. Returns the items as
 * applied and their outcomes; throws PreDeployFailed, after printing why, when one failed or timed
 * out (nothing else is applied then).
 */
export async function runPreDeploy(
  client: KubeClient,
  items: Item[],
  o: PreDeployOptions,
): Promise<{ items: Item[]; outcome: Map<Item, Outcome> }> {
  const { logger } = o;
  const started: Item[] = [];
  const outcome = new Map<Item, Outcome>();
  for (const it of items) {
    const live = it.live ? rolloutStatus(it.live) : undefined;
    const again = o.recreate.has(it.key) || live?.failed === true;
    if (it.live && !again && live?.done) {
      logger.info(`${it.key}: completed already with this template: not run again`);
      outcome.set(it, { status: live, ms: 0, timedOut: false, object: it.live });
      continue;
    }
    if (it.live && !again) {
      logger.info(`${it.key}: running already with this template: waiting for it`);
      started.push({ ...it, applied: it.live });
      continue;
    }
    if (it.live) await deleteOld(client, it, live?.failed ? 'it failed' : 'its template changed', logger);
    const applied = await client.apply(it.object, { force: o.forceConflicts });
    logger.info(`created ${it.key}`);
    started.push({ ...it, applied });
  }
  if (started.length) {
    const watched = await watchRollouts(client, started, {
      startVersions: o.startVersions,
      timeoutMs: o.timeoutMs,
      logger,
      now: o.now,
      ...(o.failFast ? { failFast: o.failFast } : {}),
      workloadOverrides: true,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    for (const [it, out] of watched) outcome.set(it, out);
  }
  const failed = started.filter((it) => {
    const s = outcome.get(it)!.status;
    return !s.done || s.failed;
  });
  if (failed.length) {
    const { what, report } = await explainFailed(client, failed, outcome, logger);
    const e = new PreDeployFailed(
      `Pre-deploy Job failed: ${what}. Nothing else was applied; the Job stays for its logs (kubectl logs job/<name>).`,
    );
    e.report = report;
    throw e;
  }
  const done = new Map(started.map((s) => [s.key, s]));
  return { items: items.map((it) => done.get(it.key) ?? it), outcome };
}

/** Deletes the pre-deploy Job of an earlier run (this suite's only) and waits until it is gone. */
async function deleteOld(client: KubeClient, it: Item, why: string, logger: Logger): Promise<void> {
  const live = it.live as KubeObject;
  const managers = (live.metadata.managedFields ?? []).map((m) => m.manager);
  if (!managers.includes(FIELD_MANAGER))
    throw new C2CError(
      `${it.key} exists and was not applied by this suite (field managers: ${managers.join(', ') || 'none'}): it is not deleted to run the pre-deploy Job again. Delete it yourself, or give the Job a name of its own per release.`,
    );
  const ref = {
    apiVersion: it.info.apiVersion,
    kind: it.info.kind,
    name: String(it.object.metadata.name),
    ...(it.namespace ? { namespace: it.namespace } : {}),
  };
  await client.delete(ref, { propagationPolicy: 'Background' });
  logger.info(`deleted ${it.key} of an earlier run (${why}), to run it again`);
  const end = Date.now() + 60_000;
  while (await client.get(ref)) {
    if (Date.now() > end)
      throw new C2CError(`${it.key}: the earlier Job is still there 60 s after its deletion`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
