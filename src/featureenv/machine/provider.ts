import { randomBytes } from 'node:crypto';
import { C2CError, codeSpan, errorMessage, formatDuration, shortDuration } from '../../core/index.js';
import { formatReference, parseEcrHost } from '../../images/index.js';
import { KubeClient, loadKubeconfig, type KubeConnection } from '../../kube/index.js';
import { PENDING_MS, type Scope } from '../claims.js';
import { emptyResult, type FeatureEnvContext, type FeatureEnvResult } from '../context.js';
import { recordRemoval } from '../down.js';
import type { FeatureEnvOptions } from '../inputs.js';
import { UpProgress } from '../progress.js';
import { renderFeatureEnvSummary } from '../summary.js';
import type { DatabaseProvider } from '../types.js';
import { beginUp, upChecked, withReport } from '../up.js';
import { Machines, type Machine } from './ec2.js';

/** How often a new instance is asked whether it published its kubeconfig (tests shorten it). */
export interface MachineTiming {
  pollMs?: number;
  /** How long a down waits for a security group whose instance is terminating. */
  groupWaitMs?: number;
}

const alive = (m: Machine) => !['shutting-down', 'terminated'].includes(m.state);
const iso = (ms: number) => new Date(ms).toISOString();

/** The instance was terminated while this up waited for it: a down ran meanwhile. */
class MachineGone extends C2CError {}

/**
 * up with `isolation: ec2`: the inputs EC2 must confirm (image, type, subnet) and the pull request's
 * checks first, then the pull request's instance (its own, a warm one, or a new one launched with
 * the user data), its kubeconfig awaited at the SSM parameter its tag names and its API server
 * asked, then the very same up as a namespace's, into that cluster: validation, dry run, rollout
 * watch, database Secret, Ingress hosts on the instance's address, comment, GitHub Deployment.
 */
export async function upOnMachine(
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
  m: Machines,
  db: DatabaseProvider | undefined,
  number: number,
  timing: MachineTiming = {},
): Promise<FeatureEnvResult> {
  const { logger } = ctx;
  const now = ctx.now ?? Date.now;
  const checked = await logger.group('Check the image, instance type and subnet with EC2', () => m.check());
  logger.info(
    `image ${checked.imageName} (${checked.imageId}), ${m.opts.instanceType} in ${m.opts.subnetId}`,
  );
  const begun = await beginUp(opts, ctx, number);
  if ('withdrawn' in begun) return begun.withdrawn;
  const { sha, prUrl, prepared, t0 } = begun;
  const progress = new UpProgress(ctx, number, sha, prepared, t0);
  progress.stepTo('machine');
  try {
    const expiresAt = iso(now() + opts.ttlMs);
    const images = (opts.deploy?.images ?? []).map(formatReference);
    const ecr = (opts.deploy?.images ?? []).map((i) => i.registry).find((r) => parseEcrHost(r));
    const placed = await logger.group('Claim a machine', () =>
      place(m, ctx, number, {
        images,
        ...(ecr ? { ecr } : {}),
        expiresAt,
        maxEnvironments: opts.fences.maxEnvironments,
      }),
    );
    let connection: KubeConnection;
    try {
      connection = await logger.group(`Wait for ${placed.machine.id}: its kubeconfig, its API server`, () =>
        awaitCluster(m, ctx, placed.machine, {
          timeoutMs: placed.existing ? Math.min(m.opts.readyTimeoutMs, 120_000) : m.opts.readyTimeoutMs,
          pollMs: timing.pollMs ?? 5000,
        }),
      );
    } catch (e) {
      // A new instance that never became usable goes, with its security group, parameter and claim.
      if (!(e instanceof MachineGone) && !placed.existing) {
        await m.terminate(placed.machine, { waitMs: timing.groupWaitMs ?? 60_000 }).catch(() => undefined);
        await m.deleteParameter(`pr-${number}`).catch(() => false);
      }
      throw e;
    }
    const address = placed.machine.publicAddress ?? placed.machine.address ?? '';
    const scope: Scope = {
      client: new KubeClient(connection, { logger, ...(ctx.kubeRetry ? { retry: ctx.kubeRetry } : {}) }),
      repository: ctx.repository,
      prefix: opts.namespacePrefix,
      label: opts.label,
      logger,
      ...(ctx.now ? { now: ctx.now } : {}),
    };
    // Inside the instance's own cluster: one environment, no spares there (the pool is of machines).
    const onMachine: FeatureEnvOptions = {
      ...opts,
      warmPool: 0,
      domain: opts.domain || (address ? `${address}.nip.io` : ''),
      links: [
        ...(address
          ? ([
              ['Kubernetes dashboard', `http://${address}:30090/`],
              ['Logs', `http://${address}:9999/`],
            ] as Array<[string, string]>)
          : []),
        ...opts.links,
      ],
      fences: { ...opts.fences, maxEnvironments: 0 },
    };
    const r = await upChecked(onMachine, { ...ctx, connection }, scope, db, {
      number,
      sha,
      prUrl,
      prepared,
      tls: undefined,
      oidcClient: undefined,
      progress,
      t0,
    });
    r.instanceId = placed.machine.id;
    if (opts.warmPool > 0)
      await refillMachines(m, opts, ctx).catch((e: unknown) =>
        logger.warning(`could not refill the warm pool of instances: ${errorMessage(e)}`),
      );
    return r;
  } catch (e) {
    await progress.fail(withReport(e));
    throw e;
  }
}

