// The README's first command (scripts/demo.sh runs this): the main job on examples/sample-app.
// 1. a local registry (the real docker-registry) on 127.0.0.1:5000 (or a free port)
// 2. a root image made from Debian's busybox-static (nothing is pulled from the internet)
// 3. c2c hash-base, twice, through the bundled CLI: the first run builds and pushes the base image,
//    the second finds it and skips the build. Both decisions and their timings are printed.
// 4. c2c deploy for each service: build its image on the base and push it, pin the manifests to the
//    pushed digests. With a kubeconfig ($KUBECONFIG or ~/.kube/config) it deploys to that cluster;
//    without one (--render) it prints exactly what would be applied.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry } from '../test/helpers/registry.js';
import { makeRootImage } from '../test/helpers/base-image.js';
import { privateBuildahStore } from '../test/helpers/buildah-store.js';

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

/** Runs the bundled CLI; with --json stdout is the outputs, with --render it is the YAML. */
function c2c(
  args: string[],
): Promise<{ code: number; ms: number; stdout: string; outputs: Record<string, string> }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - start;
      const outputs =
        code === 0 && args.includes('--json') ? (JSON.parse(out) as Record<string, string>) : {};
      resolve({ code: code ?? 1, ms, stdout: out, outputs });
    });
  });
}

function kubeconfigPresent(): boolean {
  const first = process.env.KUBECONFIG?.split(':').find(Boolean);
  return first ? existsSync(first) : existsSync(path.join(os.homedir(), '.kube/config'));
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

async function main() {
  const registry = await startRegistry((await portFree(5000)) ? { port: 5000 } : {});
  // A builder store of the demo's own, empty like a fresh CI runner's: the first base build pays the
  // slow dependency step for real. It is removed at the end.
  const store = await privateBuildahStore('demo');
  Object.assign(process.env, store.env);
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
      const r = await c2c([...args, '--json']);
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

    // The services: each image built FROM the base just decided on, pushed, and the manifests pinned.
    const baseRef = `${second!.outputs['image-ref']}`;
    const deploy = kubeconfigPresent();
    // The manifests name the registry 127.0.0.1:5000; on another port, a copy names the real one.
    let workspace = APP;
    if (registry.host !== '127.0.0.1:5000') {
      workspace = await mkdtemp(path.join(os.tmpdir(), 'c2c-demo-app-'));
      await cp(APP, workspace, { recursive: true });
      for (const f of await readdir(path.join(workspace, 'k8s'))) {
        const p = path.join(workspace, 'k8s', f);
        await writeFile(p, (await readFile(p, 'utf8')).replaceAll('127.0.0.1:5000/', `${registry.host}/`));
      }
    }
    console.log(
      `\n=== c2c deploy ${deploy ? '(a kubeconfig is present: deploying)' : '--render (no kubeconfig: printing what would be applied)'} ===`,
    );
    const built: Array<{ service: string; ms: number; image: string }> = [];
    const documents: string[] = [];
    for (const service of ['api', 'web', 'worker']) {
      // prettier-ignore
      const r = await c2c([
        'deploy',
        '--workspace', workspace,
        '--manifests', `k8s/${service}.yaml`,
        '--namespace', 'sample-app',
        '--build-context', `services/${service}`,
        '--image', `${registry.host}/sample-app/${service}`,
        '--tag', 'demo',
        '--base-image', baseRef,
        '--builder', 'buildah',
        ...(deploy ? ['--json'] : ['--render']),
      ]);
      if (r.code !== 0) throw new Error(`c2c deploy (${service}) failed with exit code ${r.code}`);
      const image = deploy
        ? (r.outputs.image ?? '')
        : (/image: (\S+@sha256:[0-9a-f]{64})/.exec(r.stdout)?.[1] ?? '');
      built.push({ service, ms: r.ms, image });
      if (!deploy) documents.push(r.stdout.trim());
    }
    if (!deploy) console.log(`\n=== what would be applied ===\n${documents.join('\n')}`);
    console.log('\n=== service images, built on the cached base ===');
    for (const b of built) console.log(`${b.service.padEnd(7)} ${secs(b.ms).padStart(7)}  ${b.image}`);
    if (workspace !== APP) await rm(workspace, { recursive: true, force: true });
  } finally {
    await registry.stop();
    await store.remove();
  }
}

main().catch((e) => {
  console.error(`demo failed: ${(e as Error).message}`);
  process.exitCode = 1;
});
