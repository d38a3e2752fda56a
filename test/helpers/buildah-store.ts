import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exec } from '../../src/core/exec.js';

/**
 * A private buildah store in a temp dir (C2C_BUILDAH_ROOT / C2C_BUILDAH_RUNROOT, which src/builder
 * reads per call): builds start as cold as on a fresh CI runner and leave nothing in the shared store.
 */
export async function privateBuildahStore(
  name: string,
): Promise<{ dir: string; env: Record<string, string>; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `c2c-buildah-${name}-`));
  return {
    dir,
    env: { C2C_BUILDAH_ROOT: path.join(dir, 'root'), C2C_BUILDAH_RUNROOT: path.join(dir, 'run') },
    remove: () => removeBuildahStore(dir),
  };
}

/** Unmounts what buildah left mounted under `dir` (the overlay driver's private mount), then removes it. */
export async function removeBuildahStore(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mounts', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await exec('umount', [m], { allowFailure: true }).catch(() => undefined);
  await rm(dir, { recursive: true, force: true }).catch((e: Error) =>
    console.error(`could not remove ${dir}: ${e.message}`),
  );
}