/**
 * The pull request's instance, exclusively: its own (an update), else one claimed from the warm
 * pool (one with its kubeconfig published), else a new one. `pr-<n>` (created without overwrite) is
 * held while it is chosen: ten concurrent runs for one pull request launch one instance.
 */
async function place(
  m: Machines,
  ctx: FeatureEnvContext,
  number: number,
  o: { images: string[]; ecr?: string; expiresAt: string; maxEnvironments: number },
): Promise<{ machine: Machine; existing: boolean; fromPool: boolean }> {
  const { logger } = ctx;
  const now = ctx.now ?? Date.now;
  const own = async () => (await m.list({ number })).sort(byLaunch)[0];
  const mine = await own();
  if (mine) {
    logger.info(`#${number} has instance ${mine.id} already: update`);
    await m.retag(mine, { number, expiresAt: o.expiresAt });
    return { machine: mine, existing: true, fromPool: false };
  }
  const pending = `pending ${randomBytes(4).toString('hex')} ${iso(now())}`;
  if (!(await m.putNew(`pr-${number}`, pending))) {
    const claim = await m.readParameter(`pr-${number}`);
    if (claim && !claim.value.startsWith('i-') && now() - claim.modifiedAt < PENDING_MS) {
      // Another run is choosing #n's instance right now: it is that run's to make; use it once tagged.
      for (let i = 0; i < 12; i++) {
        await m.sleep(5000);
        const made = await own();
        if (made) return { machine: made, existing: true, fromPool: false };
      }
      throw new C2CError(
        `Another run has been making the environment of #${number} since ${iso(claim.modifiedAt)} (SSM parameter ${m.root}/pr-${number}), and no instance came: nothing was done. Run again in a minute.`,
      );
    }
    // A claim without a live instance (its run died, the instance was terminated by hand): taken over.
    logger.info(`#${number}: the claim ${claim?.value ?? ''} names no live instance: taken over`);
    await m.put(`pr-${number}`, pending);
  }
  const stillOurs = async () => (await m.readParameter(`pr-${number}`))?.value === pending;
  try {
    if (o.maxEnvironments > 0) {
      const active = (await m.list()).filter((x) => x.number && x.number !== number).sort(byLaunch);
      if (active.length >= o.maxEnvironments)
        throw new C2CError(
          `max-environments is ${o.maxEnvironments}, and the set has ${active.length} environments (the oldest: ${active
            .slice(0, 3)
            .map((x) => `#${x.number} ${x.id}`)
            .join(', ')}): no instance is launched for #${number}. Take one down, or raise max-environments.`,
        );
    }
    // A warm instance: running, its kubeconfig published. Claimed by one pull request only.
    for (const spare of (await m.list({ spares: true }))
      .filter((x) => x.state === 'running')
      .sort(byLaunch)) {
      if (!(await m.kubeconfig(spare))) continue;
      if (!(await m.putNew(`claim-${spare.id}`, String(number)))) continue;
      await m.retag(spare, { number, expiresAt: o.expiresAt });
      if (spare.slot !== undefined) await m.deleteParameter(`slot-${spare.slot}`);
      await m.put(`pr-${number}`, spare.id);
      logger.info(`#${number} takes the warm instance ${spare.id} (launched ${spare.launchedAt ?? '?'})`);
      return { machine: { ...spare, number, spare: false }, existing: false, fromPool: true };
    }
    const machine = await m.launch({
      number,
      expiresAt: o.expiresAt,
      images: o.images,
      ...(o.ecr ? { ecr: o.ecr } : {}),
    });
    // A down that ran while it launched released the claim: what this run launched is nobody's.
    if (!(await stillOurs())) {
      await m.terminate(machine, { waitMs: 0 }).catch(() => undefined);
      throw new C2CError(
        `The environment of #${number} was taken down while its instance was launched: ${machine.id} was terminated again. Run again if it is still wanted.`,
      );
    }
    await m.put(`pr-${number}`, machine.id);
    return { machine, existing: false, fromPool: false };
  } catch (e) {
    if (await stillOurs().catch(() => false)) await m.deleteParameter(`pr-${number}`).catch(() => false);
    throw e;
  }
}

