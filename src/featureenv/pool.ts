import { errorMessage } from '../core/index.js';
import {
  PENDING_MS,
  claimedNamespaces,
  clock,
  environments,
  spareName,
  updateIndex,
  type Scope,
} from './claims.js';
import type { FeatureEnvContext } from './context.js';
import {
  deployInto,
  prepareEnvironment,
  readTlsSecret,
  writeNamespace,
  writeSharedSecret,
} from './environment.js';
import { applyFences } from './fences.js';
import type { FeatureEnvOptions } from './inputs.js';
import { A_BASELINE, A_CREATED, type Environment } from './state.js';

/**
 * The warm pool: `warm-pool` spare environments, each a namespace with the baseline stack deployed
 * and ready, no pull request attached. A spare is `warming` while it is deployed and `spare` once
 * ready; only ready spares are claimed. The pool's slots live in the set's index: a refill first
 * reserves the missing slots there (a compare-and-swap), then makes only the spares it reserved, so
 * concurrent refills never make more than `warm-pool` spares between them. A spare that fails to
 * deploy is deleted again and its slot freed.
 */
/** A spare still `warming` after this long was left by a run that died: its slot is freed, reap deletes it. */
export const STALE_WARMING_MS = 30 * 60_000;

export async function refillPool(
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
  s: Scope,
): Promise<{ created: string[]; failed: string[] }> {
  const out = { created: [] as string[], failed: [] as string[] };
  if (!opts.deploy || opts.warmPool === 0) return out;
  const reserved = await reserveSlots(s, opts.warmPool);
  if (!reserved.names.length) return out;
  const tls = opts.tlsSecret ? await readTlsSecret(s, opts.tlsSecret) : undefined;
  await ctx.logger.group(
    `Refill the warm pool (${reserved.kept} of ${opts.warmPool} there, ${reserved.names.length} to make)`,
    async () => {
      for (const name of reserved.names) {
        try {
          const annotations = {
            [A_CREATED]: new Date((ctx.now ?? Date.now)()).toISOString(),
            ...(ctx.gh.sha ? { [A_BASELINE]: ctx.gh.sha } : {}),
          };
          await writeNamespace(s, name, 'warming', { annotations, create: true });
          await applyFences(s, name, opts.fences);
          if (tls) await writeSharedSecret(s, name, tls);
          const env = await prepareEnvironment(opts, ctx, name, {
            number: name,
            underTest: false,
            spare: true,
          });
          const result = await deployInto(ctx, env);
          if (result.failure) throw new Error(result.failure);
          await writeNamespace(s, name, 'spare', { annotations });
          out.created.push(name);
          ctx.logger.info(`spare ${name} is ready`);
        } catch (e) {
          out.failed.push(name);
          ctx.logger.warning(`the spare ${name} could not be made ready, deleted again: ${errorMessage(e)}`);
          await s.client.delete({ apiVersion: 'v1', kind: 'Namespace', name }).catch(() => false);
          await freeSlots(s, [name]).catch(() => undefined);
        }
      }
    },
  );
  return out;
}

/**
 * Reserves the pool's missing slots in the index: slots whose namespace is gone (a run that died
 * before making it, after PENDING_MS) or terminating are dropped first. Returns the new names.
 */
async function reserveSlots(s: Scope, size: number): Promise<{ names: string[]; kept: number }> {
  let names: string[] = [];
  let kept = 0;
  await updateIndex(s, async (index) => {
    names = [];
    const now = clock(s);
    const live = new Map((await environments(s)).map((e) => [e.namespace, e]));
    let dropped = 0;
    for (const [name, slot] of Object.entries(index.pool)) {
      const e = live.get(name);
      const stale = e
        ? e.terminating ||
          e.state === 'active' ||
          (e.state === 'warming' && now - Date.parse(e.createdAt ?? '') >= STALE_WARMING_MS)
        : now - slot.at >= PENDING_MS;
      if (stale) {
        delete index.pool[name];
        dropped++;
      }
    }
    kept = Object.keys(index.pool).length;
    for (let i = kept; i < size; i++) {
      const name = spareName(s);
      index.pool[name] = { at: now };
      names.push(name);
    }
    return names.length || dropped ? index : undefined;
  });
  return { names, kept };
}

/** Frees pool slots (a spare that failed, or one trimmed). */
async function freeSlots(s: Scope, names: string[]): Promise<void> {
  await updateIndex(s, (index) => {
    if (!names.some((n) => n in index.pool)) return undefined;
    for (const n of names) delete index.pool[n];
    return index;
  });
}

/**
 * For reap: the pool back to exactly `size` slots: extras removed, oldest first, and spares the index
 * does not know (left by a run that died, older than PENDING_MS, and claimed by no pull request)
 * deleted. Returns what was removed, and why.
 */
export async function trimPool(
  s: Scope,
  size: number,
  envs: Environment[],
): Promise<Array<{ namespace: string; why: string }>> {
  const removed: Array<{ namespace: string; why: string }> = [];
  let extras: string[] = [];
  const index = await updateIndex(
    s,
    (index) => {
      const slots = Object.entries(index.pool).sort(([a, x], [b, y]) => x.at - y.at || a.localeCompare(b));
      extras = slots.slice(0, Math.max(0, slots.length - size)).map(([n]) => n);
      if (!extras.length) return undefined;
      for (const n of extras) delete index.pool[n];
      return index;
    },
    { create: false },
  );
  for (const n of extras) removed.push({ namespace: n, why: `beyond the warm pool of ${size}` });
  const now = clock(s);
  const claimed = claimedNamespaces(index);
  for (const e of envs) {
    if ((e.state !== 'spare' && e.state !== 'warming') || e.terminating) continue;
    if (e.namespace in index.pool || claimed.has(e.namespace) || extras.includes(e.namespace)) continue;
    const age = now - Date.parse(e.createdAt ?? '');
    if (!(age >= PENDING_MS)) continue;
    removed.push({
      namespace: e.namespace,
      why: 'a spare the warm pool does not hold (left by a run that died)',
    });
  }
  for (const r of removed)
    await s.client.delete({ apiVersion: 'v1', kind: 'Namespace', name: r.namespace }).catch((e: unknown) => {
      s.logger.warning(`could not remove ${r.namespace}: ${errorMessage(e)}`);
    });
  return removed;
}
