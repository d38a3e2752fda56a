/**
 * What a cached base buys: building and pushing one sample-app service image with buildah, on a base
 * that exists, versus the full pipeline that rebuilds the base first. Measured side by side in one
 * run (the arms alternate), printed as times and ratios.
 *
 *   npx tsx bench/build-on-base.ts                                # the sample app as it is (DEPS_MB default)
 *   BENCH_DEPS_MB=2 BENCH_RUNS=1 npx tsx bench/build-on-base.ts   # a quick smoke run
 *   BENCH_RUNS=3 (default)  BENCH_SERVICE=api|web|worker (default api)  BENCH_COLD=0 (skip arm c)
 *   BENCH_VERBOSE=1 prints the engine's log of each step.
 *
 * Arms, each timed from the hash to the pushed service image:
 *  (a) dependencies changed: requirements.txt gets a fresh comment line (a salt; the dependency step
 *      ignores comments but buildah's layer cache cannot reuse anything after the COPY of that file),
 *      so runHashBase (check 'registry') finds no base for the new hash, builds Dockerfile.base
 *      (ROOT_IMAGE = the busybox root image) and pushes it; then the service image FROM it.
 *  (b) dependencies unchanged: runHashBase hashes, finds the tag (one HEAD) and skips; then the
 *      service image FROM the base, which the builder's store already holds (a warm runner).
 *  (c) as (b), on an empty builder store: the base is pulled from the registry (a fresh runner).
 * The service's code changes before every arm (a new comment line), as it would for a deploy.
 * Target (issue 3): (b) at least 10x faster than (a).
 *
 * Everything runs on a private buildah store (C2C_BUILDAH_ROOT / C2C_BUILDAH_RUNROOT) in a temp dir
 * and a registry of its own; both are removed at the end.
 */
import { appendFile, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRegistry, type RegistryServer } from '../test/helpers/registry.js';
import { makeRootImage } from '../test/helpers/base-image.js';
import { ROOT } from '../test/e2e/runner.js';
import { removeBuildahStore as removeStore } from '../test/helpers/buildah-store.js';
import { buildAndPush, buildahGlobalArgs, buildahStorage, resolveBuilder } from '../src/builder/index.js';
import { exec } from '../src/core/exec.js';
import { consoleLogger, memoryLogger, type Logger } from '../src/core/logger.js';
import { withDefaults } from '../src/core/input-spec.js';
import { HASH_BASE_INPUTS, parseHashBaseInputs } from '../src/baseimage/inputs.js';
import { runHashBase, type HashBaseResult } from '../src/baseimage/run.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DEPS_MB = process.env.BENCH_DEPS_MB?.trim() || '';
const SERVICE = process.env.BENCH_SERVICE ?? 'api';
const COLD = process.env.BENCH_COLD !== '0';
const VERBOSE = process.env.BENCH_VERBOSE === '1';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const CODE_FILE: Record<string, string> = {
  api: 'cgi-bin/items',
  web: 'public/index.html',
  worker: 'worker.sh',
};

function newLogger(): Logger & { text(): string } {
  if (VERBOSE) return Object.assign(consoleLogger({ verbose: true }), { text: () => '' });
  return memoryLogger();
}

/** Points the builder (src/builder reads these per call) at a store of its own under `dir`. */
function useStore(dir: string): void {
  process.env.C2C_BUILDAH_ROOT = path.join(dir, 'root');
  process.env.C2C_BUILDAH_RUNROOT = path.join(dir, 'run');
}