const byLaunch = (a: Machine, b: Machine) => (a.launchedAt ?? '').localeCompare(b.launchedAt ?? '');

/**
 * Waits until the instance published its kubeconfig and its API server answers with it; stops when
 * the instance is terminated meanwhile (a down), or after timeoutMs.
 */
async function awaitCluster(
  m: Machines,
  ctx: FeatureEnvContext,
  machine: Machine,
  o: { timeoutMs: number; pollMs: number },
): Promise<KubeConnection> {
  const { logger } = ctx;
  const now = ctx.now ?? Date.now;
  const started = now();
  let last = '';
  for (;;) {
    const d = await m.describe(machine.id);
    if (!d || !alive(d))
      throw new MachineGone(
        `The instance ${machine.id} of #${machine.number ?? '?'} was terminated while it was starting (the environment was taken down): nothing was deployed.`,
      );
    const text = await m.kubeconfig(machine);
    if (text) {
      try {
        const connection = await loadKubeconfig(
          { content: text, input: `SSM parameter ${machine.parameter}` },
          logger,
        );
        const v = await new KubeClient(connection, {
          logger,
          retry: { attempts: 1 },
          timeoutMs: 10_000,
        }).version();
        logger.info(
          `${machine.id}: API server ${connection.server} answers (Kubernetes ${v.gitVersion ?? '?'}) after ${formatDuration(now() - started)}`,
        );
        return connection;
      } catch (e) {
        last = errorMessage(e);
      }
    }
    if (now() - started >= o.timeoutMs)
      throw new C2CError(
        `The instance ${machine.id} did not become ready within vm-ready-timeout (${shortDuration(o.timeoutMs / 1000)}): ${
          text
            ? `its API server did not answer (${last})`
            : `it never published its kubeconfig at SSM parameter ${machine.parameter}`
        }. It was terminated, with its security group and parameter. Its console output says why: aws ec2 get-console-output --instance-id ${machine.id} --latest`,
      );
    await m.sleep(o.pollMs);
  }
}

/**
 * down with `isolation: ec2`: the pull request's instances terminated, their security groups and
 * parameters removed, the claim released, the database released, GitHub told. Safe to run again.
 */
