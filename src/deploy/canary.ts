import path from 'node:path';
import { C2CError, ExecError, errorMessage, exec, formatDuration, request } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { KubeClient, KubeObject } from '../kube/index.js';
import type { DeployOptions } from './inputs.js';
import { isWatchedKind, rolloutStatus } from './kinds/index.js';
import { keyOf, type Item } from './items.js';
import { asObject, get, nameOf, type JsonObject } from './objects.js';
import { explainFailed, watchRollouts, type FailFastOptions, type Outcome } from './rollout/index.js';

/**
 * Canary without a controller: a changed Deployment's new template first runs beside the stable one
 * as `<name>-canary` (its own Deployment, `canary-replicas` pods, the stable pod labels plus a track
 * label, so the same Service sends it traffic), is watched (fail-fast, diagnosis) until ready, then
 * must stay healthy for `canary-duration` while `canary-check` answers 2xx. Healthy: the stable
 * Deployment gets the new template (a rolling update, watched as always) and the canary goes.
 * Unhealthy: the canary goes and the stable Deployment is never touched. Only Deployments.
 */
export const TRACK = 'commit-to-cloud.dev/track';
export const CANARY_OF = 'commit-to-cloud.dev/canary-of';

export const canaryName = (name: string) => `${name.slice(0, 63 - '-canary'.length)}-canary`;

export class CanaryFailed extends C2CError {
  override name = 'CanaryFailed';
}

/** The Deployments a canary run starts canaries for: existing ones whose template changes. */
export function canaryTargets(items: Item[]): Item[] {
  return items.filter((i) => i.info.kind === 'Deployment' && i.live && i.templateChanged);
}

/** Other workloads that would roll: refused, before anything changes. */
export function refuseOtherKinds(items: Item[]): void {
  const others = items.filter(
    (i) => isWatchedKind(i.info.kind) && i.info.kind !== 'Deployment' && i.live && i.templateChanged,
  );
  if (others.length)
    throw new C2CError(
      `Input 'strategy': canary works for Deployments, and ${others.map((i) => i.key).join(', ')} would roll too: deploy ${others.length > 1 ? 'them' : 'it'} with strategy 'rolling' (in a step of its own), nothing was changed`,
    );
}

/** The canary of a Deployment: its new template, under its own name, selector and replicas. */
export function canaryObject(it: Item, replicas: number): KubeObject {
  const o = structuredClone(it.object) as KubeObject & JsonObject;
  const name = String(o.metadata.name);
  o.metadata = {
    ...o.metadata,
    name: canaryName(name),
    annotations: { ...(o.metadata.annotations ?? {}), [CANARY_OF]: name },
  };
  const spec = asObject(o.spec)!;
  spec.replicas = replicas;
  const selector = asObject(spec.selector) ?? {};
  spec.selector = {
    ...selector,
    matchLabels: { ...(asObject(selector.matchLabels) ?? {}), [TRACK]: 'canary' },
  };
  const template = asObject(spec.template)!;
  const meta = asObject(template.metadata) ?? {};
  template.metadata = { ...meta, labels: { ...(asObject(meta.labels) ?? {}), [TRACK]: 'canary' } };
  return o;
}

export interface CanaryRunOptions {
  canary: NonNullable<DeployOptions['canary']>;
  timeoutMs: number;
  failFast?: FailFastOptions;
  startVersions: Map<string, string>;
  forceConflicts: boolean;
  logger: Logger;
  now: () => number;
  signal?: AbortSignal;
  /** Where a check command runs. */
  workspace: string;
}

/**
 * Starts the canaries, waits until they are ready, then watches them for the duration (and probes
 * the check). Resolves when healthy; throws CanaryFailed (the canaries removed again) otherwise.
 */
