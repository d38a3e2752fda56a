import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { withDefaults } from '../../src/core/input-spec.js';
import { memoryLogger, nullLogger } from '../../src/core/logger.js';
import { DEPLOY_INPUTS, parseDeployInputs, type DeployRaw } from '../../src/deploy/inputs.js';
import { runDeploy, type DeployContext } from '../../src/deploy/run.js';
import { KubeClient, loadKubeconfig } from '../../src/kube/index.js';

export const COMMIT = '0123456789abcdef0123456789abcdef01234567';
export const AUDIT = {
  commit: COMMIT,
  ref: 'refs/heads/main',
  runUrl: 'https://github.com/acme/shop/actions/runs/4242',
  actor: 'octocat',
};

/**
 * Runs the deploy engine against one cluster (the fake or a genuine control plane) from a workspace
 * of its own: a fresh namespace per scenario, manifests written as files, inputs parsed as the
 * action parses them.
 */
export interface DeployHarness {
  ws: string;
  /** A client of the cluster, as another writer (field manager of the caller's choice). */
  client: KubeClient;
  /** Creates a fresh namespace and returns its name. */
  namespace(prefix?: string): Promise<string>;
  /** Writes objects as a multi-document YAML file in the workspace; returns its relative path. */
  write(objects: unknown[], file?: string): Promise<string>;
  deploy(
    raw: Partial<DeployRaw>,
    ctx?: Partial<DeployContext>,
  ): Promise<{ r: Awaited<ReturnType<typeof runDeploy>>; logger: ReturnType<typeof memoryLogger> }>;
  close(): Promise<void>;
}

export async function deployHarness(kubeconfig: string): Promise<DeployHarness> {
  const ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-deploy-ws-'));
  const client = new KubeClient(await loadKubeconfig({ content: kubeconfig }, nullLogger), {
    logger: nullLogger,
  });
  let n = 0;
  return {
    ws,
    client,
    async namespace(prefix = 't') {
      const name = `${prefix}${++n}-${Math.random().toString(36).slice(2, 7)}`;
      await client.apply(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
        { fieldManager: 'test' },
      );
      return name;
    },
    async write(objects, file) {
      const f = file ?? `m${++n}-${Math.random().toString(36).slice(2, 6)}.yaml`;
      await writeFile(path.join(ws, f), objects.map((o) => stringify(o)).join('---\n'));
      return f;
    },
    async deploy(raw, ctx = {}) {
      const opts = parseDeployInputs(
        withDefaults(DEPLOY_INPUTS, { kubeconfig, ...raw } as Record<string, string>, 'input'),
        ws,
        { sha: COMMIT },
      );
      const logger = memoryLogger();
      const r = await runDeploy(opts, { logger, audit: AUDIT, ...ctx });
      return { r, logger };
    },
    async close() {
      await rm(ws, { recursive: true, force: true });
    },
  };
}
