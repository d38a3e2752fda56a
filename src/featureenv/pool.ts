import { errorMessage } from '../core/errors.js';
import { environments, readClaims, spareName, type Scope } from './claims.js';
import type { FeatureEnvContext } from './context.js';
import { deployInto, writeNamespace } from './environment.js';
import { applyFences } from './fences.js';
import type { FeatureEnvOptions } from './inputs.js';
import { A_CREATED } from './state.js';

/**
 * The warm pool: `warm-pool` spare environments, each a namespace with the baseline stack deployed
 * and ready, no pull request attached. A spare is `warming` while it is deployed and `spare` once
 * ready; only ready spares are claimed. A spare that fails to deploy is deleted again.
 */
export async function refillPool(
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
  s: Scope,
): Promise<{ created: string[]; failed: string[] }> {
  const out = { created: [] as string[], failed: [] as string[] };
  if (!opts.deploy || opts.warmPool === 0) return out;
  const taken = new Set(Object.values(await readClaims(s)));
  const spares = (await environments(s)).filter(
    (e) => (e.state === 'spare' || e.state === 'warming') && !e.terminating && !taken.has(e.namespace),
  );
  const missing = opts.warmPool - spares.length;
  if (missing <= 0) return out;
  await ctx.logger.group(`Refill the warm pool (${spares.length} of ${opts.warmPool} ready)`, async () => {
    for (let i = 0; i < missing; i++) {
      const name = spareName(s);
      try {
        await writeNamespace(s, name, 'warming', {
          annotations: { [A_CREATED]: new Date((ctx.now ?? Date.now)()).toISOString() },
        });
        await applyFences(s, name, opts.fences);
        const { result } = await deployInto(opts, ctx, name, { number: name, underTest: false });
        if (result.failure) throw new Error(result.failure);
        await writeNamespace(s, name, 'spare');
        out.created.push(name);
        ctx.logger.info(`spare ${name} is ready`);
      } catch (e) {
        out.failed.push(name);
        ctx.logger.warning(`the spare ${name} could not be made ready, deleted again: ${errorMessage(e)}`);
        await s.client.delete({ apiVersion: 'v1', kind: 'Namespace', name }).catch(() => false);
      }
    }
  });
  return out;
}
