import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpAgents } from '../../src/core/http.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { POSTGRES_INSTALL, havePostgres, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { soak, soakSeed } from '../helpers/soak.js';

/**
 * The soak of issue 12 on the Kubernetes fake and a real PostgreSQL: 2 repositories × 2 workflows × 6
 * pull requests, 200 random steps (SOAK_STEPS), 4 in flight, seeded (SOAK_SEED repeats a run).
 */
describe('feature environments: a seeded soak on shared infrastructure (Kubernetes fake, PostgreSQL)', () => {
  let kube: KubeFake;
  let server: PostgresServer;
  beforeAll(async () => {
    if (!havePostgres()) throw new Error(`this test needs PostgreSQL: ${POSTGRES_INSTALL}`);
    [kube, server] = await Promise.all([startKubeFake({ readyDelayMs: 5, tickMs: 20 }), startPostgres()]);
  });
  afterAll(async () => {
    await Promise.all([kube?.stop(), server?.stop()]);
    closeHttpAgents();
  });

  it('after every step no two environments share a namespace, database or host, nothing outside a set is touched; at the end exactly the pools are left', async () => {
    const seed = soakSeed();
    console.log(`soak seed ${seed} (SOAK_SEED=${seed} repeats this run)`);
    const report = await soak({
      kubeconfig: kube.kubeconfig,
      postgres: server,
      steps: Number(process.env.SOAK_STEPS) || 200,
      inFlight: 4,
      seed,
      log: (l) => console.log(l),
    });
    console.log(`soak seed ${seed}: ${JSON.stringify(report.outcomes)}`);
    if (report.failures.length)
      console.log(`soak seed ${seed}: failed steps:\n${report.failures.join('\n')}`);
    if (report.detail.length) console.log(report.detail.join('\n'));
    expect(report.breaches, `seed ${seed}`).toEqual([]);
    expect(report.steps).toBe(Number(process.env.SOAK_STEPS) || 200);
    expect(Object.values(report.end.spares), `seed ${seed}`).toEqual([1, 1, 1, 1]);
    expect(report.end.databases, `seed ${seed}`).toEqual([]);
    expect(report.end.foreignIntact).toBe(true);
    // The steps really did things: environments came up and went, in every set.
    const steps = Number(process.env.SOAK_STEPS) || 200;
    expect(report.outcomes['up:up'] ?? 0).toBeGreaterThan(steps / 20);
    expect(report.outcomes['down:down'] ?? 0).toBeGreaterThan(steps / 20);
  }, 600_000);
});
