import { KubeClient, connect } from '../kube/index.js';
import type { FeatureEnvContext } from './context.js';
import type { FeatureEnvOptions } from './inputs.js';
import { A_PR_URL, environmentOf, repositorySelector, type EnvState } from './state.js';

/** One environment as `c2c feature-env list` shows it. */
export interface ListedEnvironment {
  namespace: string;
  /** active: a pull request's; spare: ready in the warm pool; warming: a spare being deployed. */
  state: Exclude<EnvState, 'control'>;
  number?: number;
  pullRequestUrl?: string;
  /** The head commit it runs. */
  sha?: string;
  createdAt?: string;
  /** Seconds since it was made (its namespace's creation when it says nothing). */
  ageSeconds?: number;
  expiresAt?: string;
  /** Its TTL has passed: the next reap removes it. */
  expired: boolean;
  url?: string;
  database?: string;
  /** Being deleted. */
  terminating: boolean;
  /** Asleep (sleep-after) since then: its workloads at 0. */
  asleepSince?: string;
  /** Kept (`/feature-env keep`): no expiry, no sleep. */
  keep: boolean;
  /** isolation: ec2: its instance (then `namespace` is the instance too), and the instance's state. */
  instanceId?: string;
  instanceState?: string;
}

const ORDER: Record<ListedEnvironment['state'], number> = { active: 0, warming: 1, spare: 2 };

/**
 * The feature environments of a repository, from the labels and annotations of their namespaces (the
 * only state there is): pull request, commit, age, expiry, URL, database. Reads only. Pull requests'
 * environments first by number, then the warm pool's spares, oldest first.
 */
export async function listEnvironments(
  opts: Pick<FeatureEnvOptions, 'cluster'> & { machinesIn?: string },
  ctx: Pick<FeatureEnvContext, 'logger' | 'repository' | 'connection' | 'now' | 'kubeRetry' | 'machines'>,
): Promise<ListedEnvironment[]> {
  const { logger } = ctx;
  const now = (ctx.now ?? Date.now)();
  if (opts.machinesIn) return sorted(await listMachines(opts.machinesIn, ctx, now));
  const client = new KubeClient(ctx.connection ?? (await connect(opts.cluster, { logger })), {
    logger,
    ...(ctx.kubeRetry ? { retry: ctx.kubeRetry } : {}),
  });
  const list = await client.list('v1', 'Namespace', { labelSelector: repositorySelector(ctx.repository) });
  const out: ListedEnvironment[] = [];
  for (const ns of list.items) {
    const e = environmentOf(ns);
    if (e.state === 'control') continue;
    const createdAt =
      e.createdAt ?? (ns.metadata as { creationTimestamp?: string }).creationTimestamp ?? undefined;
    const created = createdAt ? Date.parse(createdAt) : NaN;
    const expires = e.expiresAt ? Date.parse(e.expiresAt) : NaN;
    const prUrl = ns.metadata.annotations?.[A_PR_URL];
    out.push({
      namespace: e.namespace,
      state: e.state,
      ...(e.number ? { number: e.number } : {}),
      ...(prUrl ? { pullRequestUrl: prUrl } : {}),
      ...(e.sha ? { sha: e.sha } : {}),
      ...(createdAt ? { createdAt } : {}),
      ...(Number.isFinite(created) ? { ageSeconds: Math.max(0, Math.round((now - created) / 1000)) } : {}),
      ...(e.expiresAt ? { expiresAt: e.expiresAt } : {}),
      expired: !e.keep && Number.isFinite(expires) && expires <= now,
      ...(e.url ? { url: e.url } : {}),
      ...(e.database ? { database: e.database } : {}),
      terminating: e.terminating,
      ...(e.asleepSince ? { asleepSince: e.asleepSince } : {}),
      keep: e.keep,
    });
  }
  return sorted(out);
}

function sorted(out: ListedEnvironment[]): ListedEnvironment[] {
  return out.sort(
    (a, b) =>
      ORDER[a.state] - ORDER[b.state] ||
      (a.number ?? 0) - (b.number ?? 0) ||
      (a.createdAt ?? '').localeCompare(b.createdAt ?? '') ||
      a.namespace.localeCompare(b.namespace),
  );
}

/** isolation: ec2: the repository's instances (every set of it), from their tags. Reads only. */
async function listMachines(
  region: string,
  ctx: Pick<FeatureEnvContext, 'logger' | 'repository' | 'machines'>,
  now: number,
): Promise<ListedEnvironment[]> {
  const { Machines } = await import('./machine/index.js');
  const m = new Machines(
    {
      amiName: '',
      amiOwner: 'self',
      instanceType: '',
      subnetId: '',
      allowCidrs: [],
      readyTimeoutMs: 0,
      region,
    },
    { repository: ctx.repository, prefix: '', label: '' },
    ctx.logger,
    ctx.machines,
  );
  try {
    return (await m.list({ wholeRepository: true })).map((x) => {
      const expires = x.expiresAt ? Date.parse(x.expiresAt) : NaN;
      const launched = x.launchedAt ? Date.parse(x.launchedAt) : NaN;
      const address = x.publicAddress ?? x.address;
      return {
        namespace: x.id,
        instanceId: x.id,
        instanceState: x.state,
        state: x.spare ? 'spare' : 'active',
        ...(x.number ? { number: x.number } : {}),
        ...(x.launchedAt ? { createdAt: x.launchedAt } : {}),
        ...(Number.isFinite(launched)
          ? { ageSeconds: Math.max(0, Math.round((now - launched) / 1000)) }
          : {}),
        ...(x.expiresAt ? { expiresAt: x.expiresAt } : {}),
        expired: Number.isFinite(expires) && expires <= now,
        ...(address ? { url: `http://${address}:30090/` } : {}),
        terminating: x.state === 'stopping',
        keep: false,
      } satisfies ListedEnvironment;
    });
  } finally {
    m.close();
  }
}
