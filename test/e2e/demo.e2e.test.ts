import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveTools } from '../helpers/tools.js';
import { CLUSTER_SETUP_TIMEOUT_MS, haveCluster } from '../helpers/shared-cluster.js';
import { binDir } from '../helpers/cluster-build.js';
import { writeFakeGo } from '../helpers/fake-go.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The processes whose command line names `dir` (what the demo started keeps its files there). */
function processesUsing(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(dir)) found.push(`${pid}: ${cmd}`);
    } catch {
      // gone
    }
  }
  return found;
}

// The README's first command, as a user runs it on a first run. --local: the control plane of the
// demo's own even where a kubeconfig exists (a test never deploys to the developer's cluster). A
// cache of the test's own is empty, so the demo builds the control plane; the go first on PATH is
// the stand-in of test/helpers/fake-go.ts, which takes 15 s and copies the binaries this machine
// built (the real build is what test/cluster runs on). About a minute.
describe.skipIf(!haveTools('docker-registry', 'buildah', 'busybox') || !haveCluster())(
  'scripts/demo.sh --local',
  () => {
    let tmp: string;
    let fakeBin: string;
    beforeAll(async () => {
      tmp = await mkdtemp(path.join(os.tmpdir(), 'c2c-demo-test-'));
      fakeBin = await mkdtemp(path.join(os.tmpdir(), 'c2c-demo-go-'));
      await writeFakeGo(fakeBin);
    });
    afterAll(async () => {
      if (tmp) await rm(tmp, { recursive: true, force: true });
      if (fakeBin) await rm(fakeBin, { recursive: true, force: true });
    });

    it(
      'builds the control plane while it builds the images, deploys the sample app to it, rolls a broken image back, and leaves nothing running',
      async () => {
        // Everything the demo makes goes under its own TMPDIR: its processes are found by that path.
        const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
          const child = spawn('bash', ['scripts/demo.sh', '--local'], {
            cwd: ROOT,
            env: {
              ...process.env,
              TMPDIR: tmp,
              XDG_CACHE_HOME: path.join(tmp, 'cache'),
              PATH: `${fakeBin}${path.delimiter}${process.env.PATH}`,
              FAKE_GO_COPY_FROM: binDir(),
              FAKE_GO_MS: '15000',
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let output = '';
          child.stdout.on('data', (d) => (output += d));
          child.stderr.on('data', (d) => (output += d));
          child.on('close', (c) => resolve({ code: c, output }));
        });
        expect(code, output).toBe(0);
        // The build started first, ran in the background while hash-base built the base image, and
        // the deploy waited for it.
        const lines = output.split('\n');
        const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
        const buildStarts = at(/\[control plane\] .*3 go builds/);
        const hashBase = at(/^=== c2c hash-base, /);
        const kubeBuilt = at(/\[control plane\] .*kubernetes \(kube-apiserver.*\): done in/);
        const deploy = at(/^=== c2c deploy: the sample app to the local control plane/);
        expect(buildStarts, output).toBeGreaterThanOrEqual(0);
        expect(buildStarts).toBeLessThan(hashBase);
        expect(kubeBuilt).toBeGreaterThan(hashBase);
        expect(kubeBuilt).toBeLessThan(deploy);
        expect(output).toMatch(/^local control plane: build +\S+ +once per machine, in the background/m);
        expect(output).toMatch(/^first run +build +true +true /m);
        expect(output).toMatch(/^second run +skip +false +false /m);
        for (const service of ['api', 'web', 'worker'])
          expect(output).toContain(`deployment "${service}" successfully rolled out`);
        // The three services in one step; the same step again builds nothing.
        expect(output).toContain('=== deployed in one step: 3 service images, built on the cached base ===');
        expect(output).toMatch(
          /^first run built 3 \((api|web|worker), (api|web|worker), (api|web|worker)\) in [\d.]+s; the second built 0 and reused 3 in/m,
        );
        expect(output).toContain('exit code 1, as expected: the tag resolves to no digest');
        expect(output).toContain('== Why the rollout failed');
        expect(output).toContain('exit code 1, as expected: result=rolled-back, rolled-back=true');
        expect(output).toContain('checked: Deployment/web and each of its pods run the previous image');
        expect(output).toMatch(/^=== timings ===$/m);
        // Nothing runs on, and the demo's work dir (the control plane's files) is gone.
        expect(processesUsing(tmp)).toEqual([]);
        expect((await readdir(tmp)).filter((f) => f.startsWith('c2c-demo.'))).toEqual([]);
      },
      CLUSTER_SETUP_TIMEOUT_MS + 5 * 60_000,
    );
  },
);
