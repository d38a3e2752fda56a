import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inject } from 'vitest';
import { acquireLock, missingBinaries } from './cluster-build.js';
import { attach, isClusterUp, preferOurKubectl, startCluster, type Cluster } from './cluster.js';

export { preferOurKubectl };

/**
 * One control plane per vitest run, shared by every test file that asks for it: the first file to call
 * sharedCluster() starts it (others wait for it), cluster-global-setup.ts stops it when the run ends.
 * Test files isolate themselves with namespaces of their own (testNamespace).
 *
 *   describe.skipIf(!haveCluster())('my cluster test', () => {
 *     let cluster: Cluster;
 *     beforeAll(async () => { cluster = await sharedCluster(); }, CLUSTER_SETUP_TIMEOUT_MS);
 *     it('...', async () => { const ns = await testNamespace(cluster, 'mine'); ... });
 *   });
 *
 * With C2C_CLUSTER_DIR set, the tests use the control plane already running there
 * (`scripts/cluster.sh up DIR`) and leave it running: quicker when iterating on one test file.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where this run's shared control plane lives (started on first use). */
    c2cSharedClusterDir: string;
  }
}

/** For beforeAll: the first use may build the binaries (about 13 minutes on two cores, once per machine). */
export const CLUSTER_SETUP_TIMEOUT_MS = 30 * 60_000;

const HOW_TO_BUILD = 'scripts/cluster.sh build';

let goPresent: boolean | undefined;
function hasGo(): boolean {
  if (goPresent === undefined) {
    try {
      execFileSync('go', ['version'], { stdio: 'ignore' });
      goPresent = true;
    } catch {
      goPresent = false;
    }
  }
  return goPresent;
}

/**
 * Whether the cluster tests can run: the binaries are built, or Go is there to build them. Under
 * CI=true always: a control plane that cannot be built or started fails each test in beforeAll
 * (sharedCluster's error says how to build it), so the failures are counted, never skipped.
 */
export function haveCluster(): boolean {
  if (process.env.CI === 'true' || process.env.C2C_CLUSTER_DIR) return true;
  return missingBinaries().length === 0 || hasGo();
}

/** This run's shared control plane, started on first use. Fails (never skips) when it cannot start. */
export async function sharedCluster(): Promise<Cluster> {
  preferOurKubectl();
  const external = process.env.C2C_CLUSTER_DIR;
  if (external) {
    if (!(await isClusterUp(external))) {
      throw new Error(
        `C2C_CLUSTER_DIR=${external}, but no control plane is up there; start it with: scripts/cluster.sh up ${external}`,
      );
    }
    return attach(external);
  }
  let dir: string | undefined;
  try {
    dir = inject('c2cSharedClusterDir');
  } catch {
    dir = undefined;
  }
  if (!dir) {
    throw new Error(
      'sharedCluster() needs test/helpers/cluster-global-setup.ts in vitest.config.ts globalSetup',
    );
  }
  await mkdir(dir, { recursive: true });
  const clusterDir = path.join(dir, 'cluster');
  if (await isClusterUp(clusterDir)) return attach(clusterDir);
  const failed = path.join(dir, 'start-failed.txt');
  const unlock = await acquireLock(path.join(dir, 'start.lock'), 'starting the shared control plane', (l) =>
    process.stderr.write(`${l}\n`),
  );
  try {
    // One start per run: a failure is recorded, and the other files fail with the same message at once.
    if (existsSync(failed)) throw new Error(await readFile(failed, 'utf8'));
    if (await isClusterUp(clusterDir)) return attach(clusterDir);
    try {
      return await startCluster({ dir: clusterDir });
    } catch (e) {
      const message =
        `The cluster tests could not start the local Kubernetes control plane: ${(e as Error).message}\n` +
        `(build it with: ${HOW_TO_BUILD}; try it with: scripts/cluster.sh up /tmp/c2c-cluster)`;
      await writeFile(failed, message);
      throw new Error(message, { cause: e });
    }
  } finally {
    await unlock();
  }
}

/**
 * A fresh namespace for one test (name: c2c-<prefix>-<random>), with a delete() that does not wait for
 * the namespace controller to finalise it.
 */
export async function testNamespace(
  cluster: Cluster,
  prefix: string,
): Promise<{ name: string; delete(): Promise<void> }> {
  const name = `c2c-${prefix}-${randomBytes(3).toString('hex')}`.toLowerCase().slice(0, 63);
  const r = await cluster.request('POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'c2c.test/namespace': 'true' } },
  });
  if (r.status !== 201) throw new Error(`creating namespace ${name}: ${r.status} ${r.text}`);
  return {
    name,
    delete: async () => {
      await cluster.request('DELETE', `/api/v1/namespaces/${name}`);
    },
  };
}
