import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Builds the genuine Kubernetes control plane the cluster tests run against (kube-apiserver,
 * kube-controller-manager, kube-scheduler, kubectl, etcd, kwok) from the Go module proxy, once, into
 * a cache directory outside the repository whose name carries the versions. The versions live in
 * scripts/cluster/versions.env, the Go files in scripts/cluster/<part>/.
 *
 * Atomic: binaries are built into a scratch directory and renamed into place when all six exist.
 * Locked: a second process (another vitest run, scripts/cluster.sh) waits for the first one's build.
 */

const run = promisify(execFile);

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SOURCES = path.join(REPO_ROOT, 'scripts', 'cluster');

export const BINARIES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
  'kwok',
] as const;
export type Binary = (typeof BINARIES)[number];

export interface ControlPlaneVersions {
  kubernetes: string;
  etcd: string;
  kwok: string;
}

/** The oldest Go that builds k8s.io/kubernetes v1.34 (its go.mod says go 1.24.0). */
const MIN_GO = [1, 24] as const;

export type BuildLog = (line: string) => void;

/** The control plane cannot be built here because Go is missing (the one reason a test may skip). */
export class GoMissingError extends Error {}

export function readVersions(file = path.join(SOURCES, 'versions.env')): ControlPlaneVersions {
  const vars = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z_]+)=(\S+)\s*$/.exec(line);
    if (m) vars.set(m[1]!, m[2]!);
  }
  const get = (name: string) => {
    const v = vars.get(name);
    if (!v) throw new Error(`${file} does not set ${name}`);
    return v;
  };
  return { kubernetes: get('KUBERNETES_VERSION'), etcd: get('ETCD_VERSION'), kwok: get('KWOK_VERSION') };
}

/** ${XDG_CACHE_HOME:-$HOME/.cache}/commit-to-cloud */
export function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'commit-to-cloud');
}

/** The cache directory of one set of versions: .../commit-to-cloud/k8s-v1.34.4-etcd-v3.6.8-kwok-v0.7.0 */
export function versionDir(v: ControlPlaneVersions = readVersions()): string {
  return path.join(cacheRoot(), `k8s-${v.kubernetes}-etcd-${v.etcd}-kwok-${v.kwok}`);
}

/** Where the six binaries are (or will be). */
export function binDir(v: ControlPlaneVersions = readVersions()): string {
  return path.join(versionDir(v), 'bin');
}

/** The binaries not (yet) in binDir. */
export function missingBinaries(dir = binDir()): Binary[] {
  return BINARIES.filter((b) => {
    try {
      return !statSync(path.join(dir, b)).isFile();
    } catch {
      return true;
    }
  });
}

/**
 * Go's environment for the build: the user's GOPATH and module cache, no toolchain switch, no cgo.
 * The compiled packages (about 4 GB for this build) go to a build cache of the build's own, removed
 * with it, unless GOCACHE is set: the binaries are what is worth keeping.
 */
function goEnv(scratch?: string): NodeJS.ProcessEnv {
  const flags = (process.env.GOFLAGS ?? '').split(/\s+/).filter((f) => f && !f.startsWith('-mod='));
  return {
    ...process.env,
    GOTOOLCHAIN: 'local',
    GOFLAGS: [...flags, '-mod=mod'].join(' '),
    GOWORK: 'off',
    CGO_ENABLED: '0',
    ...(scratch && !process.env.GOCACHE ? { GOCACHE: path.join(scratch, 'gocache') } : {}),
  };
}

/** `go version` of the go on PATH as [major, minor], or undefined when there is none. */
export async function goVersion(): Promise<[number, number] | undefined> {
  try {
    const { stdout } = await run('go', ['env', 'GOVERSION'], { env: goEnv() });
    const m = /go(\d+)\.(\d+)/.exec(stdout);
    return m ? [Number(m[1]), Number(m[2])] : undefined;
  } catch {
    return undefined;
  }
}