export async function runCanary(client: KubeClient, targets: Item[], o: CanaryRunOptions): Promise<void> {
  const { logger, canary } = o;
  const started: Item[] = [];
  const want = new Map<string, number>();
  try {
    for (const it of targets) {
      const current = Number(get(it.live, 'spec', 'replicas') ?? 1);
      const replicas =
        canary.percent !== undefined
          ? Math.max(1, Math.ceil((current * canary.percent) / 100))
          : canary.replicas;
      const obj = canaryObject(it, replicas);
      const applied = await client.apply(obj, { force: o.forceConflicts });
      const key = keyOf('Deployment', it.namespace, String(obj.metadata.name));
      logger.info(`created ${key}: ${replicas} pod(s) of the new template of ${it.key}`);
      want.set(key, replicas);
      started.push({ ...it, object: obj, key, applied, live: undefined });
    }
    const outcome = await watchRollouts(client, started, {
      startVersions: o.startVersions,
      timeoutMs: o.timeoutMs,
      logger,
      now: o.now,
      ...(o.failFast ? { failFast: o.failFast } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    const failed = started.filter((it) => !outcome.get(it)!.status.done || outcome.get(it)!.status.failed);
    if (failed.length) await fail(client, failed, outcome, logger, 'did not become ready');
    logger.info(
      `canary ready; watching it for ${formatDuration(canary.durationMs)}${canary.check ? `, ${canary.check} must answer 2xx` : ''}${canary.command ? `, \`${canary.command.join(' ')}\` must exit 0` : ''}`,
    );
    const end = o.now() + canary.durationMs;
    while (o.now() < end) {
      if (o.signal?.aborted) throw new CanaryFailed(`Canary cancelled (${String(o.signal.reason)})`);
      for (const it of started) {
        const live = await client.get({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: String(it.object.metadata.name),
          ...(it.namespace ? { namespace: it.namespace } : {}),
        });
        const st = rolloutStatus(live);
        const available = Number(get(live, 'status', 'availableReplicas') ?? 0);
        const needed = want.get(it.key) ?? canary.replicas;
        if (!live || !st?.done || available < needed)
          await fail(
            client,
            [it],
            new Map([
              [
                it,
                {
                  status: {
                    done: false,
                    failed: true,
                    message: `${st?.message ?? 'gone'} (${available} of ${needed} available)`,
                  },
                  ms: 0,
                  timedOut: false,
                  object: live ?? it.object,
                },
              ],
            ]),
            logger,
            'became unhealthy',
          );
      }
      if (canary.command) {
        const [cmd, ...args] = canary.command;
        try {
          // A path (./scripts/smoke.sh) is the workspace's; a bare name is looked up on PATH.
          const file = cmd!.includes('/') ? path.resolve(o.workspace, cmd!) : cmd!;
          await exec(file, args, { cwd: o.workspace, timeoutMs: 60_000 });
        } catch (e) {
          const out = e instanceof ExecError ? (e.result.stderr || e.result.stdout).trim() : '';
          const said =
            e instanceof ExecError
              ? `${e.result.code === null ? 'was stopped' : `exited ${e.result.code}`}${out ? `: ${out.split('\n').slice(-5).join(' | ')}` : ''}`
              : errorMessage(e);
          throw new CanaryFailed(
            `Canary check \`${canary.command.join(' ')}\` ${said}: the canary is removed, ${targets.map((t) => t.key).join(', ')} not touched.`,
          );
        }
      }
      if (canary.check) {
        let status: number | string;
        try {
          status = (await request({ url: canary.check, method: 'GET', timeoutMs: 5_000 })).status;
        } catch (e) {
          status = errorMessage(e);
        }
        if (typeof status !== 'number' || status < 200 || status > 299)
          throw new CanaryFailed(
            `Canary check ${canary.check} answered ${typeof status === 'number' ? `HTTP ${status}` : status}: the canary is removed, ${targets.map((t) => t.key).join(', ')} not touched.`,
          );
      }
      await new Promise((r) => setTimeout(r, Math.min(2_000, Math.max(0, end - o.now()))));
    }
    logger.info(`canary healthy for ${formatDuration(canary.durationMs)}`);
  } catch (e) {
    await removeCanaries(client, targets, logger);
    throw e;
  }
}

async function fail(
  client: KubeClient,
  failed: Item[],
  outcome: Map<Item, Outcome>,
  logger: Logger,
  what: string,
): Promise<never> {
  const { what: list } = await explainFailed(client, failed, outcome, logger, what);
  throw new CanaryFailed(
    `Canary failed: ${list}. The canary is removed; the stable Deployment was not touched.`,
  );
}

/** Removes the canaries of these Deployments (only this suite's: annotated canary-of the Deployment). */
export async function removeCanaries(
  client: KubeClient,
  deployments: Item[],
  logger: Logger,
): Promise<string[]> {
  const removed: string[] = [];
  for (const it of deployments.filter((d) => d.info.kind === 'Deployment')) {
    const name = String(it.object.metadata.name);
    const ref = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: canaryName(name),
      ...(it.namespace ? { namespace: it.namespace } : {}),
    };
    const live = await client.get(ref);
    if (!live || live.metadata.annotations?.[CANARY_OF] !== name) continue;
    await client.delete(ref, { propagationPolicy: 'Background' });
    const key = keyOf('Deployment', it.namespace, nameOf(live));
    removed.push(key);
    logger.info(`removed the canary ${key}`);
  }
  return removed;
}