export async function teardownMachine(
  m: Machines,
  ctx: FeatureEnvContext,
  db: DatabaseProvider | undefined,
  o: { number: number; reason: string; groupWaitMs?: number },
): Promise<{ instances: string[] }> {
  const { logger } = ctx;
  const found = await m.list({ number: o.number });
  const claim = await m.readParameter(`pr-${o.number}`);
  if (claim?.value.startsWith('i-') && !found.some((x) => x.id === claim.value)) {
    const d = await m.describe(claim.value);
    // Only an instance of this set (its kubeconfig parameter under the set's path) is terminated.
    if (d && alive(d) && d.parameter.startsWith(`${m.root}/`)) found.push(d);
  }
  for (const x of found) {
    logger.info(`terminating ${x.id} (${o.reason})`);
    const { groupsLeft } = await m.terminate(x, { waitMs: o.groupWaitMs ?? 120_000 });
    if (groupsLeft.length) logger.info(`security group(s) ${groupsLeft.join(', ')} go at the next reap`);
  }
  await m.deleteParameter(`pr-${o.number}`);
  if (db && (await db.release({ number: o.number }, logger)))
    logger.info(`database of #${o.number} released`);
  const ids = found.map((x) => x.id);
  await recordRemoval(
    ctx,
    o.number,
    ids.length
      ? {
          what: `Instance ${ids.map(codeSpan).join(', ')}`,
          reason: o.reason,
          stillTerminating: false,
        }
      : undefined,
  );
  return { instances: ids };
}

/**
 * The warm pool of instances: `warm-pool` of them launched from the newest image and left to become
 * ready (the n+1 of the original design, applied to machines). Each sits in a slot (`slot-<i>`,
 * created without overwrite), so concurrent refills never launch more; spares in slots past the
 * size go.
 */
export async function refillMachines(
  m: Machines,
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
): Promise<{ launched: string[]; removed: string[] }> {
  const now = ctx.now ?? Date.now;
  const spares = await m.list({ spares: true });
  const launched: string[] = [];
  const removed: string[] = [];
  for (let i = 0; i < opts.warmPool; i++) {
    if (spares.some((x) => x.slot === i)) continue;
    const slot = await m.readParameter(`slot-${i}`);
    if (slot) {
      if (slot.value.startsWith('i-')) {
        const d = await m.describe(slot.value);
        if (d && alive(d) && d.spare) continue;
      } else if (now() - slot.modifiedAt < PENDING_MS) continue;
      await m.deleteParameter(`slot-${i}`);
    }
    if (!(await m.putNew(`slot-${i}`, `pending ${iso(now())}`))) continue;
    try {
      const spare = await m.launch({ slot: i, images: [] });
      await m.put(`slot-${i}`, spare.id);
      launched.push(spare.id);
    } catch (e) {
      await m.deleteParameter(`slot-${i}`).catch(() => false);
      throw e;
    }
  }
  for (const extra of spares.filter((x) => x.slot === undefined || x.slot >= opts.warmPool)) {
    await m.terminate(extra, { waitMs: 0 });
    removed.push(extra.id);
  }
  if (launched.length) ctx.logger.info(`warm pool: launched ${launched.join(', ')}`);
  return { launched, removed };
}

/**
 * reap with `isolation: ec2`: the set's instances whose pull request is closed or unlabelled, whose
 * expiry passed, without a pull request, or spares that never became ready, terminated; then what
 * no live instance uses any more (security groups, claims, slots, kubeconfig parameters) removed;
 * then the warm pool refilled. Never an instance without the set's tags.
 */
