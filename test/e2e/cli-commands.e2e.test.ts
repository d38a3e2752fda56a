// The bundled `c2c` CLI (cli/dist/index.js) as a user runs it: `feature-env up|down|reap|list` and
// `plan` against the genuine control plane, the real registry and the GitHub fake; bad usage, help,
// exit codes; progress on a terminal (a real pty through `script`) and plain lines elsewhere; and
// `npx commit-to-cloud` / `npx c2c` from the checkout.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { nullLogger } from '../../src/core/logger.js';
import { KubeClient, loadKubeconfig } from '../../src/kube/index.js';
import { A_REPOSITORY, MANAGED, PR_LABEL } from '../../src/featureenv/state.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { nodeBinaries } from '../helpers/node-versions.js';
import { pushSyntheticImage } from '../helpers/oci.js';
import { makeRootImage } from '../helpers/base-image.js';
import { privateBuildahStore } from '../helpers/buildah-store.js';
import { serviceNames } from '../../scripts/many-services.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import {
  CLUSTER_SETUP_TIMEOUT_MS,
  haveCluster,
  sharedCluster,
  testNamespace,
} from '../helpers/shared-cluster.js';
import type { Cluster } from '../helpers/cluster.js';
import { haveTools } from '../helpers/tools.js';
import { ROOT } from './runner.js';
import { setShort } from '../../src/featureenv/state.js';

const CLI = path.join(ROOT, 'cli/dist/index.js');
/** The project's Node 24 (the CLI's other Node versions are covered by cli.e2e.test.ts). */
const NODE = nodeBinaries().find((n) => n.major === 24)?.bin ?? process.execPath;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  file: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string | undefined> },
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const child = spawn(file, args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

const c2c = (args: string[], opts: { cwd: string; env?: Record<string, string | undefined> }) =>
  run(NODE, [CLI, ...args], opts);

/** `name=value` output lines. */
const outputs = (stdout: string) =>
  Object.fromEntries(
    stdout
      .split('\n')
      .map((l) => /^([a-z-]+)=(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => [m[1]!, m[2]!]),
  );

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

const ingress = (name: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name },
  spec: {
    rules: [
      {
        host: `${name}.example.com`,
        http: {
          paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 80 } } } }],
        },
      },
    ],
  },
});

