import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { deploymentManifest, ingressManifest } from '../fixtures/workloads.js';
import { eventPayload, type PrEvent } from '../helpers/feature-env.js';
import { CLUSTER_SETUP_TIMEOUT_MS, haveCluster, sharedCluster } from '../helpers/shared-cluster.js';
import type { Cluster } from '../helpers/cluster.js';
import { runAction } from './runner.js';
import { setShort } from '../../src/featureenv/state.js';

/**
 * The bundled action-feature-env, run as the runner runs it, with real-shaped pull_request payloads
 * (labeled, synchronize, unlabeled, closed) and a schedule event, against the genuine control plane
 * and the GitHub fake.
 */
describe.skipIf(!haveCluster())('action-feature-env, bundled, run as the runner runs it', () => {
  let cluster: Cluster;
  let gh: GitHubFake;
  let ws: string;
  const number = 77;
  /** The environment's namespace: the prefix, the short form of the set key, the pull request. */
  const envNs = () =>
    `e2e-${setShort({ repository: 'acme/shop', prefix: 'e2e-', label: 'feature-env' })}-pr-${number}`;
  const sha = 'c'.repeat(40);

  beforeAll(async () => {
    cluster = await sharedCluster();
    gh = await startGitHubFake({ owner: 'acme', repo: 'shop' });
    gh.collaborators.set('maintainer', 'maintain');
    gh.addPullRequest({ number, headSha: sha });
    gh.label(number, 'feature-env', 'maintainer');
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-e2e-fe-'));
    await mkdir(path.join(ws, 'k8s'));
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      [deploymentManifest('web', 'registry.example:5000/shop/web:main'), ingressManifest('web')]
        .map((o) => stringify(o))
        .join('---\n'),
    );
  }, CLUSTER_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await gh?.stop();
    if (ws) await rm(ws, { recursive: true, force: true });
  });

  const run = (e: PrEvent | { name: 'schedule' }, inputs: Record<string, string> = {}) => {
    const ev = eventPayload(gh, e);
    return runAction('action-feature-env', {
      inputs: {
        manifests: 'k8s/',
        kubeconfig: cluster.kubeconfig,
        'pin-digests': 'false',
        'namespace-prefix': 'e2e-',
        domain: 'preview.example.com',
        timeout: '60s',
        ...inputs,
      },
      env: {
        ...gh.env,
        INPUT_TOKEN: gh.token,
        GITHUB_EVENT_NAME: ev.name,
        GITHUB_SHA: ev.sha,
        GITHUB_ACTOR: ev.actor,
      },
      event: ev.payload,
      workspace: ws,
    });
  };

  it('labeled → up, synchronize → updated, unlabeled → down, closed → down again (nothing left), schedule → reaped', async () => {
    const up = await run({ action: 'labeled', number, label: 'feature-env', labels: ['feature-env'], sha });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.outputs).toMatchObject({
      status: 'up',
      namespace: envNs(),
      url: `http://web-pr-${number}.preview.example.com`,
    });
    expect(Number(up.outputs['ready-seconds'])).toBeGreaterThan(0);
    expect(up.outputs['expires-at']).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(up.outputs['deployment-id']).toMatch(/^\d+$/);
    expect(up.summary).toContain(`Feature environment #${number}: up`);

    const upd = await run(
      { action: 'synchronize', number, labels: ['feature-env'], sha: 'd'.repeat(40) },
      { images: 'registry.example:5000/shop/web:pr-77' },
    );
    expect(upd.code, upd.stdout + upd.stderr).toBe(0);
    expect(upd.outputs.status).toBe('updated');

    const down = await run({
      action: 'unlabeled',
      number,
      label: 'feature-env',
      labels: [],
      sha: 'd'.repeat(40),
    });
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(down.outputs.status).toBe('down');
    const again = await run({ action: 'closed', number, labels: [], sha: 'd'.repeat(40) });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.outputs.status).toBe('down');
    expect((await cluster.request('GET', `/api/v1/namespaces/${envNs()}`)).status).toBe(404);

    const reaped = await run({ name: 'schedule' });
    expect(reaped.code, reaped.stdout + reaped.stderr).toBe(0);
    expect(reaped.outputs.status).toBe('reaped');
    expect(gh.comments.filter((c) => c.issue === number)).toHaveLength(1);
  });

  it('a label other than feature-env: skipped, exit 0', async () => {
    const r = await run({ action: 'labeled', number, label: 'bug', labels: ['bug'], sha });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs.status).toBe('skipped');
  });
});