async function main(): Promise<void> {
  const stores: string[] = [];
  const newStore = async (name: string) => {
    const d = await mkdtemp(path.join(os.tmpdir(), `c2c-bench-buildah-${name}-`));
    stores.push(d);
    return d;
  };
  const warmStore = await newStore('warm');
  useStore(warmStore);
  let reg: RegistryServer | undefined;
  const ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-bench-build-'));
  try {
    reg = await startRegistry();
    const builder = await resolveBuilder('buildah', newLogger());
    const storage = await buildahStorage();
    const driver =
      storage.driver ??
      (
        await exec('buildah', [
          ...buildahGlobalArgs(storage),
          'info',
          '--format',
          '{{.store.GraphDriverName}}',
        ])
      ).stdout.trim();
    const rootImage = await makeRootImage(reg.host, 'bench/root');
    await cp(path.join(ROOT, 'examples/sample-app'), ws, { recursive: true });
    const serviceDir = path.join(ws, 'services', SERVICE);
    const codeFile = CODE_FILE[SERVICE];
    if (!codeFile) throw new Error(`BENCH_SERVICE must be one of ${Object.keys(CODE_FILE).join(', ')}`);
    const depsMb =
      DEPS_MB ||
      /ARG DEPS_MB=(\d+)/.exec(await readFile(path.join(ws, 'Dockerfile.base'), 'utf8'))?.[1] ||
      '?';
    const packages = (await readFile(path.join(ws, 'requirements.txt'), 'utf8'))
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#')).length;

    const hashBaseOpts = parseHashBaseInputs(
      withDefaults(HASH_BASE_INPUTS, {
        files: 'requirements.txt\nDockerfile.base',
        image: `${reg.host}/bench/sample-app-base`,
        build: 'true',
        builder: 'buildah',
        'build-args': [`ROOT_IMAGE=${rootImage}`, ...(DEPS_MB ? [`DEPS_MB=${DEPS_MB}`] : [])].join('\n'),
      }),
      ws,
    );
    const hashBase = async (logger: Logger): Promise<HashBaseResult> =>
      runHashBase(hashBaseOpts, { logger, manifestDir: ws });
    const buildService = async (base: string, tag: string, logger: Logger) =>
      buildAndPush(
        {
          context: serviceDir,
          dockerfile: path.join(serviceDir, 'Dockerfile'),
          tags: [`${reg!.host}/bench/sample-app-${SERVICE}:${tag}`],
          buildArgs: [['BASE_IMAGE', base]],
          labels: { 'org.opencontainers.image.created': new Date().toISOString() },
          targets: [{ host: reg!.host, insecure: true }],
          logger,
        },
        builder,
      );
    const changeCode = (salt: string) => appendFile(path.join(serviceDir, codeFile), `\n# build ${salt}\n`);
    const step = async <T>(what: string, logger: Logger & { text(): string }, fn: () => Promise<T>) => {
      try {
        return await fn();
      } catch (e) {
        console.error(`${what} failed; its log:\n${logger.text()}`);
        throw e;
      }
    };

    const a: number[] = [];
    const aBase: number[] = [];
    const b: number[] = [];
    const bBase: number[] = [];
    const c: number[] = [];
    console.log(
      `sample-app base: ${packages} packages x ${depsMb} MB + the slow step's sleep; service '${SERVICE}'; ` +
        `buildah storage ${driver}, isolation ${storage.isolation}; ${RUNS} run(s)`,
    );
    for (let i = 0; i < RUNS; i++) {
      const salt = `${Date.now().toString(36)}-${i}`;
      // (a) dependencies changed: the base is rebuilt and pushed, then the service on it.
      await appendFile(path.join(ws, 'requirements.txt'), `# bench salt ${salt}\n`);
      await changeCode(`${salt}-a`);
      let log = newLogger();
      let t = performance.now();
      const full = await step('(a) hash-base', log, () => hashBase(log));
      if (!full.built) throw new Error(`(a): hash-base did not build the base: ${full.reason}`);
      const baseMs = performance.now() - t;
      await step('(a) service build', log, () => buildService(full.imageRef, `a-${salt}`, log));
      a.push(performance.now() - t);
      aBase.push(baseMs);

      // (b) dependencies unchanged, base in the builder's store: hash, one HEAD, the service only.
      await changeCode(`${salt}-b`);
      log = newLogger();
      t = performance.now();
      const hot = await step('(b) hash-base', log, () => hashBase(log));
      if (hot.needsBuild || hot.imageRef !== full.imageRef)
        throw new Error(`(b): hash-base wants a build (${hot.reason})`);
      bBase.push(performance.now() - t);
      await step('(b) service build', log, () => buildService(hot.imageRef, `b-${salt}`, log));
      b.push(performance.now() - t);

      if (COLD) {
        // (c) as (b) on an empty store: the build pulls the base from the registry first.
        const cold = await newStore('cold');
        useStore(cold);
        try {
          await changeCode(`${salt}-c`);
          log = newLogger();
          t = performance.now();
          const r = await step('(c) hash-base', log, () => hashBase(log));
          if (r.needsBuild) throw new Error(`(c): hash-base wants a build (${r.reason})`);
          await step('(c) service build', log, () => buildService(r.imageRef, `c-${salt}`, log));
          c.push(performance.now() - t);
        } finally {
          useStore(warmStore);
          await removeStore(cold);
          stores.splice(stores.indexOf(cold), 1);
        }
      }
      console.log(
        `  run ${i + 1}: (a) ${a[i]!.toFixed(0)} ms (base ${aBase[i]!.toFixed(0)} ms)  (b) ${b[i]!.toFixed(0)} ms` +
          (COLD ? `  (c) ${c[i]!.toFixed(0)} ms` : ''),
      );
    }

    const ma = median(a);
    const mb = median(b);
    const rows: Array<[string, number, string]> = [
      ['(a) deps changed: hash-base builds + pushes the base, then the service', ma, '1.00x'],
      ['    of which hash-base (hash, HEAD, tags, build, push of the base)', median(aBase), ''],
      [
        '(b) deps unchanged: hash-base skips (one HEAD), service on the cached base',
        mb,
        `${(ma / mb).toFixed(1)}x faster`,
      ],
      ['    of which hash-base (hash, one HEAD: the tag exists)', median(bBase), ''],
    ];
    if (COLD)
      rows.push([
        '(c) as (b), empty builder store: base pulled from the registry first',
        median(c),
        `${(ma / median(c)).toFixed(1)}x faster`,
      ]);
    const w = Math.max(...rows.map((r) => r[0].length));
    console.log(`\nbuild on base, median of ${RUNS}:`);
    for (const [name, ms, ratio] of rows)
      console.log(`  ${name.padEnd(w)}  ${ms.toFixed(0).padStart(7)} ms   ${ratio}`);
    console.log(`  target: (b) at least 10x faster than (a) -> ${ma / mb >= 10 ? 'met' : 'NOT met'}`);
  } finally {
    await reg?.stop();
    await rm(ws, { recursive: true, force: true });
    for (const s of stores) await removeStore(s);
  }
}

await main();
