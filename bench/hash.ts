/**
 * Benchmark of the hashing engine, printing times and ratios measured side by side in one run.
 *
 *   npx tsx bench/hash.ts                        # 20,000 files, 1 GiB (the figures)
 *   BENCH_FILES=2000 BENCH_MB=64 npx tsx bench/hash.ts   # a quick smoke run
 *   BENCH_RUNS=5 (default 3)   BENCH_DIR=/path (default <tmpdir>/c2c-bench-tree-<files>-<mb>)
 *
 * The tree is generated once (seeded, so it is the same every time) and reused between runs.
 * Targets (issue 2): `content` within 1.5x of `find | xargs -0 -P2 openssl dgst -sha256`;
 * `hashfiles` at least 4x faster than GitHub's own algorithm, with the identical hash.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hashFiles } from '../src/hashing/index.js';
import { githubHashFiles } from '../test/fixtures/hashing/github-hashfiles.js';

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

async function main() {
  generate();
  const patterns = ['**', '!.c2c-bench-complete'];
  const methods: Record<string, () => Promise<string>> = {
    'openssl (find | xargs -0 -P2 openssl dgst -sha256)': async () => {
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
    'c2c hashfiles': async () => (await hashFiles({ workspace: DIR, patterns, mode: 'hashfiles' })).hash,
    'GitHub hashFiles() (runner algorithm)': async () =>
      (await githubHashFiles(DIR, patterns.join('\n'))).hash,
  };
  const names = Object.keys(methods);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const values: Record<string, string> = {};
  // Warm the page cache once, then alternate the methods so drift hits all of them alike.
  await methods[names[0]!]!();
  for (let run = 0; run < RUNS; run++) {
    for (const n of names) {
      const r = await time(methods[n]!);
      times[n]!.push(r.ms);
      values[n] = r.value;
    }
  }
  const t = Object.fromEntries(names.map((n) => [n, median(times[n]!)]));
  const [openssl, content, hashfiles, github] = names.map((n) => t[n]!) as [number, number, number, number];
  const identical = values['c2c hashfiles'] === values['GitHub hashFiles() (runner algorithm)'];
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
    `GitHub / hashfiles     = ${(github / hashfiles).toFixed(2)}x   (target >= 4x)    ${github / hashfiles >= 4 ? 'OK' : 'MISSED'}`,
  );
  console.log(
    `hashfiles == GitHub    = ${identical ? 'identical' : 'DIFFERENT'} (${values['c2c hashfiles']})`,
  );
  if (!identical) process.exitCode = 1;
}

await main();
