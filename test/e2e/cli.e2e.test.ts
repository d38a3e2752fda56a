// The bundled `c2c` CLI (cli/dist/index.js), run as a user runs it, on every Node.js version it
// supports (package.json engines: 20, 22 and 24; see test/helpers/node-versions.ts).
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { makeRootImage } from '../helpers/base-image.js';
import { CLI_NODE_MAJORS, nodeBinaries } from '../helpers/node-versions.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { haveTools } from '../helpers/tools.js';
import { ROOT } from './runner.js';

const CLI = path.join(ROOT, 'cli/dist/index.js');
const nodes = nodeBinaries();

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function c2c(
  node: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string> },
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...opts.env,
    };
    const child = spawn(node, [CLI, ...args], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

let ws: string;

beforeAll(async () => {
  ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-cli-'));
  await mkdir(path.join(ws, 'k8s/extra'), { recursive: true });
  await writeFile(
    path.join(ws, 'k8s/b-config.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b-config\ndata:\n  k: v\n',
  );
  await writeFile(
    path.join(ws, 'k8s/a-config.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a-config\ndata:\n  k: v\n',
  );
  await writeFile(path.join(ws, 'k8s/notes.txt'), 'not a manifest\n');
  await writeFile(
    path.join(ws, 'k8s/extra/c-config.yml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c-config\n',
  );
  await writeFile(path.join(ws, 'requirements.txt'), 'flask==3.0.3\n');
  await writeFile(path.join(ws, 'requirements-dev.txt'), 'pytest==8.3.3\n');
});
afterAll(async () => {
  if (ws) await rm(ws, { recursive: true, force: true });
});

it('covers every Node.js major the CLI declares it supports', async () => {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
    engines: { node: string };
  };
  expect(pkg.engines.node).toBe('20 || 22 || >=24');
  expect(nodes.map((n) => n.major)).toEqual([...CLI_NODE_MAJORS]);
});

describe.each(nodes)('c2c on Node $major', ({ major, bin, version }) => {
  const run = (args: string[], env?: Record<string, string>) =>
    c2c(bin!, args, { cwd: ws, ...(env ? { env } : {}) });

  it.skipIf(!bin)('reports the Node version it runs on', async () => {
    const r = await c2c(bin!, ['--help'], { cwd: ws });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: c2c <command>/);
    expect(version!.startsWith(`${major}.`)).toBe(true);
  });

  it.skipIf(!bin)('expands manifest globs (deploy --render)', async () => {
    const r = await run(['deploy', '--manifests', 'k8s/*.yaml', '--render']);
    expect(r.code, r.stderr).toBe(0);
    const names = YAML.parseAllDocuments(r.stdout).map(
      (d) => (d.toJS() as { metadata: { name: string } }).metadata.name,
    );
    expect(names).toEqual(['a-config', 'b-config']);
    const all = await run(['deploy', '--manifests', 'k8s/**/*.{yaml,yml}', '--render']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain('name: c-config');
    const none = await run(['deploy', '--manifests', 'k8s/*.json', '--render']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("Input 'manifests': nothing matched 'k8s/*.json'");
  });

  it.skipIf(!bin)('parses flags: --name value, --name=value, a flag given twice adds a line', async () => {
    const r = await run([
      'deploy',
      '--manifests=k8s/a-config.yaml',
      '--manifests',
      'k8s/b-*.yaml',
      '--render',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('name: a-config');
    expect(r.stdout).toContain('name: b-config');
    const ws2 = await run(['hash-base', '--workspace', 'k8s', '--files', '*.yaml', '--json']);
    expect(ws2.code, ws2.stderr).toBe(0);
    expect((JSON.parse(ws2.stdout) as Record<string, string>)['files-count']).toBe('2');
  });

  it.skipIf(!bin)('bad usage: exit code 2 and one line that names the flag', async () => {
    const cases: Array<[string[], string]> = [
      [['deploy', '--manifests', 'k8s/', '--bogus', 'x'], "c2c deploy: unknown flag '--bogus'"],
      [['deploy', '--manifests'], "c2c deploy: flag '--manifests' needs a value"],
      [['deploy', '--manifests', 'k8s/', '--json=yes'], "c2c deploy: flag '--json' takes no value"],
      [['deploy', 'k8s/'], "c2c deploy: unexpected argument 'k8s/'"],
      [['hash-base', '--files', 'x', '--render'], "c2c hash-base: --render is a flag of 'c2c deploy'"],
      [['nope'], "c2c: unknown command 'nope'"],
      [[], 'usage: c2c <command>'],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.split('\n')[0]).toContain(message);
      expect(r.stdout).toBe('');
    }
  });

  it.skipIf(!bin)('--help per command, whatever else is on the line', async () => {
    for (const args of [
      ['deploy', '--help'],
      ['deploy', '-h', '--bogus'],
      ['help', 'deploy'],
    ]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^usage: c2c deploy \[flags\]/);
      expect(r.stdout).toMatch(/--kubeconfig PATH\s+.*kubeconfig file/);
      expect(r.stdout).toContain('--render');
    }
    const hb = await run(['hash-base', '--help']);
    expect(hb.code).toBe(0);
    expect(hb.stdout).toMatch(/^usage: c2c hash-base \[flags\]/);
    expect(hb.stdout).not.toContain('--render');
  });

  it.skipIf(!bin)(
    'plans without a cluster (plan --json: the diff skipped), and has feature-env',
    async () => {
      const r = await run(
        ['plan', '--manifests', 'k8s/*.yaml', '--hash-files', 'requirements*.txt', '--json'],
        {
          KUBECONFIG: path.join(ws, 'no-such-kubeconfig'),
        },
      );
      expect(r.code, r.stderr).toBe(0);
      const plan = JSON.parse(r.stdout) as {
        base: { hash: string; 'files-count': number };
        manifests: Array<{ metadata: { name: string } }>;
        diff: { status: string };
      };
      expect(plan.base.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(plan.base['files-count']).toBe(2);
      expect(plan.manifests.map((m) => m.metadata.name)).toEqual(['a-config', 'b-config']);
      expect(plan.diff.status).toBe('skipped');
      const fe = await run(['feature-env', 'list', '--help']);
      expect(fe.code).toBe(0);
      expect(fe.stdout).toMatch(/^usage: c2c feature-env list \[flags\]/);
    },
  );

  it.skipIf(!bin)('hashes (hash-base --json)', async () => {
    const r = await run(['hash-base', '--files', 'requirements*.txt', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, string>;
    expect(out.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(out['files-count']).toBe('2');
  });
});

describe.skipIf(!haveTools('docker-registry', 'buildah', 'busybox'))(
  'c2c builds (builder auto past a hung docker, buildah, a build secret, a pinned digest) on each Node',
  () => {
    let reg: RegistryServer;
    let root: string;
    const SECRET = 'cli-secret-7c6b5a4d3e2f';

    let fakeBin: string;

    beforeAll(async () => {
      // A docker CLI whose daemon never answers: builder auto must give up on it after its probe's
      // timeout (exec's timeout, which works on every Node) and build with buildah.
      fakeBin = path.join(ws, 'fake-bin');
      await mkdir(fakeBin, { recursive: true });
      await writeFile(path.join(fakeBin, 'docker'), '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
      reg = await startRegistry();
      root = await makeRootImage(reg.host, 'cli/root');
      await mkdir(path.join(ws, 'app'), { recursive: true });
      await writeFile(
        path.join(ws, 'app/Dockerfile'),
        [
          'ARG BASE_IMAGE',
          'FROM ${BASE_IMAGE}',
          'RUN --mount=type=secret,id=token test -s /run/secrets/token && echo built > /built',
          '',
        ].join('\n'),
      );
      await writeFile(
        path.join(ws, 'app/deploy.yaml'),
        [
          'apiVersion: apps/v1',
          'kind: Deployment',
          'metadata: {name: app}',
          'spec:',
          '  selector: {matchLabels: {app: app}}',
          '  template:',
          '    metadata: {labels: {app: app}}',
          '    spec:',
          `      containers: [{name: app, image: "${reg.host}/cli/app:placeholder"}]`,
          '',
        ].join('\n'),
      );
    });
    afterAll(async () => {
      await reg?.stop();
    });

    it.each(nodes)('Node $major', async ({ major, bin }) => {
      if (!bin) return;
      const r = await c2c(
        bin,
        [
          'deploy',
          '--render',
          '--manifests',
          'app/*.yaml',
          '--build-context',
          'app',
          '--image',
          `${reg.host}/cli/app`,
          '--tag',
          `node${major}`,
          '--base-image',
          root,
          '--builder',
          'auto',
          '--secrets',
          `token=${SECRET}`,
          '--verbose',
        ],
        { cwd: ws, env: { PATH: `${fakeBin}:${process.env.PATH}` } },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        'builder auto: buildah, since the Docker daemon is not reachable (did not answer within 5000 ms)',
      );
      const digest = /^digest=(sha256:[0-9a-f]{64})$/m.exec(r.stderr)?.[1];
      expect(digest, r.stderr).toBeDefined();
      expect(r.stdout).toContain(`image: ${reg.host}/cli/app@${digest}`);
      expect(r.stdout + r.stderr).not.toContain(SECRET);
      const m = await fetch(`${reg.url}/v2/cli/app/manifests/node${major}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      expect(m.headers.get('docker-content-digest')).toBe(digest);
    });
  },
);

describe.skipIf(!haveTools('openssl'))(
  'c2c deploy --kubeconfig PATH (a file, as for kubectl) on each Node',
  () => {
    let fake: KubeFake;
    let home: string;

    beforeAll(async () => {
      fake = await startKubeFake({ auth: 'token', readyDelayMs: 0 });
      // A kubeconfig whose CA and token are files next to it, named relative to it (as kubectl reads them).
      home = path.join(ws, 'home');
      await mkdir(path.join(home, 'kube'), { recursive: true });
      await writeFile(path.join(home, 'kube/ca.crt'), fake.ca);
      await writeFile(path.join(home, 'kube/token'), fake.token);
      await writeFile(
        path.join(home, 'kube/config'),
        YAML.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'fake', cluster: { server: fake.url, 'certificate-authority': 'ca.crt' } }],
          users: [{ name: 'u', user: { tokenFile: 'token' } }],
          contexts: [{ name: 'c', context: { cluster: 'fake', user: 'u', namespace: 'default' } }],
          'current-context': 'c',
        }),
      );
    });
    afterAll(async () => {
      await fake?.stop();
    });

    it.each(nodes)('Node $major', async ({ major, bin }) => {
      if (!bin) return;
      const env = { HOME: home, KUBECONFIG: path.join(ws, 'no-such-kubeconfig') };
      const name = `cm-node${major}`;
      await writeFile(
        path.join(ws, `${name}.yaml`),
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  k: v\n`,
      );
      // A path relative to the current directory, and one with ~ (not expanded by a shell after '=').
      for (const flag of [['--kubeconfig', 'home/kube/config'], ['--kubeconfig=~/kube/config']]) {
        const r = await c2c(bin, ['deploy', '--manifests', `${name}.yaml`, ...flag], { cwd: ws, env });
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toMatch(/^result=success$/m);
        expect(r.stdout + r.stderr).not.toContain(fake.token);
      }
      expect(fake.get('v1', 'ConfigMap', 'default', name)).toBeDefined();
      const missing = await c2c(bin, ['deploy', '--manifests', `${name}.yaml`, '--kubeconfig', 'kube.yaml'], {
        cwd: ws,
        env,
      });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(
        `Input 'kubeconfig': 'kube.yaml' is not a file (looked for ${path.join(ws, 'kube.yaml')}). Expected the path of a kubeconfig file`,
      );
      const both = await c2c(
        bin,
        [
          'deploy',
          '--manifests',
          `${name}.yaml`,
          '--kubeconfig',
          'home/kube/config',
          '--cluster-name',
          'prod',
        ],
        { cwd: ws, env },
      );
      expect(both.code).toBe(1);
      expect(both.stderr).toContain("Input 'kubeconfig': and 'cluster-name' are both set");
    });
  },
);
