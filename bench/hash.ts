/**
 * Benchmark of the hashing engine, printing times and ratios measured side by side in one run.
 *
 *   npx tsx bench/hash.ts                        # 20,000 files, 1 GiB (the figures)
 *   BENCH_FILES=2000 BENCH_MB=64 npx tsx bench/hash.ts   # a quick smoke run
 *   BENCH_RUNS=5 (default 3)   BENCH_DIR=/path (default <tmpdir>/c2c-bench-tree-<files>-<mb>)
 *
 * The tree is generated once (seeded, so it is the same every time) and reused between runs.
 * Targets: `content` within 1.5x of `find | xargs -0 -P2 openssl dgst -sha256`, both the hashing
 * alone (in this process) and the whole action process as the runner starts it (node on the bundled
 * action-hash-base/dist/index.js: start-up, bundle load, hashing, manifest and outputs written; run
 * `npm run bundle` first to measure the sources as they are); `hashfiles` at least 4x faster than
 * GitHub's own algorithm, with the identical hash. Each run measures every method once, in turn,
 * so drift on a shared machine hits them alike; medians are printed, and for the action process
 * also the median of its ratio to the openssl run next to it. On Linux each round also measures
 * how much of the machine other processes took while it ran, and the ratios of the quiet rounds
 * are printed apart.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hashFiles } from '../src/fingerprint/index.js';
import { runAction } from '../test/e2e/runner.js';
import { githubHashFiles } from '../test/fixtures/fingerprint/github-hashfiles.js';

const FILES = Number(process.env.BENCH_FILES ?? 20_000);
const MB = Number(process.env.BENCH_MB ?? 1024);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DIR = process.env.BENCH_DIR ?? path.join(os.tmpdir(), `c2c-bench-tree-${FILES}-${MB}`);

/** mulberry32: a small seeded PRNG. */
function prng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(): void {
  const marker = path.join(DIR, '.c2c-bench-complete');
  if (fs.existsSync(marker)) return;
  fs.rmSync(DIR, { recursive: true, force: true });
  console.log(`generating ${FILES} files, ${MB} MiB in ${DIR} ...`);
  const rnd = prng(20240601);
  // Sizes: log-uniform weights between 100 B and ~4 MB, scaled so they add up to MB MiB.
  const weights = Array.from({ length: FILES }, () => Math.exp(rnd() * Math.log(40000)));
  const total = MB * 1048576;
  const sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.max(1, Math.floor((w / sum) * total)));
  // Directories: a tree about 4 levels deep, ~20 files per directory.
  const dirs: string[] = [''];
  const nDirs = Math.max(1, Math.floor(FILES / 20));
  while (dirs.length < nDirs) {
    const parent = dirs[Math.floor(rnd() * dirs.length)]!;
    if (parent.split('/').length > 4) continue;
    dirs.push(path.posix.join(parent, `d${dirs.length.toString(36)}`));
  }
  const pool = crypto.randomBytes(16 << 20);
  for (const d of dirs) fs.mkdirSync(path.join(DIR, d), { recursive: true });
  for (let i = 0; i < FILES; i++) {
    const dir = dirs[Math.floor(rnd() * dirs.length)]!;
    const name = `${i % 7 === 0 ? '.' : ''}f${i.toString(36)}${['.txt', '.py', '.lock', '.json', ''][i % 5]}`;
    const size = sizes[i]!;
    const fd = fs.openSync(path.join(DIR, dir, name), 'w');
    const header = Buffer.from(`file ${i}\n`);
    fs.writeSync(fd, header.subarray(0, Math.min(size, header.length)));
    let left = size - Math.min(size, header.length);
    while (left > 0) {
      const off = Math.floor(rnd() * (pool.length / 2));
      const n = Math.min(left, pool.length - off);
      fs.writeSync(fd, pool, off, n);
      left -= n;
    }
    fs.closeSync(fd);
  }
  fs.writeFileSync(marker, `${FILES} ${MB}\n`);
}

async function time<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * CPU time (ms) used so far by the whole machine and by this process with its finished children
 * (Linux: /proc/stat, /proc/self/stat; 100 ticks a second), so that a run can tell how much of the
 * machine others took meanwhile. Undefined elsewhere.
 */
