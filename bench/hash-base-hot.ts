// The unchanged-dependency path of action-hash-base: hash plus one registry HEAD, the tag exists.
// Target: the whole action process under 150 ms (issue 13). Measured side by side with a bare `node -e ''` start
// (the floor any action process pays) and printed as times and ratios.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRegistry } from '../test/helpers/registry.js';
import { pushSyntheticImage } from '../test/helpers/oci.js';
import { runAction, ROOT } from '../test/e2e/runner.js';
import { hashFiles } from '../src/fingerprint/index.js';
import { spawnSync } from 'node:child_process';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const reg = await startRegistry();
const ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-bench-hot-'));
try {
  // A realistic dependency set: a lockfile of ~1 MB and a few requirement files.
  await writeFile(
    path.join(ws, 'package-lock.json'),
    JSON.stringify({
      packages: Object.fromEntries(
        Array.from({ length: 8000 }, (_, i) => [
          `node_modules/pkg-${i}`,
          { version: `1.0.${i}`, integrity: `sha512-${'x'.repeat(88)}` },
        ]),
      ),
    }),
  );
  for (const f of ['requirements.txt', 'requirements-dev.txt', 'Dockerfile.base'])
    await writeFile(path.join(ws, f), `${f}\n`);
  const files = 'package-lock.json\nrequirements*.txt\nDockerfile.base';
  const { hash } = await hashFiles({ workspace: ws, patterns: files.split('\n'), mode: 'content' });
  const tag = `deps-${hash.slice(0, 16)}`;
  await pushSyntheticImage(reg.url, 'bench/app-base', tag);

  const node = path.join(ROOT, 'node_modules/.bin/node');
  const bare: number[] = [];
  const action: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    spawnSync(node, ['-e', '']);
    bare.push(performance.now() - t);
    t = performance.now();
    const r = await runAction('action-hash-base', {
      inputs: { files, image: `${reg.host}/bench/app-base` },
      workspace: ws,
    });
    action.push(performance.now() - t);
    if (r.code !== 0 || r.outputs['needs-build'] !== 'false')
      throw new Error(`unexpected result: ${r.stdout}${r.stderr}`);
  }
  const a = median(action);
  const b = median(bare);
  console.log(`hash-base, unchanged dependencies (hash + one HEAD, tag exists), median of ${RUNS}:`);
  console.log(`  node -e ''            ${b.toFixed(0).padStart(6)} ms   1.00x`);
  console.log(
    `  action process        ${a.toFixed(0).padStart(6)} ms   ${(a / b).toFixed(2)}x of a bare node start`,
  );
  console.log(`  target: under 150 ms -> ${a < 150 ? 'met' : 'NOT met'}`);
} finally {
  await reg.stop();
  await rm(ws, { recursive: true, force: true });
}