const elapsed = (since: number) => {
  const s = Math.round((Date.now() - since) / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

/**
 * The go on PATH as [major, minor], when it can build these versions; else GoMissingError (no go) or
 * an Error (too old), each saying what to install.
 */
export async function checkGo(versions: ControlPlaneVersions = readVersions()): Promise<[number, number]> {
  const go = await goVersion();
  if (!go) {
    throw new GoMissingError(
      `Go is not installed: the Kubernetes control plane for the cluster tests is built from the Go module proxy. ` +
        `Install Go >= ${MIN_GO.join('.')} (https://go.dev/dl/), then run: scripts/cluster.sh build`,
    );
  }
  if (go[0] < MIN_GO[0] || (go[0] === MIN_GO[0] && go[1] < MIN_GO[1])) {
    throw new Error(
      `Go ${go.join('.')} is too old to build Kubernetes ${versions.kubernetes} (needs >= ${MIN_GO.join('.')}). ` +
        `Install a newer Go (https://go.dev/dl/), then run: scripts/cluster.sh build`,
    );
  }

  return go;
}

/**
 * The cached bin directory, built first when a binary is missing. Prints what it builds and why,
 * then one line per binary with the time it took (and a line a minute while one builds).
 */
export async function ensureControlPlane(opts: { log?: BuildLog } = {}): Promise<string> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const versions = readVersions();
  const bin = binDir(versions);
  if (missingBinaries(bin).length === 0) return bin;

  const go = await checkGo(versions);
  const dir = versionDir(versions);
  await mkdir(dir, { recursive: true });
  const unlock = await acquireLock(path.join(dir, 'build.lock'), 'building the control plane', log, (pid) =>
    rm(path.join(dir, `build-${pid}`), { recursive: true, force: true }),
  );
  try {
    // Someone else may have built it while this process waited for the lock.
    const missing = missingBinaries(bin);
    if (missing.length === 0) return bin;
    log(
      `building a local Kubernetes control plane from the Go module proxy once (about 13 minutes on two cores, ~1 GB downloads), ` +
        `cached in ${bin}`,
    );
    log(
      `  why: ${existsSync(bin) ? `missing ${missing.join(', ')}` : 'not built yet'}; versions: Kubernetes ${versions.kubernetes}, ` +
        `etcd ${versions.etcd}, kwok ${versions.kwok} (scripts/cluster/versions.env), go ${go.join('.')}`,
    );
    await build(versions, dir, bin, log);
    return bin;
  } finally {
    await unlock();
  }
}

async function build(v: ControlPlaneVersions, dir: string, bin: string, log: BuildLog): Promise<void> {
  const started = Date.now();
  const scratch = path.join(dir, `build-${process.pid}`);
  await rm(scratch, { recursive: true, force: true });
  const out = path.join(scratch, 'bin');
  await mkdir(out, { recursive: true });
  try {
    const { kube, etcd, kwok } = await prepareModules(v, scratch);

    const [major, minor] = v.kubernetes.replace(/^v/, '').split('.');
    const kubeLdflags = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']
      .flatMap((pkg) => [
        `-X ${pkg}.gitVersion=${v.kubernetes}`,
        `-X ${pkg}.gitMajor=${major}`,
        `-X ${pkg}.gitMinor=${minor}`,
        `-X ${pkg}.gitTreeState=clean`,
      ])
      .join(' ');
    // One go build per module. The four Kubernetes commands are one build: one package graph, linked
    // in parallel. etcd and kwok download their modules while it compiles (network, not CPU), then
    // build after it, side by side: started at the same time as it, they would compile the packages
    // the modules share twice and slow it down; after it, they find those in the build cache.
    const groups: BuildGroup[] = [
      {
        label: 'kubernetes',
        cwd: kube,
        binaries: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'],
        pkgs: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'].map(
          (c) => `k8s.io/kubernetes/cmd/${c}`,
        ),
        ldflags: kubeLdflags,
      },
      { label: 'etcd', cwd: etcd, binaries: ['etcd'], pkgs: ['.'], ldflags: '', after: 'kubernetes' },
      {
        label: 'kwok',
        cwd: kwok,
        binaries: ['kwok'],
        pkgs: ['sigs.k8s.io/kwok/cmd/kwok'],
        ldflags: '',
        after: 'kubernetes',
      },
    ];
    await buildGroups(groups, scratch, out, log);
    await writeFile(
      path.join(out, 'VERSIONS'),
      `kubernetes=${v.kubernetes}\netcd=${v.etcd}\nkwok=${v.kwok}\nbuilt=${new Date().toISOString()}\n`,
    );
    // The rename is the commit point: bin/ either holds all six binaries or does not exist.
    await rm(bin, { recursive: true, force: true });
    await rename(out, bin);
    log(`built the control plane in ${elapsed(started)}: ${bin}`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The three build modules in scratch/src: go.mod from each template, k8s.io/kubernetes's replaces added. */
async function prepareModules(
  v: ControlPlaneVersions,
  scratch: string,
  withSums = true,
): Promise<{ kube: string; etcd: string; kwok: string }> {
  const vars: Record<string, string> = {
    KUBERNETES_VERSION: v.kubernetes,
    ETCD_VERSION: v.etcd,
    KWOK_VERSION: v.kwok,
  };
  const kube = await prepareModule('kubernetes', scratch, vars, withSums);
  await writeFile(
    path.join(kube, 'go.mod'),
    (await readFile(path.join(kube, 'go.mod'), 'utf8')) +
      (await stagingReplaces(kube, scratch, v.kubernetes)),
  );
  const etcd = await prepareModule('etcd', scratch, vars, withSums);
  const kwok = await prepareModule('kwok', scratch, vars, withSums);
  return { kube, etcd, kwok };
}

/**
 * Rewrites scripts/cluster/<part>/go.sum for the versions in versions.env (after changing a version:
 * `scripts/cluster.sh sums`, then commit them). The build starts from these files, so every module it
 * downloads is checked against a checksum from the repository.
 */
export async function updateGoSums(log: BuildLog): Promise<void> {
  const v = readVersions();
  const scratch = path.join(versionDir(v), `sums-${process.pid}`);
  await rm(scratch, { recursive: true, force: true });
  try {
    // From scratch, so that the files hold exactly what these versions need.
    const modules = await prepareModules(v, scratch, false);
    const packages: Record<keyof typeof modules, string[]> = {
      kube: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'].map(
        (c) => `k8s.io/kubernetes/cmd/${c}`,
      ),
      etcd: ['.'],
      kwok: ['sigs.k8s.io/kwok/cmd/kwok'],
    };
    for (const [key, dir] of Object.entries(modules) as [keyof typeof modules, string][]) {
      await goCommand(dir, scratch, ['list', '-deps', ...packages[key]]);
      const name = path.basename(dir);
      await copyFile(path.join(dir, 'go.sum'), path.join(SOURCES, name, 'go.sum'));
      log(`scripts/cluster/${name}/go.sum updated`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Copies scripts/cluster/<name> into the scratch dir, go.mod from its template. */
async function prepareModule(
  name: string,
  scratch: string,
  vars: Record<string, string>,
  withSums: boolean,
): Promise<string> {
  const src = path.join(SOURCES, name);
  const dst = path.join(scratch, 'src', name);
  await mkdir(dst, { recursive: true });
  for (const f of await readdir(src)) {
    if (f === 'go.mod.tmpl') {
      const text = (await readFile(path.join(src, f), 'utf8')).replace(/\$\{([A-Z_]+)\}/g, (_, k: string) => {
        const val = vars[k];
        if (val === undefined) throw new Error(`${src}/go.mod.tmpl: unknown variable ${k}`);
        return val;
      });
      await writeFile(path.join(dst, 'go.mod'), text);
    } else if (f !== 'go.sum' || withSums) {
      await copyFile(path.join(src, f), path.join(dst, f));
    }
  }
  return dst;
}

/**
 * One replace per k8s.io staging module that k8s.io/kubernetes requires at v0.0.0, to the published
 * version that matches (v1.34.4 -> v0.34.4), read from the go.mod the module proxy serves.
 */
async function stagingReplaces(moduleDir: string, scratch: string, version: string): Promise<string> {
  const stdout = await goCommand(moduleDir, scratch, [
    'mod',
    'download',
    '-json',
    `k8s.io/kubernetes@${version}`,
  ]);
  const info = JSON.parse(stdout) as { GoMod?: string; Error?: string };
  if (!info.GoMod) throw new Error(`go mod download k8s.io/kubernetes@${version}: ${info.Error ?? stdout}`);
  const gomod = await readFile(info.GoMod, 'utf8');
  const staging = [...gomod.matchAll(/^\s*(?:require\s+)?(k8s\.io\/[\w.-]+)\s+v0\.0\.0\s*$/gm)].map(
    (m) => m[1]!,
  );
  if (staging.length === 0) throw new Error(`no k8s.io staging modules at v0.0.0 in ${info.GoMod}`);
  const published = version.replace(/^v1\./, 'v0.');
  return `\nreplace (\n${[...new Set(staging)].map((m) => `\t${m} => ${m} ${published}\n`).join('')})\n`;
}

/** One `go build` of one module's commands into the bin directory. */
interface BuildGroup {
  label: string;
  cwd: string;
  binaries: Binary[];
  /** The packages, in the order of `binaries` (each a main package named like its binary, or '.'). */
  pkgs: string[];
  ldflags: string;
  /** Built once this group is: its modules are downloaded at once (`go list -deps`), compiled after. */
  after?: string;
}

/**
 * Runs the groups' go builds, each as soon as the group it comes after is built. Says what it
 * builds, then a line a minute naming what still runs, then one line per step with the time since
 * the start. The first failure stops every other go command.
 */
async function buildGroups(groups: BuildGroup[], scratch: string, out: string, log: BuildLog): Promise<void> {
  const t0 = Date.now();
  const names = (g: BuildGroup) => g.binaries.join(', ');
  log(
    `  ${groups.length} go builds, each with its module downloads: ` +
      groups.map((g) => `${g.label} (${names(g)}${g.after ? `; after ${g.after}` : ''})`).join('; '),
  );
  const running = new Set(groups.map((g) => g.label));
  const tick = setInterval(
    () => log(`  still building: ${[...running].join(', ')} (${elapsed(t0)})`),
    60_000,
  );
  const stop = new AbortController();
  let failure: unknown;
  const built = new Map<string, Promise<boolean>>();
  const one = async (g: BuildGroup): Promise<boolean> => {
    try {
      if (g.after) {
        await goCommand(
          g.cwd,
          scratch,
          ['list', '-deps', ...g.pkgs],
          stop.signal,
          `go list -deps ${g.pkgs.join(' ')}`,
        );
        log(`  ${g.label}: modules downloaded in ${elapsed(t0)}`);
        if (!(await built.get(g.after))) return false;
      }
      // One package: -o names the file. Several: -o is a directory, each binary named after its package.
      const output = g.pkgs.length === 1 ? path.join(out, g.binaries[0]!) : `${out}${path.sep}`;
      const ldflags = `-s -w ${g.ldflags}`.trim();
      await goCommand(
        g.cwd,
        scratch,
        ['build', '-p', '2', '-trimpath', '-ldflags', ldflags, '-o', output, ...g.pkgs],
        stop.signal,
        `go build ${g.pkgs.join(' ')}`,
      );
    } catch (e) {
      if (!stop.signal.aborted) {
        failure = e;
        stop.abort();
      }
      return false;
    }
    running.delete(g.label);
    log(`  ${g.label} (${names(g)}): done in ${elapsed(t0)}`);
    return true;
  };
  try {
    for (const g of groups) built.set(g.label, one(g));
    // Every go command is waited for, the stopped ones too: the scratch directory they run in goes next.
    await Promise.all(built.values());
  } finally {
    clearInterval(tick);
  }
  if (failure) throw failure;
  const missing = missingBinaries(out);
  if (missing.length) throw new Error(`the go builds left out ${missing.join(', ')} (in ${out})`);
}

/**
 * One go command in the scratch environment. Resolves with its standard output (what `go mod
 * download -json` prints); `go list` prints the packages, which are not kept. The error names the
 * command as `shown` (default: the whole command) with the last 40 lines of its output; when
 * `signal` aborts (another go command failed), it stops and says so.
 */
function goCommand(
  cwd: string,
  scratch: string,
  args: string[],
  signal?: AbortSignal,
  shown = `go ${args.join(' ')}`,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', args, {
      cwd,
      env: goEnv(scratch),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(signal ? { signal } : {}),
    });
    let stdout = '';
    let stderr = '';
    if (args[0] !== 'list') child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => {
      if (!signal?.aborted) reject(e);
    });
    child.on('exit', (code, sig) => {
      if (code === 0) resolve(stdout);
      else if (signal?.aborted) reject(new Error(`${shown} stopped: another go command failed`));
      else
        reject(
          new Error(`${shown} failed (${sig ?? `exit ${code}`}) in ${cwd}:\n${tail(stdout + stderr, 40)}`),
        );
    });
  });
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * A lock directory (mkdir is atomic) holding the owner's pid. A lock whose owner is gone (killed
 * mid-build) is taken over, after onStale cleaned up after it. Waiting speaks once a minute.
 */
export async function acquireLock(
  lockDir: string,
  what: string,
  log: BuildLog,
  onStale?: (pid: number) => Promise<void>,
): Promise<() => Promise<void>> {
  const owner = path.join(lockDir, 'pid');
  const t0 = Date.now();
  let lastSaid = 0;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(owner, String(process.pid));
      return () => rm(lockDir, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number(await readFile(owner, 'utf8').catch(() => ''));
    if (pid > 0 && !alive(pid)) {
      // The owner died without unlocking.
      await onStale?.(pid);
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!pid && Date.now() - t0 > 10_000) {
      // A lock without a pid for 10 s: its owner died between mkdir and writing the pid.
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() - lastSaid >= 60_000) {
      log(`another process (pid ${pid || '?'}) is ${what}; waiting for it (${elapsed(t0)})`);
      lastSaid = Date.now();
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