function cpuNow(): { machine: number; own: number } | undefined {
  try {
    const cpu = fs
      .readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const busy = cpu.reduce((a, b) => a + b, 0) - cpu[3]! - cpu[4]!; // minus idle and iowait
    const self = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = self
      .slice(self.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return { machine: busy * 10, own: (f[11]! + f[12]! + f[13]! + f[14]!) * 10 };
  } catch {
    return undefined;
  }
}

/** Share of the machine's cores that other processes used during a run of `ms`. */
function othersShare(before: ReturnType<typeof cpuNow>, ms: number): number {
  const after = cpuNow();
  if (!before || !after) return 0;
  const others = after.machine - before.machine - (after.own - before.own);
  return Math.max(0, others) / (os.availableParallelism() * ms);
}

/** A round where others took more than this share of the machine does not count as quiet. */
const QUIET = 0.1;

const OPENSSL = 'openssl (find | xargs -0 -P2 openssl dgst -sha256)';
const ACTION = 'action-hash-base process, content (dist/index.js)';

async function main() {
  generate();
  const patterns = ['**', '!.c2c-bench-complete'];
  // The action's own time (from spawning node to its exit), without the harness's file set-up.
  const actionMs: number[] = [];
  const methods: Record<string, () => Promise<string>> = {
    [OPENSSL]: async () => {
      const r = spawnSync(
        'bash',
        [
          '-c',
          'find "$1" -type f ! -name .c2c-bench-complete -print0 | xargs -0 -P2 openssl dgst -sha256 >/dev/null',
          'bash',
          DIR,
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      if (r.status !== 0) throw new Error('openssl baseline failed');
      return '';
    },
    'c2c content': async () => (await hashFiles({ workspace: DIR, patterns, mode: 'content' })).hash,
    [ACTION]: async () => {
      const r = await runAction('action-hash-base', {
        inputs: { files: patterns.join('\n'), mode: 'content' },
        workspace: DIR,
      });
      if (r.code !== 0) throw new Error(`the action failed: ${r.stdout}${r.stderr}`);
      actionMs.push(r.durationMs);
      return r.outputs.hash ?? '';
    },
    'c2c hashfiles': async () => (await hashFiles({ workspace: DIR, patterns, mode: 'hashfiles' })).hash,
    'GitHub hashFiles() (runner algorithm)': async () =>
      (await githubHashFiles(DIR, patterns.join('\n'))).hash,
  };
  const names = Object.keys(methods);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const values: Record<string, string> = {};
  // Warm the page cache once, then alternate the methods so drift hits all of them alike.
  await methods[names[0]!]!();
  const paired: number[] = [];
  const quiet: Array<{ content: number; action: number }> = [];
  for (let run = 0; run < RUNS; run++) {
    let noisy = false;
    for (const n of names) {
      const before = cpuNow();
      const r = await time(methods[n]!);
      times[n]!.push(n.startsWith('action-hash-base') ? actionMs.at(-1)! : r.ms);
      values[n] = r.value;
      if ([OPENSSL, 'c2c content', ACTION].includes(n) && othersShare(before, r.ms) > QUIET) noisy = true;
    }
    const o = times[OPENSSL]!.at(-1)!;
    paired.push(times[ACTION]!.at(-1)! / o);
    if (!noisy)
      quiet.push({ content: times['c2c content']!.at(-1)! / o, action: times[ACTION]!.at(-1)! / o });
  }
  const t = Object.fromEntries(names.map((n) => [n, median(times[n]!)]));
  const [openssl, content, action, hashfiles, github] = names.map((n) => t[n]!) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const identical = values['c2c hashfiles'] === values['GitHub hashFiles() (runner algorithm)'];
  const sameContent = values['c2c content'] === values[ACTION];
  console.log(
    `\ntree: ${DIR} (${FILES} files, ${MB} MiB); ${RUNS} runs each, median; ${os.availableParallelism()} cores; node ${process.version}`,
  );
  const rows = [
    ['method', 'median ms', 'all runs ms'],
    ...names.map((n) => [n, t[n]!.toFixed(0), times[n]!.map((x) => x.toFixed(0)).join(' ')]),
  ];
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
  console.log('');
  console.log(
    `content / openssl      = ${(content / openssl).toFixed(2)}x   (target <= 1.5x)  ${content / openssl <= 1.5 ? 'OK' : 'MISSED'}`,
  );
  console.log(
    `action / openssl       = ${(action / openssl).toFixed(2)}x   (target <= 1.5x)  ${action / openssl <= 1.5 ? 'OK' : 'MISSED'}   the whole action process; median of per-run ratios ${median(paired).toFixed(2)}x (${paired.map((x) => x.toFixed(2)).join(' ')})`,
  );
  console.log(
    quiet.length > 0
      ? `quiet rounds (others used < ${QUIET * 100}% of the machine): ${quiet.length} of ${RUNS}; median ratios there: content / openssl ${median(quiet.map((q) => q.content)).toFixed(2)}x, action / openssl ${median(quiet.map((q) => q.action)).toFixed(2)}x`
      : `no quiet round (others used >= ${QUIET * 100}% of the machine in every one): the ratios above are noisy`,
  );
  console.log(
    `GitHub / hashfiles     = ${(github / hashfiles).toFixed(2)}x   (target >= 4x)    ${github / hashfiles >= 4 ? 'OK' : 'MISSED'}`,
  );
  console.log(`action hash == content = ${sameContent ? 'identical' : 'DIFFERENT'}`);
  console.log(
    `hashfiles == GitHub    = ${identical ? 'identical' : 'DIFFERENT'} (${values['c2c hashfiles']})`,
  );
  if (!identical || !sameContent) process.exitCode = 1;
}

await main();
