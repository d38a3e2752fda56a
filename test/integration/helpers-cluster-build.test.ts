// How test/helpers/cluster-build.ts builds the control plane, with the `go` of test/helpers/fake-go.ts
// first on PATH (the real build takes ten minutes and a gigabyte of downloads: test/cluster runs what
// it built, and bench/control-plane-build.ts times it). The stand-in records each go list and build
// with its start and end.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BINARIES, binDir, ensureControlPlane } from '../helpers/cluster-build.js';
import { writeFakeGo } from '../helpers/fake-go.js';

let dir: string;
let log: string;
const saved = {
  PATH: process.env.PATH,
  XDG_CACHE_HOME: process.env.XDG_CACHE_HOME,
  GOCACHE: process.env.GOCACHE,
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-cluster-build-'));
  await writeFakeGo(path.join(dir, 'bin'));
  process.env.PATH = `${path.join(dir, 'bin')}${path.delimiter}${process.env.PATH}`;
  delete process.env.GOCACHE;
});
beforeEach(async () => {
  // A cache of the test's own: nothing built yet.
  process.env.XDG_CACHE_HOME = await mkdtemp(path.join(dir, 'cache-'));
  log = path.join(process.env.XDG_CACHE_HOME, 'go-calls.jsonl');
  process.env.FAKE_GO_LOG = log;
  delete process.env.FAKE_GO_FAIL;
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await rm(dir, { recursive: true, force: true });
});

interface Call {
  cwd: string;
  list?: boolean;
  pkgs: string[];
  start: number;
  end?: number;
}
const calls = async (): Promise<Call[]> =>
  (await readFile(log, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Call);

describe('ensureControlPlane', () => {
  it('builds in one go: the four Kubernetes commands in one go build, etcd and kwok downloading meanwhile, built after it', async () => {
    const lines: string[] = [];
    const bin = await ensureControlPlane({ log: (l) => lines.push(l) });
    expect(bin).toBe(binDir());
    expect((await readdir(bin)).sort()).toEqual([...BINARIES, 'VERSIONS'].sort());

    const all = await calls();
    const builds = all.filter((c) => !c.list);
    expect(builds.map((b) => b.cwd).sort()).toEqual(['etcd', 'kubernetes', 'kwok']);
    const kube = builds.find((b) => b.cwd === 'kubernetes')!;
    expect(kube.pkgs).toEqual(
      ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'].map(
        (c) => `k8s.io/kubernetes/cmd/${c}`,
      ),
    );
    // etcd and kwok: their modules downloaded while Kubernetes builds, their builds after it, side by side.
    const lists = all.filter((c) => c.list);
    expect(lists.map((l) => l.cwd).sort()).toEqual(['etcd', 'kwok']);
    for (const l of lists) expect(l.start).toBeLessThan(kube.end!);
    const others = builds.filter((b) => b !== kube);
    for (const b of others) expect(b.start).toBeGreaterThanOrEqual(kube.end!);
    expect(Math.max(...others.map((b) => b.start))).toBeLessThan(Math.min(...others.map((b) => b.end!)));

    expect(lines.join('\n')).toContain('3 go builds');
    for (const group of ['kubernetes', 'etcd', 'kwok'])
      expect(lines.some((l) => l.includes(`${group} (`) && l.includes('done in'))).toBe(true);
  });

  it('a build that fails stops the rest, says why, and leaves no bin directory', async () => {
    process.env.FAKE_GO_FAIL = 'kube-scheduler';
    process.env.FAKE_GO_MS = '20000';
    const t = Date.now();
    try {
      const err = await ensureControlPlane({ log: () => undefined }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(
        /go build k8s\.io\/kubernetes\/cmd\/kube-apiserver .*kubectl failed \(exit 1\)/,
      );
      expect((err as Error).message).toContain('undefined: nothing');
      expect(Date.now() - t).toBeLessThan(10_000);
      // Nothing is built after a failure: etcd and kwok, waiting for it, never start their builds.
      await new Promise((r) => setTimeout(r, 300));
      expect((await calls()).filter((c) => !c.list)).toEqual([]);
      await expect(readdir(binDir())).rejects.toThrow(/ENOENT/);
    } finally {
      delete process.env.FAKE_GO_MS;
    }
  });
});
