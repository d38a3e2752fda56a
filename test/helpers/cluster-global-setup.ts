import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { preferOurKubectl, stopCluster } from './cluster.js';

/**
 * vitest globalSetup: names this run's shared control plane (started on first use by sharedCluster(),
 * so a run without cluster tests starts nothing) and stops it when the run ends. Puts our kubectl first
 * on PATH for the whole run. Shared control planes left by a run that was killed are stopped here.
 */

const PREFIX = 'c2c-shared-cluster-';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  preferOurKubectl();
  await reapOrphans();
  const dir = path.join(os.tmpdir(), `${PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`);
  project.provide('c2cSharedClusterDir', dir);
  return async () => {
    await stopCluster(path.join(dir, 'cluster'));
    await rm(dir, { recursive: true, force: true });
  };
}

/** Shared control planes whose vitest process is gone (killed before its teardown). */
async function reapOrphans(): Promise<void> {
  for (const name of await readdir(os.tmpdir()).catch(() => [] as string[])) {
    const pid = Number(name.startsWith(PREFIX) ? name.slice(PREFIX.length).split('-')[0] : NaN);
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    const dir = path.join(os.tmpdir(), name);
    await stopCluster(path.join(dir, 'cluster')).catch(() => undefined);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
