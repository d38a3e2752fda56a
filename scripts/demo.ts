// The README's first command (scripts/demo.sh runs this): the main job on examples/sample-app.
// 1. a local registry (the real docker-registry) on 127.0.0.1:5000 (or a free port)
// 2. a root image made from Debian's busybox-static (nothing is pulled from the internet)
// 3. c2c hash-base, twice, through the bundled CLI: the first run builds and pushes the base image,
//    the second finds it and skips the build. Both decisions and their timings are printed.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry } from '../test/helpers/registry.js';
import { makeRootImage } from '../test/helpers/base-image.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const APP = path.join(ROOT, 'examples/sample-app');
const CLI = path.join(ROOT, 'cli/dist/index.js');

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function c2c(args: string[]): Promise<{ code: number; ms: number; outputs: Record<string, string> }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - start;
      resolve({
        code: code ?? 1,
        ms,
        outputs: code === 0 ? (JSON.parse(out) as Record<string, string>) : {},
      });
    });
  });
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

async function main() {
  const registry = await startRegistry((await portFree(5000)) ? { port: 5000 } : {});
  try {
    console.log(`registry: ${registry.url}`);
    const t0 = performance.now();
    const root = await makeRootImage(registry.host, 'sample-app/root');
    console.log(`root image (busybox-static): ${root} in ${secs(performance.now() - t0)}`);
    const args = [
      'hash-base',
      '--workspace',
      APP,
      '--files',
      'requirements.txt',
      '--files',
      'Dockerfile.base',
      '--image',
      `${registry.host}/sample-app/base`,
      '--build',
      'true',
      '--build-args',
      `ROOT_IMAGE=${root}`,
      '--builder',
      'buildah',
    ];
    const runs = [];
    for (const label of ['first run', 'second run']) {
      console.log(`\n=== hash-base, ${label} ===`);
      const r = await c2c(args);
      if (r.code !== 0) throw new Error(`c2c hash-base (${label}) failed with exit code ${r.code}`);
      runs.push({ label, ...r });
    }
    console.log('\n=== decisions ===');
    console.log('run         decision  needs-build  built  time     image');
    for (const r of runs) {
      const decision = r.outputs['needs-build'] === 'true' ? 'build' : 'skip';
      console.log(
        `${r.label.padEnd(11)} ${decision.padEnd(9)} ${r.outputs['needs-build']!.padEnd(12)} ${r.outputs.built!.padEnd(6)} ${secs(r.ms).padEnd(8)} ${r.outputs['image-ref']}@${r.outputs.digest}`,
      );
    }
    const [first, second] = runs;
    console.log(
      `\nthe second run took ${(first!.ms / second!.ms).toFixed(1)}x less time than the first: the dependencies did not change.`,
    );
    if (first!.outputs.built !== 'true' || second!.outputs['needs-build'] !== 'false')
      throw new Error('expected build then skip');
  } finally {
    await registry.stop();
  }
}

main().catch((e) => {
  console.error(`demo failed: ${(e as Error).message}`);
  process.exitCode = 1;
});