export async function reapMachines(
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
  m: Machines,
  db: DatabaseProvider | undefined,
  timing: MachineTiming = {},
): Promise<FeatureEnvResult> {
  const { logger } = ctx;
  const now = (ctx.now ?? Date.now)();
  const removed: NonNullable<FeatureEnvResult['removed']> = [];
  const kept: NonNullable<FeatureEnvResult['kept']> = [];
  const open = ctx.github
    ? new Map((await ctx.github.listOpenPullRequests()).map((p) => [p.number, p]))
    : undefined;
  if (!open)
    logger.warning('no GitHub token: pull requests are not looked up, only expired environments are removed');
  const all = await m.list();
  await logger.group(`Reap (${all.length} instance(s))`, async () => {
    for (const x of all) {
      let why: string | undefined;
      if (x.spare) {
        const age = now - Date.parse(x.launchedAt ?? '');
        if (age > m.opts.readyTimeoutMs && !(await m.kubeconfig(x)))
          why = 'a warm instance that never became ready';
        else {
          kept.push({ namespace: x.id, why: 'warm instance of the pool' });
          continue;
        }
      } else if (!x.number) why = 'an orphan: no pull request';
      else if (x.expiresAt && Date.parse(x.expiresAt) <= now) why = `expired at ${x.expiresAt}`;
      else if (open && !open.has(x.number)) why = `pull request #${x.number} is closed`;
      else if (open && !open.get(x.number)!.labels.includes(opts.label))
        why = `an orphan: pull request #${x.number} is no longer labeled '${opts.label}'`;
      if (!why) {
        kept.push({ namespace: x.id, number: x.number!, why: `open until ${x.expiresAt ?? '?'}` });
        continue;
      }
      try {
        if (x.number)
          await teardownMachine(m, ctx, db, {
            number: x.number,
            reason: why,
            groupWaitMs: timing.groupWaitMs ?? 0,
          });
        else await m.terminate(x, { waitMs: 0 });
        removed.push({ namespace: x.id, ...(x.number ? { number: x.number } : {}), why });
        logger.info(`removed ${x.id}${x.number ? ` (#${x.number})` : ''}: ${why}`);
      } catch (e) {
        logger.warning(`could not remove ${x.id}: ${errorMessage(e)}`);
      }
    }
    await sweep(
      m,
      ctx,
      all.filter((x) => !removed.some((r) => r.namespace === x.id)),
    );
  });
  if (opts.warmPool > 0)
    await refillMachines(m, opts, ctx).catch((e: unknown) =>
      logger.warning(`could not refill the warm pool of instances: ${errorMessage(e)}`),
    );
  const r: FeatureEnvResult = {
    ...emptyResult('reaped', `${removed.length} removed, ${kept.length} kept`),
    removed,
    kept,
  };
  r.summary = renderFeatureEnvSummary(r);
  return r;
}

/**
 * What no live instance of the set uses any more: security groups (older than PENDING_MS: a young
 * one may be a launch in flight), and parameters (claims, slots, kubeconfigs) that name none.
 */
async function sweep(m: Machines, ctx: FeatureEnvContext, live: Machine[]): Promise<void> {
  const now = (ctx.now ?? Date.now)();
  const ids = new Set(live.map((x) => x.id));
  const inUse = new Set(live.flatMap((x) => x.securityGroups));
  for (const g of await m.groups({ olderThanMs: PENDING_MS }))
    if (!inUse.has(g) && (await m.deleteGroup(g, { waitMs: 0 })))
      ctx.logger.info(`removed security group ${g}: no instance uses it`);
  const parameters = new Set(live.map((x) => x.parameter));
  for (const p of await m.parameters()) {
    // Young ones may be a run's in flight (an instance launched after the list above): kept.
    if (now - p.modifiedAt < PENDING_MS) continue;
    const stale = p.name.startsWith('kubeconfig/')
      ? !parameters.has(`${m.root}/${p.name}`)
      : p.name.startsWith('claim-')
        ? !ids.has(p.name.slice('claim-'.length))
        : !p.value.startsWith('i-') || !ids.has(p.value);
    if (stale && (await m.deleteParameter(p.name)))
      ctx.logger.info(`removed parameter ${m.root}/${p.name}: nothing uses it`);
  }
}
