import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { planCommand } from '../../src/cli/commands/plan.js';
import { parseFlags } from '../../src/cli/flags.js';
import { closeHttpAgents } from '../../src/core/http.js';
import { memoryLogger } from '../../src/core/logger.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';

/**
 * `c2c plan` against a cluster that answers and refuses the credentials: not a skipped diff (as for a
 * cluster that is away) but a failed plan, exit 1, that names the credentials.
 */
describe('c2c plan: a cluster that refuses the credentials', () => {
  let kube: KubeFake;
  let ws: string;

  beforeAll(async () => {
    kube = await startKubeFake({ auth: 'token', readyDelayMs: 0 });
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-plan-creds-'));
    await mkdir(path.join(ws, 'k8s'));
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { A: '1' } }),
    );
  });
  afterAll(async () => {
    await kube?.stop();
    if (ws) await rm(ws, { recursive: true, force: true });
    closeHttpAgents();
  });
  beforeEach(() => kube.faults.clear());

  async function plan(kubeconfig: string) {
    const file = path.join(ws, `kubeconfig-${Math.random().toString(36).slice(2, 7)}`);
    await writeFile(file, kubeconfig, { mode: 0o600 });
    const argv = ['--manifests', 'k8s/', '--namespace', 'default', '--kubeconfig', file, '--workspace', ws];
    const parsed = parseFlags(argv, {
      inputs: planCommand.inputs,
      ...(planCommand.required ? { required: planCommand.required } : {}),
    });
    return planCommand.run(parsed, memoryLogger());
  }

  it('the credentials work: the diff is done (exit 0)', async () => {
    const r = await plan(kube.kubeconfig);
    expect(r.exitCode ?? 0, r.text).toBe(0);
    expect(r.text).toContain('Server-side diff (dry run on');
  });

  it('401, a token the cluster does not accept: exit 1, the credentials named, not "skipped"', async () => {
    expect(kube.kubeconfig).toContain(kube.token);
    const r = await plan(kube.kubeconfig.replace(kube.token, 'expired-token'));
    expect(r.exitCode, r.text).toBe(1);
    expect(r.text).not.toMatch(/skipped|did not answer/);
    expect(r.text).toMatch(/does not accept the credentials \(HTTP 401 Unauthorized\)/);
    expect(r.text).toContain(kube.url);
    expect((r.json as { diff: { status: string } }).diff.status).toBe('denied');
    // The secret is not in what is printed.
    expect(r.text).not.toContain('expired-token');
  });

  it('403 on the version: exit 1, the credentials named', async () => {
    kube.faults.add({
      kind: 'status',
      status: 403,
      method: 'GET',
      pathIncludes: '/version',
      reason: 'Forbidden',
      message: 'forbidden: User "system:anonymous" cannot get path "/version"',
    });
    const r = await plan(kube.kubeconfig);
    expect(r.exitCode, r.text).toBe(1);
    expect(r.text).not.toMatch(/skipped|did not answer/);
    expect(r.text).toMatch(/refuses these credentials .*\(HTTP 403 Forbidden\)/);
  });
});
