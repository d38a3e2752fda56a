import { beforeEach, describe, expect, it } from 'vitest';
import { deploymentManifest, ingressManifest, serviceManifest } from '../fixtures/workloads.js';
import { runFe, useFeatureEnvStage, type PrEvent } from '../helpers/feature-env.js';
import { havePostgres, startPostgres, type PostgresServer } from '../helpers/postgres.js';

/**
 * Issue 16 item 1: the sticky comment tells the state while up runs. It says "being deployed" (made
 * then) with each service's state before the GitHub Deployment's success, is edited as services
 * become ready at most once per interval, and ends ready (URLs, commit, updated time, how long) or
 * failed (which service and why). Its history is read from what the GitHub fake was sent.
 */
describe('feature environments: the live PR comment (Kubernetes fake, GitHub fake)', () => {
  const INTERVAL = 400;
  const stage = useFeatureEnvStage({
    from: 1200,
    pad: 'c',
    kube: { readyDelayMs: 1_500 },
    objects: [
      deploymentManifest('api', 'registry.example:5000/shop/api:main'),
      deploymentManifest('web', 'registry.example:5000/shop/web:main'),
      serviceManifest('web'),
      ingressManifest('web'),
    ],
  });
  const pr = () => stage.pr();
  beforeEach(() => stage.kube.healImage('registry.example:5000/shop/web:broken'));

  const inputs = {
    manifests: 'k8s/',
    'pin-digests': 'false',
    timeout: '30s',
    domain: 'preview.example.com',
  };
  const run = (ev: PrEvent, raw: Record<string, string> = {}) =>
    runFe(
      stage.gh,
      ev,
      { ...inputs, kubeconfig: stage.kube.kubeconfig, ...raw },
      {
        workspace: stage.ws,
        commentIntervalMs: INTERVAL,
      },
    );

  /** Every body the comment of #number had, in order, with when it was written. */
  function history(number: number, since: number) {
    const ids = new Set(stage.gh.comments.filter((c) => c.issue === number).map((c) => String(c.id)));
    return stage.gh.requests
      .slice(since)
      .filter(
        (r) =>
          r.status < 300 &&
          ((r.method === 'POST' && r.path.endsWith(`/issues/${number}/comments`)) ||
            (r.method === 'PATCH' && ids.has(r.path.split('/').pop()!))),
      )
      .map((r) => ({
        body: String((r.body as { body: string }).body),
        at: r.at,
        index: stage.gh.requests.indexOf(r),
      }));
  }

  it('says it is being deployed, with each service, before the success status; edited as they become ready, throttled; ends ready', async () => {
    const p = pr();
    const since = stage.gh.requests.length;
    const { r, logger } = await run(p.ev);
    expect(r.status, logger.text()).toBe('up');
    const bodies = history(p.number, since);
    expect(stage.gh.comments.filter((c) => c.issue === p.number)).toHaveLength(1);
    // The first: made at the start, every service waiting.
    expect(bodies[0]!.body).toContain(`Feature environment for #${p.number} is being deployed`);
    expect(bodies[0]!.body).toMatch(/\| api \| ⏳ waiting \|/);
    expect(bodies[0]!.body).toMatch(/\| web \| ⏳ waiting \|/);
    // While the rollouts ran: rolling out, in the namespace.
    const rolling = bodies.find((b) => /\| (api|web) \| 🔄 rolling out/.test(b.body));
    expect(rolling, bodies.map((b) => b.body).join('\n\n')).toBeDefined();
    expect(rolling!.body).toContain(`in namespace \`${r.namespace}\``);
    // The deploying state came before the Deployment's success status.
    const success = stage.gh.requests.findIndex(
      (q, i) =>
        i >= since &&
        q.method === 'POST' &&
        /\/deployments\/\d+\/statuses$/.test(q.path) &&
        (q.body as { state?: string }).state === 'success',
    );
    expect(success).toBeGreaterThan(0);
    expect(rolling!.index).toBeLessThan(success);
    // Throttled: between two edits before the last, at least the interval.
    for (let i = 1; i < bodies.length - 1; i++)
      expect(bodies[i]!.at - bodies[i - 1]!.at).toBeGreaterThanOrEqual(INTERVAL);
    // The last: ready, URLs, commit, when, how long.
    const last = bodies.at(-1)!.body;
    expect(last).toContain(`Feature environment for #${p.number} is ready`);
    expect(last).toContain(`http://web-pr-${p.number}.preview.example.com`);
    expect(last).toContain(
      `\`${'c'.repeat(40 - String(p.number).length).slice(0, 12 - String(p.number).length)}`,
    );
    expect(last).toMatch(/ready in [\d.]+ ?m?s; updated \w{3} \d{1,2} \w{3} \d\d:\d\d UTC\./);
    expect(last).not.toContain('being deployed');
  });

  it('a rollout that fails: the comment names the service and why, the others stay ready', async () => {
    const p = pr();
    stage.kube.failImage('registry.example:5000/shop/web:broken', 'CreateContainerConfigError');
    const since = stage.gh.requests.length;
    const { r, logger } = await run(p.ev, { images: 'registry.example:5000/shop/web:broken' });
    expect(r.failure, logger.text()).toBeDefined();
    const bodies = history(p.number, since);
    expect(bodies[0]!.body).toContain('is being deployed');
    const last = bodies.at(-1)!.body;
    expect(last).toContain(`Feature environment for #${p.number}: the deploy failed (web)`);
    expect(last).toMatch(/\| web \| ❌ failed: [^|]*CreateContainerConfigError/);
    expect(last).toMatch(/\| api \| ✅ (ready|unchanged, running) \|/);
    expect(last).toContain(r.failure!.split('\n')[0]!);
  });

  it('an up that stops with an error after the comment was made: the comment says so, not "being deployed"', async () => {
    const p = pr();
    stage.kube.faults.add({
      kind: 'status',
      status: 400,
      method: 'PATCH',
      pathIncludes: '/deployments/web',
      dryRun: false,
      reason: 'BadRequest',
      message: 'admission webhook "policy.example.com" denied the request',
    });
    const since = stage.gh.requests.length;
    await expect(run(p.ev)).rejects.toThrow(/denied the request/);
    stage.kube.faults.clear();
    const bodies = history(p.number, since);
    expect(bodies[0]!.body).toContain('is being deployed');
    const last = bodies.at(-1)!.body;
    expect(last).toContain(`Feature environment for #${p.number}: the deploy failed`);
    expect(last).toContain('denied the request');
  });

  it.skipIf(!havePostgres())(
    "from a warm spare with a cloned database: the comment says how old the data is (the spare's baseline, the template's age)",
    async () => {
      let server: PostgresServer | undefined;
      try {
        server = await startPostgres();
        const admin = await server.connect();
        await admin.query('CREATE DATABASE shop_fixture');
        await admin.end();
        const db = { database: 'postgres-template', 'db-url': server.url(), 'db-template': 'shop_fixture' };
        // The scheduled run (GITHUB_SHA of the default branch: f…) makes the spare.
        const refill = await runFe(
          stage.gh,
          { name: 'schedule' },
          { ...inputs, kubeconfig: stage.kube.kubeconfig, 'warm-pool': '1', ...db },
          { workspace: stage.ws },
        );
        expect(refill.r.status, refill.logger.text()).toBe('reaped');
        const p = pr();
        const since = stage.gh.requests.length;
        const { r, logger } = await run(p.ev, { 'warm-pool': '1', ...db });
        expect(r.status, logger.text()).toBe('up');
        const last = history(p.number, since).at(-1)!.body;
        expect(last).toContain('(from the warm pool)');
        expect(last).toMatch(
          /The services not under test came with the warm spare, from commit `f{12}` \(made (\d+ minutes? ago|in 1 minute), \w{3} \d{1,2} \w{3} \d\d:\d\d UTC\)\./,
        );
        expect(last).toMatch(
          /The database's data is from the template `shop_fixture`, made \d+ minutes? ago, [^;]+; this copy was made/,
        );
      } finally {
        await server?.stop();
      }
    },
    60_000,
  );
});