let ws: string;
let head: string;
/** A repository of this file's own: reap acts on every environment of a repository, whatever its prefix. */
const REPO = `shop-cli-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-cli-cmd-'));
  await mkdir(path.join(ws, 'k8s'));
  await writeFile(
    path.join(ws, 'k8s/app.yaml'),
    [deploymentManifest('api', 'registry.example:5000/shop/api:main', { replicas: 1 }), ingress('api')]
      .map((o) => YAML.stringify(o))
      .join('---\n'),
  );
  await writeFile(path.join(ws, 'requirements.txt'), 'flask==3.0.3\n');
  // A checkout of acme/<REPO>: the repository and the commit come from git.
  git(ws, 'init', '-q');
  git(ws, 'add', '.');
  git(ws, 'commit', '-qm', 'init');
  git(ws, 'remote', 'add', 'origin', `git@github.com:acme/${REPO}.git`);
  head = git(ws, 'rev-parse', 'HEAD');
});
afterAll(async () => {
  if (ws) await rm(ws, { recursive: true, force: true });
});

describe('c2c: bad usage exits 2 with one line that names the flag; --help exits 0', () => {
  it('for every command', async () => {
    const noRepo = await mkdtemp(path.join(os.tmpdir(), 'c2c-norepo-'));
    const cases: Array<[string[], string, string?]> = [
      [['hash-base'], "c2c hash-base: flag '--files' is required"],
      [['deploy', '--render'], "c2c deploy: flag '--manifests' or '--chart' is required"],
      [['plan'], "c2c plan: flag '--manifests' or '--chart' is required"],
      [['plan', '--manifests', 'k8s/', '--hash-image', 'r/b'], "c2c plan: flag '--hash-files' is required"],
      [['plan', '--manifests', 'k8s/', '--dry-run', 'true'], "c2c plan: --dry-run is a flag of 'c2c deploy'"],
      [['plan', '--manifests', 'k8s/', '--files', 'x'], "c2c plan: --files is a flag of 'c2c hash-base'"],
      [['feature-env'], 'c2c feature-env: which one? up, down, reap, list'],
      [['feature-env', 'start'], "c2c feature-env: unknown command 'start'"],
      [['feature-env', 'up', '--manifests', 'k8s/'], "c2c feature-env up: flag '--pull-request' is required"],
      [['feature-env', 'up', '--pull-request', '3'], "c2c feature-env up: flag '--manifests' is required"],
      [
        ['feature-env', 'up', '--pull-request', '3', '--manifests', 'k8s/', '--command', 'down'],
        "unknown flag '--command'",
      ],
      [['feature-env', 'down'], "c2c feature-env down: flag '--pull-request' is required"],
      [
        ['feature-env', 'reap', '--pull-request', '3'],
        "c2c feature-env reap: --pull-request is a flag of 'c2c feature-env up'",
      ],
      [
        ['feature-env', 'list', '--manifests', 'k8s/'],
        "c2c feature-env list: --manifests is a flag of 'c2c deploy'",
      ],
      [
        ['feature-env', 'list', '--repository', 'shop'],
        "flag '--repository': 'shop' is not of the form owner/repo",
      ],
      [['feature-env', 'list'], "c2c feature-env list: flag '--repository' is required here", noRepo],
    ];
    for (const [args, message, cwd] of cases) {
      const r = await c2c(args, { cwd: cwd ?? ws, env: { GITHUB_REPOSITORY: undefined } });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.split('\n')[0]).toContain(message);
      expect(r.stdout).toBe('');
    }
    await rm(noRepo, { recursive: true, force: true });
  });

  it('hash-base and deploy: 0 on success, 1 on a failure (a value refused, a registry that does not answer)', async () => {
    const ok = await c2c(['hash-base', '--files', 'requirements.txt'], { cwd: ws });
    expect(ok.code, ok.stderr).toBe(0);
    expect(outputs(ok.stdout).hash).toMatch(/^[0-9a-f]{64}$/);
    const none = await c2c(['hash-base', '--files', 'nope/*.txt'], { cwd: ws });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("Input 'files'");
    const down = await c2c(['hash-base', '--files', 'requirements.txt', '--image', '127.0.0.1:1/shop/base'], {
      cwd: ws,
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('127.0.0.1:1');
    const render = await c2c(['deploy', '--manifests', 'k8s/', '--pin-digests', 'false', '--render'], {
      cwd: ws,
    });
    expect(render.code, render.stderr).toBe(0);
    const bad = await c2c(['deploy', '--manifests', 'k8s/', '--timeout', 'soon', '--render'], { cwd: ws });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Input 'timeout'");
  });

  it('--help of each command, of the group, and `c2c help <command>`', async () => {
    for (const [args, head] of [
      [['plan', '--help'], 'usage: c2c plan [flags]'],
      [['feature-env', 'up', '-h'], 'usage: c2c feature-env up [flags]'],
      [['help', 'feature-env', 'list'], 'usage: c2c feature-env list [flags]'],
      [['feature-env', '--help'], 'usage: c2c feature-env <up|down|reap|list> [flags]'],
      [['--help'], 'usage: c2c <command> [flags]'],
    ] as const) {
      const r = await c2c([...args], { cwd: ws });
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout.startsWith(head), r.stdout).toBe(true);
    }
    const plan = await c2c(['plan', '--help'], { cwd: ws });
    expect(plan.stdout).toContain("hash-base's flags (c2c hash-base --help), each prefixed with hash-");
    expect(plan.stdout).toMatch(/--hash-files\n/);
    expect(plan.stdout).toMatch(/--kubeconfig PATH\n/);
  });
});

describe('npx from the checkout (package.json bin: commit-to-cloud and c2c)', () => {
  it('bin names the bundled CLI: executable in git, with a shebang', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin).toEqual({ c2c: 'cli/dist/index.js', 'commit-to-cloud': 'cli/dist/index.js' });
    expect((await readFile(CLI, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(git(ROOT, 'ls-files', '-s', 'cli/dist/index.js')).toMatch(/^100755 /);
  });

  it.each(['commit-to-cloud', 'c2c'])(
    'npx --no-install %s --help: the local package, offline, with an empty npm cache',
    async (bin) => {
      const cache = await mkdtemp(path.join(os.tmpdir(), 'c2c-npm-cache-'));
      try {
        const r = await run('npx', ['--no-install', bin, '--help'], {
          cwd: ROOT,
          env: { npm_config_cache: cache, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
        });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/^usage: c2c <command> \[flags\]/);
        expect(r.stdout).toContain('feature-env up');
        const exec = await run('npm', ['exec', '--offline', '--', bin, 'plan', '--help'], {
          cwd: ROOT,
          env: { npm_config_cache: cache, npm_config_update_notifier: 'false' },
        });
        expect(exec.code, exec.stderr).toBe(0);
        expect(exec.stdout).toMatch(/^usage: c2c plan \[flags\]/);
      } finally {
        await rm(cache, { recursive: true, force: true });
      }
    },
  );
});

describe.skipIf(!haveTools('script'))('progress: a status line on a terminal, plain lines elsewhere', () => {
  /** Runs the CLI on a real pseudo-terminal (util-linux `script`), stdout and stderr on it. */
  const onTty = (args: string[], env: Record<string, string> = {}) =>
    run(
      'script',
      ['-qec', [NODE, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' '), '/dev/null'],
      { cwd: ws, env: { TERM: 'xterm', CI: undefined, ...env } },
    );
  const args = ['deploy', '--manifests', 'k8s/', '--pin-digests', 'false', '--render'];

  it('on a terminal: the phase line rewritten (\\r, erase line), then ✓ with its time', async () => {
    const r = await onTty(args);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('\r\x1b[2K');
    expect(r.stdout).toMatch(/✓ Read manifests \d+(\.\d+)?m?s/);
    expect(r.stdout).toContain('kind: Deployment');
  });

  it('in a pipe, and on a terminal under CI=true (CircleCI gives its steps a TTY): plain lines', async () => {
    for (const r of [await c2c(args, { cwd: ws }), await onTty(args, { CI: 'true' })]) {
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toContain('\x1b[');
      expect(r.stdout + r.stderr).toContain('== Read manifests');
      expect(r.stdout + r.stderr).not.toContain('✓');
    }
  });
});

describe.skipIf(!haveCluster())('c2c feature-env on the genuine control plane', () => {
  let cluster: Cluster;
  let admin: KubeClient;
  let kubeconfig: string;
  let gh: GitHubFake;
  const prefix = `cli${randomBytes(2).toString('hex')}-`;
  /** An environment's namespace: the prefix, the short form of the set key, the pull request. */
  const envNs = (n: number) =>
    `${prefix}${setShort({ repository: `acme/${REPO}`, prefix, label: 'feature-env' })}-pr-${n}`;
  const common = () => [
    '--kubeconfig',
    kubeconfig,
    '--namespace-prefix',
    prefix,
    '--pin-digests',
    'false',
    '--domain',
    'preview.example.com',
    '--timeout',
    '60s',
  ];
  /** Without a token up makes an environment only when no check is wanted, said explicitly. */
  const noChecks = ['--allow-forks', 'true', '--required-permission', 'none'];
  const fe = (sub: string, args: string[], env: Record<string, string | undefined> = {}) =>
    c2c(['feature-env', sub, ...args], { cwd: ws, env: { GITHUB_REPOSITORY: undefined, ...env } });

  beforeAll(async () => {
    cluster = await sharedCluster();
    kubeconfig = path.join(ws, 'kubeconfig');
    await writeFile(kubeconfig, cluster.kubeconfig, { mode: 0o600 });
    admin = new KubeClient(await loadKubeconfig({ content: cluster.kubeconfig }, nullLogger), {
      logger: nullLogger,
    });
    gh = await startGitHubFake({ owner: 'acme', repo: REPO });
    gh.collaborators.set('maintainer', 'write');
    gh.collaborators.set('visitor', 'read');
  }, CLUSTER_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await gh?.stop();
  });

  it('up (no token) fails unless no checks are asked for; then up, list, up again (update), reap of the expired one, down: exit 0 each', async () => {
    const unchecked = await fe('up', ['--pull-request', '101', '--manifests', 'k8s/', ...common()]);
    expect(unchecked.code).toBe(1);
    expect(unchecked.stderr).toContain("Input 'token': is empty, so pull request #101 cannot be checked");
    expect(await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: envNs(101) })).toBeUndefined();
    const up = await fe('up', ['--pull-request', '101', '--manifests', 'k8s/', ...common(), ...noChecks]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.stderr).toContain('no GitHub token');
    const o = outputs(up.stdout);
    expect(o).toMatchObject({
      namespace: envNs(101),
      status: 'up',
      url: 'http://api-pr-101.preview.example.com',
    });
    const ns = (await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: o.namespace! }))!;
    expect(ns.metadata.labels).toMatchObject({ [MANAGED]: 'true', [PR_LABEL]: '101' });
    // The repository from the git remote origin.
    expect(ns.metadata.annotations?.[A_REPOSITORY]).toBe(`acme/${REPO}`);

    const short = await fe('up', [
      '--pull-request',
      '102',
      '--manifests',
      'k8s/',
      '--ttl',
      '1s',
      ...common(),
      ...noChecks,
    ]);
    expect(short.code, short.stderr).toBe(0);

    const list = await fe('list', ['--kubeconfig', kubeconfig]);
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^PR\s+STATE\s+SHA\s+AGE\s+EXPIRES\s+URL\s+DATABASE\s+NAMESPACE$/);
    const row = lines.find((l) => l.startsWith('#101 '))!;
    expect(row).toMatch(
      new RegExp(
        `^#101\\s+active\\s+${head.slice(0, 7)}\\s+\\d+s\\s+in (3d|2d23h)\\s+http://api-pr-101.preview.example.com\\s+-\\s+${envNs(101)}$`,
      ),
    );
    const json = await fe('list', ['--kubeconfig', kubeconfig, '--json']);
    expect(json.code).toBe(0);
    const envs = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(envs.find((e) => e['pull-request'] === 101)).toMatchObject({
      namespace: envNs(101),
      state: 'active',
      sha: head,
      expired: false,
      url: 'http://api-pr-101.preview.example.com',
      database: null,
    });

    const again = await fe('up', ['--pull-request', '101', '--manifests', 'k8s/', ...common(), ...noChecks], {
      C2C_REVISION: 'b'.repeat(40),
    });
    expect(again.code, again.stderr).toBe(0);
    expect(outputs(again.stdout).status).toBe('updated');

    await new Promise((r) => setTimeout(r, 1200));
    const reap = await fe('reap', ['--json', ...common()]);
    expect(reap.code, reap.stderr).toBe(0);
    const reaped = JSON.parse(reap.stdout) as {
      status: string;
      removed: Array<Record<string, unknown>>;
      kept: Array<Record<string, unknown>>;
    };
    expect(reaped.status).toBe('reaped');
    expect(reaped.removed).toEqual([expect.objectContaining({ namespace: envNs(102), 'pull-request': 102 })]);
    expect(reaped.kept).toEqual(
      expect.arrayContaining([expect.objectContaining({ namespace: envNs(101), 'pull-request': 101 })]),
    );

    const down = await fe('down', ['--pull-request', '101', ...common()]);
    expect(down.code, down.stderr).toBe(0);
    expect(outputs(down.stdout)).toMatchObject({ status: 'down', namespace: envNs(101) });
    expect(await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: envNs(101) })).toBeUndefined();
    const after = JSON.parse((await fe('list', ['--kubeconfig', kubeconfig, '--json'])).stdout) as Array<{
      namespace: string;
    }>;
    expect(after.map((e) => e.namespace)).not.toContain(envNs(101));
  });

  it('with --token: the pull request checked, its head commit used, one comment and a Deployment; a refusal exits 1', async () => {
    const sha = 'd'.repeat(40);
    gh.addPullRequest({ number: 201, headSha: sha, labels: [] });
    gh.label(201, 'feature-env', 'maintainer');
    const env = { GITHUB_API_URL: gh.url };
    const up = await fe(
      'up',
      ['--pull-request', '201', '--manifests', 'k8s/', '--token', gh.token, '--json', ...common()],
      env,
    );
    expect(up.code, up.stderr).toBe(0);
    const o = JSON.parse(up.stdout) as Record<string, string>;
    expect(o).toMatchObject({ status: 'up', namespace: envNs(201), 'pull-request': 201 });
    expect(up.stdout + up.stderr).not.toContain(gh.token);
    const comments = gh.comments.filter((c) => c.issue === 201);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('http://api-pr-201.preview.example.com');
    const d = gh.deployments.find((x) => String(x.id) === o['deployment-id'])!;
    expect(d).toMatchObject({ environment: 'feature-env/pr-201', sha });
    const list = JSON.parse((await fe('list', ['--kubeconfig', kubeconfig, '--json'])).stdout) as Array<
      Record<string, unknown>
    >;
    expect(list.find((e) => e['pull-request'] === 201)).toMatchObject({ sha });

    const down = await fe('down', ['--pull-request', '201', '--token', gh.token, ...common()], env);
    expect(down.code, down.stderr).toBe(0);
    expect(gh.comments.filter((c) => c.issue === 201)).toHaveLength(1);
    expect(gh.comments.find((c) => c.issue === 201)!.body).toMatch(/removed/i);

    gh.addPullRequest({ number: 202, headSha: sha, labels: [] });
    gh.label(202, 'feature-env', 'visitor');
    const refused = await fe(
      'up',
      ['--pull-request', '202', '--manifests', 'k8s/', '--token', gh.token, ...common()],
      env,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("visitor added the label 'feature-env' to pull request #202");
    expect(await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: envNs(202) })).toBeUndefined();
  });

  it('failures exit 1: a value the engine refuses, a cluster that does not answer', async () => {
    const ttl = await fe('up', [
      '--pull-request',
      '5',
      '--manifests',
      'k8s/',
      ...common(),
      '--ttl',
      'forever',
    ]);
    expect(ttl.code).toBe(1);
    expect(ttl.stderr).toContain("Input 'ttl': 'forever' is not a duration");
    const dead = path.join(ws, 'dead-kubeconfig');
    await writeFile(
      dead,
      cluster.kubeconfig.replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:1'),
    );
    for (const [sub, args] of [
      ['list', ['--kubeconfig', dead]],
      ['down', ['--pull-request', '5', '--kubeconfig', dead]],
      ['reap', ['--kubeconfig', dead]],
    ] as const) {
      const r = await fe(sub, [...args]);
      expect(r.code, `${sub}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/127\.0\.0\.1:1|ECONNREFUSED/);
    }
  });
});

describe.skipIf(!haveTools('docker-registry'))('c2c plan', () => {
  let reg: RegistryServer;
  let pw: string;
  let web: string;
  const COMMIT = 'aaaaaaaaaaaabbbbbbbbbbbbccccccccccccdddd';

  beforeAll(async () => {
    reg = await startRegistry();
    pw = await mkdtemp(path.join(os.tmpdir(), 'c2c-plan-'));
    await mkdir(path.join(pw, 'k8s'));
    await mkdir(path.join(pw, 'app'));
    await writeFile(path.join(pw, 'app/Dockerfile'), 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n');
    await writeFile(path.join(pw, 'requirements.txt'), 'flask==3.0.3\n');
    await writeFile(path.join(pw, 'Dockerfile.base'), 'FROM scratch\n');
    web = (await pushSyntheticImage(reg.url, 'shop/web', 'v2')).digest;
    await pushSyntheticImage(reg.url, 'shop/web', 'v1');
    await writeFile(
      path.join(pw, 'k8s/app.yaml'),
      [
        deploymentManifest('api', `${reg.host}/shop/api:placeholder`, { replicas: 1 }),
        deploymentManifest('web', `${reg.host}/shop/web:v1`, { replicas: 1 }),
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { k: 'v' } },
      ]
        .map((o) => YAML.stringify(o))
        .join('---\n'),
    );
  });
  afterAll(async () => {
    await reg?.stop();
    if (pw) await rm(pw, { recursive: true, force: true });
  });

  const planArgs = (ns: string) => [
    'plan',
    '--hash-files',
    'requirements.txt',
    '--hash-image',
    `${reg.host}/shop/base`,
    '--manifests',
    'k8s/',
    '--namespace',
    ns,
    '--images',
    `${reg.host}/shop/web:v2`,
    '--build-context',
    'app',
    '--image',
    `${reg.host}/shop/api`,
  ];
  const noCluster = { C2C_REVISION: COMMIT, KUBECONFIG: path.join(os.tmpdir(), 'no-such-kubeconfig') };

  it('without a cluster: the base decision, the app image, the manifests pinned, the diff skipped (exit 0)', async () => {
    const r = await c2c([...planArgs('shop'), '--json'], { cwd: pw, env: noCluster });
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(r.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(p.base).toMatchObject({ exists: false, 'files-count': 1, mode: 'content', 'would-build': false });
    expect(p.base['image-ref']).toMatch(new RegExp(`^${reg.host}/shop/base:deps-[0-9a-f]{16}$`));
    expect(p.build).toEqual({
      context: 'app',
      image: `${reg.host}/shop/api:sha-${COMMIT.slice(0, 12)}`,
      exists: false,
      digest: '',
      'base-image': p.base['image-ref'],
    });
    expect(p.images).toEqual([
      {
        workload: 'Deployment/shop/api',
        container: 'app',
        image: `${reg.host}/shop/api:sha-${COMMIT.slice(0, 12)}`,
        from: `${reg.host}/shop/api:placeholder`,
      },
      {
        workload: 'Deployment/shop/web',
        container: 'app',
        image: `${reg.host}/shop/web@${web}`,
        from: `${reg.host}/shop/web:v1`,
      },
    ]);
    expect(p.manifests.map((m: { kind: string }) => m.kind)).toEqual([
      'ConfigMap',
      'Deployment',
      'Deployment',
    ]);
    expect(p.diff.status).toBe('skipped');
    expect(p.diff.reason).toMatch(/^no cluster: .*no-such-kubeconfig/);
    // Nothing was built or pushed.
    const api = await fetch(`${reg.url}/v2/shop/api/tags/list`);
    expect(api.status).toBe(404);

    // For people: the same, and the diff said skipped.
    const human = await c2c(planArgs('shop'), { cwd: pw, env: noCluster });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^Base image \(hash-base\)\n/);
    expect(human.stdout).toContain('missing, and hash-base would not build it (--hash-build is false)');
    expect(human.stdout).toContain('would be built and pushed');
    expect(human.stdout).toContain(`image: ${reg.host}/shop/web@${web}`);
    expect(human.stdout).toMatch(/Server-side diff: skipped \(no cluster: /);
    // The log goes to stderr: stdout is the plan alone.
    expect(human.stderr).toContain('== Read manifests');
    expect(human.stdout).not.toContain('== Read manifests');
  });

  it('the base once it exists: its digest; nothing to build', async () => {
    const first = JSON.parse(
      (await c2c([...planArgs('shop'), '--json'], { cwd: pw, env: noCluster })).stdout,
    ) as {
      base: { tag: string };
    };
    const base = await pushSyntheticImage(reg.url, 'shop/base', first.base.tag);
    const r = await c2c([...planArgs('shop'), '--hash-build', 'true'], { cwd: pw, env: noCluster });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`exists (${base.digest}): the base build is skipped`);
  });

  it("--services: each service's content tag on the planned base, reused once the registry has it", async () => {
    const sw = path.join(pw, 'many');
    for (const svc of ['cart', 'search']) {
      await mkdir(path.join(sw, 'services', svc), { recursive: true });
      await writeFile(
        path.join(sw, 'services', svc, 'Dockerfile'),
        'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY . /srv\n',
      );
      await writeFile(path.join(sw, 'services', svc, 'main.txt'), `${svc}\n`);
    }
    await mkdir(path.join(sw, 'k8s'));
    await writeFile(
      path.join(sw, 'k8s/app.yaml'),
      ['cart', 'search']
        .map((svc) =>
          YAML.stringify(deploymentManifest(svc, `${reg.host}/shop/${svc}:main`, { replicas: 1 })),
        )
        .join('---\n'),
    );
    await writeFile(path.join(sw, 'requirements.txt'), 'flask==3.0.3\n');
    const args = [
      'plan',
      '--hash-files',
      'requirements.txt',
      '--hash-image',
      `${reg.host}/shop/base`,
      '--manifests',
      'k8s/',
      '--namespace',
      'shop',
      '--services',
      'services/*',
      '--image',
      `${reg.host}/shop/{service}`,
    ];
    type Planned = {
      name: string;
      image: string;
      exists: boolean;
      digest: string;
      'base-image': string | null;
    };
    const plan = async (extra: string[] = []) => {
      const r = await c2c([...args, ...extra, '--json'], { cwd: sw, env: noCluster });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { base: { 'image-ref': string }; build: unknown; services: Planned[] };
    };
    const p = await plan();
    const baseRef = p.base['image-ref'];
    expect(p.build).toBeNull();
    expect(p.services.map((b) => b.name)).toEqual(['cart', 'search']);
    for (const b of p.services) {
      expect(b.image).toMatch(new RegExp(`^${reg.host}/shop/${b.name}:src-[0-9a-f]{16}$`));
      expect(b).toMatchObject({ exists: false, digest: '', 'base-image': baseRef });
    }
    // The tags are those of the pipeline's deploy, which gets the base as --base-image.
    expect((await plan(['--base-image', baseRef])).services.map((b) => b.image)).toEqual(
      p.services.map((b) => b.image),
    );
    expect((await plan(['--base-image', `${reg.host}/shop/base:other`])).services[0]!.image).not.toBe(
      p.services[0]!.image,
    );

    // The registry has cart's image under its tag: the plan reuses it and pins the manifest to it.
    const cartTag = p.services[0]!.image.split(':').at(-1)!;
    const cart = await pushSyntheticImage(reg.url, 'shop/cart', cartTag);
    const again = await plan();
    expect(again.services.map((b) => [b.name, b.exists, b.digest])).toEqual([
      ['cart', true, cart.digest],
      ['search', false, ''],
    ]);
    const human = await c2c(args, { cwd: sw, env: noCluster });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('Service images (deploy): 1 to build, 1 reused');
    expect(human.stdout).toContain(`exists (${cart.digest}): reused, not built`);
    expect(human.stdout).toContain(`would be built from services/search and pushed on ${baseRef}`);
    expect(human.stdout).toContain(`image: ${reg.host}/shop/cart@${cart.digest}`);
  });

  describe.skipIf(!haveCluster())('with a cluster: the server-side diff', () => {
    let cluster: Cluster;
    let kubeconfig: string;

    beforeAll(async () => {
      cluster = await sharedCluster();
      kubeconfig = path.join(pw, 'kubeconfig');
      await writeFile(kubeconfig, cluster.kubeconfig, { mode: 0o600 });
    }, CLUSTER_SETUP_TIMEOUT_MS);

    it('created / configured / unchanged from the dry run; nothing applied; a refused set exits 1', async () => {
      const ns = await testNamespace(cluster, 'plan');
      try {
        const env = { C2C_REVISION: COMMIT };
        const r = await c2c([...planArgs(ns.name), '--kubeconfig', kubeconfig], { cwd: pw, env });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`Server-side diff (dry run on ${cluster.server}): 3 created`);
        expect(r.stdout).toContain(`  created Deployment/${ns.name}/web`);
        const cm = await cluster.request('GET', `/api/v1/namespaces/${ns.name}/configmaps/settings`);
        expect(cm.status).toBe(404);

        // Deployed for real (web and the ConfigMap; no build), the plan then says what changes.
        const deployed = await c2c(
          [
            'deploy',
            '--manifests',
            'k8s/',
            '--namespace',
            ns.name,
            '--images',
            `${reg.host}/shop/web:v2`,
            '--kubeconfig',
            kubeconfig,
          ],
          { cwd: pw, env },
        );
        expect(deployed.code, deployed.stderr).toBe(0);
        const again = await c2c([...planArgs(ns.name), '--kubeconfig', kubeconfig, '--json'], {
          cwd: pw,
          env,
        });
        expect(again.code, again.stderr).toBe(0);
        const diff = (JSON.parse(again.stdout) as { diff: { status: string; lines: string[] } }).diff;
        expect(diff.status).toBe('done');
        expect(diff.lines).toEqual([
          `unchanged ConfigMap/${ns.name}/settings`,
          `configured Deployment/${ns.name}/api`,
          `unchanged Deployment/${ns.name}/web`,
        ]);

        await writeFile(
          path.join(pw, 'k8s/bad.yaml'),
          YAML.stringify(deploymentManifest('bad', `${reg.host}/shop/web:v2`, { replicas: -1 })),
        );
        try {
          const refused = await c2c([...planArgs(ns.name), '--kubeconfig', kubeconfig], { cwd: pw, env });
          expect(refused.code, refused.stderr).toBe(1);
          expect(refused.stdout).toContain('the cluster refuses the set');
          expect(refused.stdout).toMatch(/replicas/);
        } finally {
          await rm(path.join(pw, 'k8s/bad.yaml'));
        }
      } finally {
        await ns.delete();
      }
    });
  });
});

// examples/many-services as a user deploys it outside GitHub: the base with c2c hash-base, then the
// twelve services with one c2c deploy; then a push that changes one service. The real registry and
// buildah (a store of its own, empty as a fresh runner's), the genuine control plane.
describe.skipIf(!(haveTools('docker-registry', 'buildah', 'busybox') && haveCluster()))(
  'examples/many-services: twelve services in one c2c deploy step',
  () => {
    let reg: RegistryServer;
    let cluster: Cluster;
    let store: Awaited<ReturnType<typeof privateBuildahStore>>;
    let ws: string;
    let kubeconfig: string;
    const names = serviceNames(12);

    beforeAll(async () => {
      [reg, cluster, store] = await Promise.all([
        startRegistry(),
        sharedCluster(),
        privateBuildahStore('many-services'),
      ]);
      ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-many-services-'));
      await cp(path.join(ROOT, 'examples/many-services'), ws, { recursive: true });
      // The manifests name the demo's registry; this test's runs on a port of its own.
      for (const n of names) {
        const p = path.join(ws, 'k8s', `${n}.yaml`);
        await writeFile(p, (await readFile(p, 'utf8')).replaceAll('127.0.0.1:5000/', `${reg.host}/`));
      }
      kubeconfig = path.join(ws, '.kubeconfig');
      await writeFile(kubeconfig, cluster.kubeconfig, { mode: 0o600 });
    }, CLUSTER_SETUP_TIMEOUT_MS);
    afterAll(async () => {
      await Promise.all([reg?.stop(), store?.remove()]);
      if (ws) await rm(ws, { recursive: true, force: true });
    });

    it('builds the twelve on the base and deploys them at once; a change to one builds and rolls that one only', async () => {
      const env = { ...store.env, C2C_REVISION: 'a'.repeat(40) };
      const root = await makeRootImage(reg.host, 'many-services/root');
      // prettier-ignore
      const base = await c2c([
        'hash-base', '--files', 'requirements.txt', '--files', 'Dockerfile.base',
        '--image', `${reg.host}/many-services/base`, '--build', 'true',
        '--build-args', `ROOT_IMAGE=${root}`, '--builder', 'buildah', '--json',
      ], { cwd: ws, env });
      expect(base.code, base.stderr).toBe(0);
      const baseRef = (JSON.parse(base.stdout) as Record<string, string>)['image-ref']!;
      const ns = await testNamespace(cluster, 'many');
      try {
        // prettier-ignore
        const deploy = () => c2c([
          'deploy', '--manifests', 'k8s/', '--namespace', ns.name,
          '--services', 'services/*', '--image', `${reg.host}/many-services/{service}`,
          '--base-image', baseRef, '--builder', 'buildah', '--kubeconfig', kubeconfig, '--json',
        ], { cwd: ws, env });
        const first = await deploy();
        expect(first.code, first.stderr.slice(-3000)).toBe(0);
        const out1 = JSON.parse(first.stdout) as Record<string, string>;
        expect(out1.result).toBe('success');
        expect(out1.built!.split('\n').sort()).toEqual([...names].sort());
        const images = JSON.parse(out1.images!) as Record<string, string>;
        for (const n of names) {
          expect(images[n], n).toMatch(new RegExp(`^${reg.host}/many-services/${n}@sha256:[0-9a-f]{64}$`));
          const d = await cluster.request('GET', `/apis/apps/v1/namespaces/${ns.name}/deployments/${n}`);
          expect(d.body.spec.template.spec.containers[0].image, n).toBe(images[n]);
          expect(d.body.status.readyReplicas, n).toBe(d.body.spec.replicas);
        }
        // One apply for the set: a single "Apply" group in the log, for the 24 objects.
        expect(first.stderr.match(/== Apply\b/g) ?? []).toHaveLength(1);

        await writeFile(path.join(ws, 'services/cart/main.sh'), '#!/bin/sh\necho cart, changed\n');
        const second = await deploy();
        expect(second.code, second.stderr.slice(-3000)).toBe(0);
        const out2 = JSON.parse(second.stdout) as Record<string, string>;
        expect(out2.built).toBe('cart');
        expect(out2.reused!.split('\n').sort()).toEqual(names.filter((n) => n !== 'cart').sort());
        const after = JSON.parse(out2.images!) as Record<string, string>;
        for (const n of names) if (n !== 'cart') expect(after[n], n).toBe(images[n]);
        expect(after.cart).not.toBe(images.cart);
        // Only cart's Deployment was written; every other object the dry run showed unchanged.
        const written = out2.applied!.split('\n').filter((l) => !l.endsWith(' (unchanged)'));
        expect(written).toEqual([`Deployment/${ns.name}/cart`]);
      } finally {
        await ns.delete();
      }
    }, 600_000);
  },
);

// The deploy lock from the command line: c2c takes the Lease the action takes (the action and a
// laptop contend for one lock), and a held one makes it wait, then fail naming the holder.
describe.skipIf(!haveCluster())('c2c deploy and the deploy lock', () => {
  let cluster: Cluster;
  let ws: string;
  let kubeconfig: string;
  beforeAll(async () => {
    cluster = await sharedCluster();
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-lock-'));
    kubeconfig = path.join(ws, '.kubeconfig');
    await writeFile(kubeconfig, cluster.kubeconfig, { mode: 0o600 });
    await writeFile(
      path.join(ws, 'web.yaml'),
      YAML.stringify(deploymentManifest('web', 'registry.example/shop/web:v1', { replicas: 1 })),
    );
  }, CLUSTER_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    if (ws) await rm(ws, { recursive: true, force: true });
  });

  it('Ctrl-C (SIGINT) while the rollout is watched: rolled back, the lock released, exit 1', async () => {
    const ns = await testNamespace(cluster, 'cancel');
    try {
      // prettier-ignore
      const args = [CLI, 'deploy', '--manifests', 'web.yaml', '--namespace', ns.name, '--pin-digests', 'false',
        '--kubeconfig', kubeconfig];
      const first = await run(NODE, args, { cwd: ws });
      expect(first.code, first.stderr).toBe(0);
      // A release whose pull never succeeds, fail-fast off: the watch would last its 2 minutes.
      const child = spawn(
        NODE,
        [
          ...args,
          '--images',
          'registry.example/shop/web:fail-pull',
          '--fail-fast',
          'false',
          '--timeout',
          '2m',
        ],
        {
          cwd: ws,
          env: { PATH: process.env.PATH, HOME: process.env.HOME },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      const sent = new Promise<void>((resolve) => {
        const onData = (d: Buffer) => {
          out += d;
          // Once, as a terminal's Ctrl-C does.
          if (/Waiting for deployment "web" rollout to finish/.test(out) && !child.killed) {
            child.kill('SIGINT');
            resolve();
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
      });
      const t0 = Date.now();
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      await sent;
      expect(code, out).toBe(1);
      expect(Date.now() - t0).toBeLessThan(60_000);
      expect(out).toContain('SIGINT received: finishing or undoing what is in progress, then stopping.');
      expect(out).toMatch(/cancelled \(SIGINT\) while its rollout was watched/);
      const live = await cluster.request('GET', `/apis/apps/v1/namespaces/${ns.name}/deployments/web`);
      expect(live.body.spec.template.spec.containers[0].image).toBe('registry.example/shop/web:v1');
      const lease = await cluster.request(
        'GET',
        `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/commit-to-cloud-deploy`,
      );
      expect(lease.body.spec.holderIdentity).toBeUndefined();
    } finally {
      await ns.delete();
    }
  });

  it("waits for the action's lock, fails naming its run after --lock-timeout, and deploys once it is free", async () => {
    const ns = await testNamespace(cluster, 'lock');
    try {
      const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases`;
      const now = new Date().toISOString().replace('Z', '000Z');
      const made = await cluster.request('POST', leasePath, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'commit-to-cloud-deploy' },
        spec: {
          holderIdentity: 'https://github.com/acme/shop/actions/runs/42',
          leaseDurationSeconds: 60,
          acquireTime: now,
          renewTime: now,
        },
      });
      expect(made.status, made.text).toBe(201);
      // prettier-ignore
      const args = ['deploy', '--manifests', 'web.yaml', '--namespace', ns.name, '--pin-digests', 'false',
        '--kubeconfig', kubeconfig];
      const env = { C2C_REVISION: 'b'.repeat(40), C2C_ACTOR: 'dev' };
      const refused = await c2c([...args, '--lock-timeout', '2s'], { cwd: ws, env });
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stdout + refused.stderr).toContain(
        `Namespace '${ns.name}' is being deployed by https://github.com/acme/shop/actions/runs/42`,
      );
      expect(
        (await cluster.request('GET', `/apis/apps/v1/namespaces/${ns.name}/deployments/web`)).status,
      ).toBe(404);

      // The action's run ends and releases it (its holder cleared).
      const held = (await cluster.request('GET', `${leasePath}/commit-to-cloud-deploy`)).body;
      delete held.spec.holderIdentity;
      const r = await cluster.request('PUT', `${leasePath}/commit-to-cloud-deploy`, held);
      expect(r.status, r.text).toBe(200);
      const ok = await c2c([...args, '--verbose'], { cwd: ws, env });
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout + ok.stderr).toMatch(
        /Deploy lock of namespace \S+ taken \(Lease commit-to-cloud-deploy, holder \S+ pid \d+\)/,
      );
      const lease = await cluster.request('GET', `${leasePath}/commit-to-cloud-deploy`);
      expect(lease.body.spec.holderIdentity).toBeUndefined();
      expect(lease.body.metadata.annotations['commit-to-cloud.dev/lock-detail']).toBe(
        'commit bbbbbbbbbbbb by dev',
      );
    } finally {
      await ns.delete();
    }
  });
});
