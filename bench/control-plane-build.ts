// The first run's longest step: building the control plane of the cluster tests and the demo
// (scripts/cluster.sh build) on a fresh machine, i.e. with an empty Go module cache and build cache.
// Each round builds into a cache directory of its own and downloads every module again from the
// proxy, so it takes minutes: it runs only when asked, C2C_BENCH_BUILD=N for N rounds. Prints each
// round's wall time with the times of its three go builds, then the median.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../test/helpers/cluster-build.js';

const ROUNDS = Number(process.env.C2C_BENCH_BUILD ?? 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Module caches are read-only by design: make them writable so that they can be removed. */
async function removeModuleCache(dir: string): Promise<void> {
  const walk = async (d: string): Promise<void> => {
    await chmod(d, 0o755).catch(() => undefined);
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => []))
      if (e.isDirectory()) await walk(path.join(d, e.name));
  };
  await walk(dir);
  await rm(dir, { recursive: true, force: true });
}

if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.log(
    'skipped: C2C_BENCH_BUILD=N builds the control plane N times from empty Go caches (about 10 minutes and 1 GB of downloads each)',
  );
} else {
  const walls: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'c2c-bench-build-'));
    // No GOCACHE: the build then uses one of its own, inside its scratch directory.
    const { GOCACHE: _unused, ...rest } = process.env;
    const env = {
      ...rest,
      XDG_CACHE_HOME: path.join(scratch, 'cache'),
      GOMODCACHE: path.join(scratch, 'gomod'),
    };
    const t0 = performance.now();
    const lines: string[] = [];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        path.join(REPO_ROOT, 'node_modules/.bin/node'),
        [path.join(REPO_ROOT, 'node_modules/.bin/tsx'), path.join(REPO_ROOT, 'scripts/cluster.ts'), 'build'],
        { env, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      child.stderr.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
      child.on('exit', resolve);
    });
    const wall = (performance.now() - t0) / 1000;
    const downloaded = await stat(path.join(scratch, 'gomod')).then(
      () => true,
      () => false,
    );
    if (code !== 0) {
      console.log(`round ${round}: failed (exit ${code})\n${lines.slice(-20).join('\n')}`);
      process.exitCode = 1;
    } else {
      walls.push(wall);
      const done = lines.filter((l) => /done in|built the control plane/.test(l)).map((l) => l.trim());
      console.log(`round ${round}: ${wall.toFixed(0)} s${downloaded ? '' : ' (no module downloads?)'}`);
      for (const l of done) console.log(`  ${l}`);
    }
    await removeModuleCache(path.join(scratch, 'gomod'));
    await rm(scratch, { recursive: true, force: true });
  }
  if (walls.length)
    console.log(
      `\nfresh-machine build, median of ${walls.length}: ${median(walls).toFixed(0)} s ` +
        `(${walls.map((w) => w.toFixed(0)).join(', ')} s); ${os.cpus().length} cores`,
    );
}
