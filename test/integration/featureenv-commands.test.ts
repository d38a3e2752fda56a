import { mkdtemp, rm, cp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { A_TEMPLATE_CREDENTIAL_REV } from '../../src/featureenv/environment.js';
import { A_EXPIRES, A_KEEP, PR_LABEL } from '../../src/featureenv/state.js';
import { A_SLEEP_REPLICAS } from '../../src/featureenv/sleep.js';
import { deploymentManifest, ingressManifest, serviceManifest } from '../fixtures/workloads.js';
import { commentEvent, runFe, useFeatureEnvStage } from '../helpers/feature-env.js';
import { commitAll, git } from '../helpers/git.js';
import { connectWithSecret, havePostgres, startPostgres, type PostgresServer } from '../helpers/postgres.js';

/**
 * Issue 16 item 2: commands in the pull request (`/feature-env …` comments, issue_comment) on the
 * Kubernetes fake and the GitHub fake with the real GitHub client: a writer's command is
 * acknowledged (a reaction), done, and its result is the updated comment; a reader's, an unknown
 * one or one with a bad argument gets a reply naming what is wrong, and nothing changes anywhere.
 */
describe('feature environments: commands in the pull request (Kubernetes fake, GitHub fake)', () => {
  const stage = useFeatureEnvStage({
    from: 1400,
    objects: [
      deploymentManifest('web', 'registry.example:5000/shop/web:main'),
      serviceManifest('web'),
      ingressManifest('web'),
    ],
  });
  const DAY = 86_400_000;
  const inputs = () => ({
    manifests: 'k8s/',
    'pin-digests': 'false',
    timeout: '20s',
    domain: 'preview.example.com',
    kubeconfig: stage.kube.kubeconfig,
  });
  const envsOf = (number: number) =>
    stage.kube
      .list('v1', 'Namespace')
      .filter((ns) => ns.metadata.labels?.[PR_LABEL] === String(number) && !ns.metadata.deletionTimestamp);
  const say = (number: number, body: string, author = 'maintainer', raw = {}, extra = {}) =>
    runFe(
      stage.gh,
      commentEvent(stage.gh, number, body, author),
      { ...inputs(), ...raw },
      {
        workspace: stage.ws,
        ...extra,
      },
    );
  const sticky = (number: number) =>
    stage.gh.comments.find((c) => c.issue === number && c.body.startsWith('<!-- c2c:feature-env -->'))!;
  const replies = (number: number) =>
    stage.gh.comments.filter(
      (c) => c.issue === number && c.user.login === 'github-actions[bot]' && !c.body.startsWith('<!--'),
    );
  const reactionsTo = (id: number) =>
    stage.gh.comments.find((c) => c.id === id)!.reactions.map((r) => r.content);
  async function upFor() {
    const p = stage.pr();
    const { r, logger } = await runFe(stage.gh, p.ev, inputs(), { workspace: stage.ws });
    expect(r.status, logger.text()).toBe('up');
    return { ...p, namespace: r.namespace, expiresAt: r.expiresAt };
  }

  it('a writer extends it: acknowledged, the expiry moves forward by the duration, the comment says so', async () => {
    stage.gh.collaborators.set('writer', 'write');
    const p = await upFor();
    const { r, logger } = await say(p.number, 'Thanks!\n/feature-env extend 2d', 'writer');
    expect(r.status, logger.text()).toBe('updated');
    const ns = stage.kube.get('v1', 'Namespace', undefined, p.namespace)!;
    expect(Date.parse(ns.metadata.annotations![A_EXPIRES]!) - Date.parse(p.expiresAt)).toBe(2 * DAY);
    const last = stage.gh.comments.filter((c) => c.issue === p.number).at(-1)!;
    expect(reactionsTo(last.id)).toEqual(['eyes', 'rocket']);
    expect(sticky(p.number).body).toContain('@writer extended it by 2d');
    expect(sticky(p.number).body).toContain(`http://web-pr-${p.number}.preview.example.com`);
    expect(replies(p.number)).toEqual([]);
  });

  it('a reader, an unknown command, a bad argument: a reply says what is wrong, nothing changes', async () => {
    stage.gh.collaborators.set('visitor', 'read');
    const p = await upFor();
    const before = stage.kube.writes().length;
    const stickyBefore = sticky(p.number).body;
    const cases: Array<[string, string, RegExp]> = [
      [
        '/feature-env down',
        'visitor',
        /needs the permission `write` on this repository, and you have `read`: nothing was done/,
      ],
      [
        '/feature-env explode',
        'maintainer',
        /is not a command I know: nothing was done\. Commands .*`\/feature-env up`/,
      ],
      [
        '/feature-env extend soon',
        'maintainer',
        /needs a duration, e\.g\. `\/feature-env extend 2d`.*`soon` is none/,
      ],
      ['/feature-env keep forever', 'maintainer', /takes no argument \(`forever` was given\)/],
    ];
    for (const [body, author, why] of cases) {
      const { r } = await say(p.number, body, author);
      expect(r.status, body).toBe('skipped');
      const reply = replies(p.number).at(-1)!;
      expect(reply.body, body).toMatch(new RegExp(`^@${author}: \`${body.replace(/[/]/g, '\\/')}\``));
      expect(reply.body, body).toMatch(why);
      const asked = stage.gh.comments.filter((c) => c.issue === p.number && c.body === body).at(-1)!;
      expect(reactionsTo(asked.id), body).toEqual(['confused']);
    }
    expect(stage.kube.writes().length).toBe(before);
    expect(envsOf(p.number)).toHaveLength(1);
    expect(sticky(p.number).body).toBe(stickyBefore);
    // Not a command, and a comment on a plain issue: skipped without a word.
    const chatter = await say(p.number, 'looks good to me');
    expect(chatter.r.status).toBe('skipped');
    expect(replies(p.number)).toHaveLength(cases.length);
  });

  it('keep: no expiry at the scheduled run (unkeep gives it one again); status; down removes it and the label', async () => {
    const p = await upFor();
    expect((await say(p.number, '/feature-env keep')).r.status).toBe('updated');
    expect(stage.kube.get('v1', 'Namespace', undefined, p.namespace)!.metadata.annotations![A_KEEP]).toBe(
      'true',
    );
    expect(sticky(p.number).body).toContain('Kept: it does not expire or sleep');
    const reap = await runFe(stage.gh, { name: 'schedule' }, inputs(), {
      workspace: stage.ws,
      now: () => Date.now() + 100 * DAY,
    });
    expect(reap.r.removed!.map((x) => x.namespace)).not.toContain(p.namespace);
    expect(reap.r.kept).toContainEqual(
      expect.objectContaining({ namespace: p.namespace, why: expect.stringContaining('kept') }),
    );

    expect((await say(p.number, '/feature-env unkeep')).r.status).toBe('updated');
    const ns = stage.kube.get('v1', 'Namespace', undefined, p.namespace)!;
    expect(ns.metadata.annotations![A_KEEP]).toBeUndefined();
    expect(Date.parse(ns.metadata.annotations![A_EXPIRES]!)).toBeGreaterThan(Date.now() + 71 * 3_600_000);

    const status = await say(p.number, '/feature-env status');
    expect(status.r.status).toBe('updated');
    expect(sticky(p.number).body).toContain('@maintainer asked for its status');
    expect(sticky(p.number).body).toMatch(/Expires in 3 days/);

    const down = await say(p.number, '/feature-env down');
    expect(down.r.status).toBe('down');
    expect(envsOf(p.number)).toEqual([]);
    expect(stage.gh.issues.get(p.number)!.labels).not.toContain('feature-env');
    expect(sticky(p.number).body).toContain('was removed');
  });

  it('up by a writer on a pull request without the label: checked and labelled before any of its code is checked out; then command: up makes it, and a push updates it (the comment stands for the labeler)', async () => {
    const number = 1490;
    const sha = `${number}`.padStart(40, 'a');
    stage.gh.addPullRequest({ number, headSha: sha });
    const ask = commentEvent(stage.gh, number, '/feature-env up', 'maintainer');
    const step1 = await runFe(stage.gh, ask, inputs(), { workspace: stage.ws });
    expect(step1.r.status, step1.logger.text()).toBe('checked');
    expect(step1.r.headSha).toBe(sha);
    expect(envsOf(number)).toEqual([]);
    expect(stage.gh.issues.get(number)!.labels).toContain('feature-env');
    // The workflow checks out head-sha, then runs command: up (the same comment's run).
    const step2 = await runFe(
      stage.gh,
      ask,
      { ...inputs(), command: 'up', 'pull-request': String(number) },
      {
        workspace: stage.ws,
      },
    );
    expect(step2.r.status, step2.logger.text()).toBe('up');
    expect(envsOf(number)).toHaveLength(1);
    // The token added the label: the comment's author stands for it.
    expect(step2.logger.text()).toContain('labeled by maintainer (write)');
    const push = await runFe(
      stage.gh,
      { action: 'synchronize', number, labels: ['feature-env'], sha },
      inputs(),
      { workspace: stage.ws },
    );
    expect(push.r.status, push.logger.text()).toBe('updated');
    expect(push.logger.text()).toContain('labeled by maintainer (write)');
  });

  it('up from a fork is refused before anything is checked out; up refuses a workspace that holds another commit than the head', async () => {
    const fork = 1491;
    stage.gh.addPullRequest({ number: fork, headSha: 'f'.repeat(40), headRepo: 'stranger/shop' });
    await expect(say(fork, '/feature-env up')).rejects.toThrow(/comes from the fork stranger\/shop/);
    expect(replies(fork).at(-1)!.body).toMatch(
      /failed: Pull request #1491 comes from the fork stranger\/shop/,
    );
    expect(stage.gh.issues.get(fork)!.labels).not.toContain('feature-env');

    const ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-fe-cmd-git-'));
    try {
      await cp(path.join(stage.ws, 'k8s'), path.join(ws, 'k8s'), { recursive: true });
      git(ws, 'init', '-q');
      const checkedOut = commitAll(ws);
      const p = stage.pr();
      const before = stage.kube.writes().length;
      const ask = commentEvent(stage.gh, p.number, '/feature-env up', 'maintainer');
      await expect(
        runFe(
          stage.gh,
          ask,
          { ...inputs(), command: 'up', 'pull-request': String(p.number) },
          { workspace: ws },
        ),
      ).rejects.toThrow(
        new RegExp(
          `The workspace holds commit ${checkedOut.slice(0, 12)}, but the head of pull request #${p.number} is ${p.sha.slice(0, 12)} \\(new commits came after the check\\): nothing was deployed`,
        ),
      );
      expect(stage.kube.writes().length).toBe(before);
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  });

  it('wake after a sleep: exactly the replicas it had (a scale made by hand included), ready', async () => {
    const p = await upFor();
    const raw = { 'sleep-after': '2h' };
    const dep = stage.kube.get('apps/v1', 'Deployment', p.namespace, 'web')!;
    stage.kube.put({ ...dep, spec: { ...dep.spec, replicas: 3 } });
    const reap = await runFe(
      stage.gh,
      { name: 'schedule' },
      { ...inputs(), ...raw },
      {
        workspace: stage.ws,
        now: () => Date.now() + 3 * 3_600_000,
      },
    );
    expect(
      reap.r.slept?.map((x) => x.namespace),
      reap.logger.text(),
    ).toContain(p.namespace);
    expect(stage.kube.get('apps/v1', 'Deployment', p.namespace, 'web')!.spec.replicas).toBe(0);
    const { r, logger } = await say(p.number, '/feature-env wake', 'maintainer', raw);
    expect(r.status, logger.text()).toBe('updated');
    const web = stage.kube.get('apps/v1', 'Deployment', p.namespace, 'web')!;
    expect(web.spec.replicas).toBe(3);
    expect(web.metadata.annotations?.[A_SLEEP_REPLICAS]).toBeUndefined();
    expect(logger.text()).toMatch(/awake, 1 workload\(s\) ready/);
    expect(sticky(p.number).body).toContain('@maintainer woke it up');
    expect(sticky(p.number).body).toContain('is ready');
  });
});

describe.skipIf(!havePostgres())(
  'feature environments: /feature-env reset-db on a real PostgreSQL (Kubernetes fake)',
  () => {
    const stage = useFeatureEnvStage({
      from: 1500,
      objects: [
        deploymentManifest('api', 'registry.example:5000/shop/api:main', {
          spec: {
            template: {
              metadata: { labels: { app: 'api' } },
              spec: {
                containers: [
                  {
                    name: 'app',
                    image: 'registry.example:5000/shop/api:main',
                    envFrom: [{ secretRef: { name: 'database' } }],
                  },
                ],
              },
            },
          },
        }),
        deploymentManifest('web', 'registry.example:5000/shop/web:main'),
      ],
    });
    let server: PostgresServer;
    beforeAll(async () => {
      server = await startPostgres();
      const admin = await server.connect();
      await admin.query('CREATE DATABASE shop_seed');
      await admin.end();
      const seed = await server.connect({ database: 'shop_seed' });
      await seed.query(`CREATE TABLE items (name text); INSERT INTO items VALUES ('seed')`);
      await seed.end();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('a fresh copy of the database, new credentials in the Secret, the reader restarted and ready; nothing else rolled', async () => {
      const raw = {
        manifests: 'k8s/',
        'pin-digests': 'false',
        timeout: '20s',
        kubeconfig: stage.kube.kubeconfig,
        database: 'postgres-template',
        'db-url': server.url(),
        'db-template': 'shop_seed',
      };
      const p = stage.pr();
      const up = await runFe(stage.gh, p.ev, raw, { workspace: stage.ws });
      expect(up.r.status, up.logger.text()).toBe('up');
      const ns = up.r.namespace;
      const secret = () => {
        const sec = stage.kube.get('v1', 'Secret', ns, 'database')!;
        const v = (k: string) => Buffer.from(sec.data[k], 'base64').toString('utf8');
        return { v, rev: sec.metadata.annotations?.['commit-to-cloud.dev/fe-credential-rev'] };
      };
      const connect = connectWithSecret;
      const before = secret();
      const c1 = await connect(before.v);
      await c1.query(`INSERT INTO items VALUES ('written by the environment')`);
      await c1.end();
      const template = (name: string) =>
        stage.kube.get('apps/v1', 'Deployment', ns, name)!.spec.template.metadata.annotations?.[
          A_TEMPLATE_CREDENTIAL_REV
        ];
      const webGeneration = stage.kube.get('apps/v1', 'Deployment', ns, 'web')!.metadata.generation;

      const { r, logger } = await runFe(
        stage.gh,
        commentEvent(stage.gh, p.number, '/feature-env reset-db', 'maintainer'),
        raw,
        {
          workspace: stage.ws,
        },
      );
      expect(r.status, logger.text()).toBe('updated');
      const after = secret();
      expect(after.rev).not.toBe(before.rev);
      expect(after.v('password')).not.toBe(before.v('password'));
      expect(logger.text()).not.toContain(after.v('password'));
      // The data: the template's again, what the environment wrote is gone.
      const c2 = await connect(after.v);
      expect((await c2.query('SELECT name FROM items ORDER BY name')).rows).toEqual([{ name: 'seed' }]);
      await c2.end();
      // The old password no longer opens it.
      await expect(connect(before.v)).rejects.toThrow(/password authentication failed/);
      // The reader rolled to the new revision and is ready; web did not roll.
      expect(template('api')).toBe(after.rev);
      const api = stage.kube.get('apps/v1', 'Deployment', ns, 'api')!;
      expect(api.status.readyReplicas).toBe(api.spec.replicas);
      expect(stage.kube.get('apps/v1', 'Deployment', ns, 'web')!.metadata.generation).toBe(webGeneration);
      expect(logger.text()).toMatch(/fresh; rolling Deployment\/api/);
      const sticky = stage.gh.comments.find(
        (c) => c.issue === p.number && c.body.startsWith('<!-- c2c:feature-env -->'),
      )!;
      expect(sticky.body).toContain('@maintainer reset its database');

      // The next push keeps the new credentials: nothing rolls for the database.
      const push = await runFe(stage.gh, { ...p.ev, action: 'synchronize' }, raw, { workspace: stage.ws });
      expect(push.r.status, push.logger.text()).toBe('updated');
      expect(secret().rev).toBe(after.rev);
      expect(template('api')).toBe(after.rev);
    }, 60_000);
  },
);
