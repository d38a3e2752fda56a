import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpAgents } from '../../src/core/http.js';
import { POSTGRES_INSTALL, havePostgres, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { soak, soakSeed } from '../helpers/soak.js';
import { CLUSTER_SETUP_TIMEOUT_MS, haveCluster, sharedCluster } from '../helpers/shared-cluster.js';
import type { Cluster } from '../helpers/cluster.js';

/**
 * A shorter run of the soak of issue 12 (test/helpers/soak.ts) on the genuine control plane, where
 * namespaces really finalise: 2 repositories × 2 workflows × 6 pull requests, 30 random steps
 * (SOAK_CLUSTER_STEPS), 4 in flight, seeded (SOAK_SEED repeats a run).
 */
describe.skipIf(!haveCluster())('feature environments: the soak on the genuine control plane', () => {
  let cluster: Cluster;
  let server: PostgresServer;
  beforeAll(async () => {
    if (!havePostgres()) throw new Error(`this test needs PostgreSQL: ${POSTGRES_INSTALL}`);
    [cluster, server] = await Promise.all([sharedCluster(), startPostgres()]);
  }, CLUSTER_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await server?.stop();
    closeHttpAgents();
  });

  it('no two environments share a namespace, database or host; nothing outside a set is touched; exactly the pools are left', async () => {
    const seed = soakSeed();
    const steps = Number(process.env.SOAK_CLUSTER_STEPS) || 30;
    console.log(`cluster soak seed ${seed} (SOAK_SEED=${seed} repeats this run)`);
    const report = await soak({
      kubeconfig: cluster.kubeconfig,
      postgres: server,
      steps,
      inFlight: 4,
      seed,
      log: (l) => console.log(l),
    });
    console.log(`cluster soak seed ${seed}: ${JSON.stringify(report.outcomes)}`);
    if (report.failures.length)
      console.log(`cluster soak seed ${seed}: failed steps:\n${report.failures.join('\n')}`);
    if (report.detail.length) console.log(report.detail.join('\n'));
    expect(report.breaches, `seed ${seed}`).toEqual([]);
    expect(report.steps).toBe(steps);
    expect(Object.values(report.end.spares), `seed ${seed}`).toEqual([1, 1, 1, 1]);
    expect(report.end.databases, `seed ${seed}`).toEqual([]);
    expect(report.end.foreignIntact).toBe(true);
  }, 900_000);
});
