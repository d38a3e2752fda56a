import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { memoryCacheStore } from '../../src/github/cache-store.js';
import { encodeManifestLabel, type HashManifest } from '../../src/fingerprint/index.js';
import { HASH_BASE_INPUTS, parseHashBaseInputs, type HashBaseRaw } from '../../src/baseimage/inputs.js';
import { findPreviousBase, MAX_PREVIOUS_READS } from '../../src/baseimage/previous.js';
import { runHashBase } from '../../src/baseimage/run.js';
import { connectRegistry } from '../../src/registry/index.js';
import { pushTestImage } from '../helpers/oci.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { startRegistryProxy } from '../helpers/registry-proxy.js';
import { freePort } from '../helpers/net.js';
import { haveTools } from '../helpers/tools.js';

const hex = (s: string) => createHash('sha256').update(s).digest('hex');
const LABEL_MANIFEST = 'dev.commit-to-cloud.hash-manifest';
const LABEL_CREATED = 'org.opencontainers.image.created';

function raw(overrides: Partial<HashBaseRaw>): HashBaseRaw {
  const r = Object.fromEntries(
    Object.entries(HASH_BASE_INPUTS).map(([k, v]) => [k, 'default' in v ? v.default : '']),
  ) as HashBaseRaw;
  return { ...r, ...overrides };
}

/** A hash manifest of an earlier base: requirements.txt at some version, plus other files. */
function manifestOf(requirements: string, others: string[] = []): HashManifest {
  return {
    version: 1,
    mode: 'content',
    hash: hex(`${requirements}|${others.join(',')}`),
    extra: [],
    files: [
      ...others.map((p) => ({ path: p, digest: hex(p), executable: false })),
      { path: 'requirements.txt', digest: hex(requirements), executable: false },
    ].sort((a, b) => (a.path < b.path ? -1 : 1)),
  };
}

async function listedTags(reg: RegistryServer, repo: string): Promise<string[]> {
  const r = await fetch(`${reg.url}/v2/${repo}/tags/list`);
  return ((await r.json()) as { tags: string[] }).tags;
}

describe.skipIf(!haveTools('docker-registry'))('runHashBase against the real registry', () => {
  let reg: RegistryServer;
  let ws: string;
  const logger = memoryLogger();

  beforeAll(async () => {
    reg = await startRegistry();
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-hashbase-'));
    await writeFile(path.join(ws, 'requirements.txt'), 'flask==3.0.4\n');
  });
  afterAll(async () => {
    await reg?.stop();
    if (ws) await rm(ws, { recursive: true, force: true });
  });

  it('changed: compares with the newest earlier base by org.opencontainers.image.created, over more than 100 tags in any listing order', async () => {
    const repo = 'hb/many';
    // 150 earlier bases, older as their tags grow lexically (creation order is not listing order).
    const tags = Array.from({ length: 150 }, (_, i) => `deps-${hex(`base ${i}`).slice(0, 16)}`).sort();
    const minute = (i: number) => new Date(Date.UTC(2025, 0, 1, 0, 0) - i * 60_000).toISOString();
    const push = (tag: string, created: string, manifest: HashManifest, configCreated = created) =>
      pushTestImage(reg, repo, tag, {
        created: configCreated,
        labels: { [LABEL_CREATED]: created, [LABEL_MANIFEST]: encodeManifestLabel(manifest) },
      });
    for (let i = 0; i < tags.length; i += 10)
      await Promise.all(
        tags
          .slice(i, i + 10)
          .map((t, j) => push(t, minute(i + j), manifestOf(`flask==${i + j}`, [`old-${i + j}.txt`]))),
      );
    // This registry lists tags in an order of its own: the newest base goes where a reader of the
    // last 100 listed never looks, the first listed.
    const listed = await listedTags(reg, repo);
    expect(listed).toHaveLength(150);
    const newest = listed[0]!;
    await push(newest, '2025-06-01T12:00:00.500Z', manifestOf('flask==3.0.3'));
    // Decoys: a later time that sorts after it as text but is earlier (no fraction), and a config
    // `created` newer than every label (the label, the build time, decides).
    const decoys = listed.slice(1, 3);
    await push(decoys[0]!, '2025-06-01T12:00:00Z', manifestOf('flask==decoy-1', ['decoy-1.txt']));
    await push(
      decoys[1]!,
      '2024-01-01T00:00:00Z',
      manifestOf('flask==decoy-2', ['decoy-2.txt']),
      '2099-01-01T00:00:00Z',
    );

    const opts = parseHashBaseInputs(raw({ files: 'requirements.txt', image: `${reg.host}/${repo}` }), ws);
    const r = await runHashBase(opts, { logger, manifestDir: ws });
    expect(r.needsBuild).toBe(true);
    expect(r.previous).toBe(`${reg.host}/${repo}:${newest}`);
    expect(r.changed).toEqual(['changed: requirements.txt']);
  });

  it('reads at most the documented number of earlier bases, a manifest and a config each', async () => {
    expect(MAX_PREVIOUS_READS).toBe(200);
    const repo = 'hb/bounded';
    const tags = Array.from({ length: 30 }, (_, i) => `deps-${hex(`bounded ${i}`).slice(0, 16)}`);
    await Promise.all(
      tags.map((t, i) =>
        pushTestImage(reg, repo, t, {
          labels: {
            [LABEL_CREATED]: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
            [LABEL_MANIFEST]: encodeManifestLabel(manifestOf(`flask==${i}`)),
          },
        }),
      ),
    );
    // Not hash tags, or this run's own: never read.
    await pushTestImage(reg, repo, 'deps-latest');
    await pushTestImage(reg, repo, 'other-0123456789abcdef');
    const proxy = await startRegistryProxy(reg.url);
    try {
      const registry = await connectRegistry(proxy.host, { logger });
      const configReads = () => proxy.seen.filter((r) => r.method === 'GET' && r.url.includes('/blobs/'));
      const log = memoryLogger();
      const all = await findPreviousBase(registry, repo, {
        tagPrefix: 'deps-',
        currentTag: tags[29]!,
        logger: log,
      });
      expect(configReads()).toHaveLength(29);
      expect(all?.tag).toBe(tags[28]);
      expect(all?.created).toBe('2025-01-01T00:28:00.000Z');

      proxy.seen.length = 0;
      const bounded = await findPreviousBase(registry, repo, {
        tagPrefix: 'deps-',
        currentTag: 'deps-0000000000000000',
        logger: log,
        maxReads: 10,
      });
      expect(configReads()).toHaveLength(10);
      expect(bounded).toBeDefined();
      expect(log.text()).toContain(
        `30 earlier bases in ${repo}: reading 10 of them (the registry's listing order decides which)`,
      );
    } finally {
      await proxy.stop();
    }
  });

  it('check: cache hit fills digest with one HEAD when image is set', async () => {
    const repo = 'hb/cached';
    const proxy = await startRegistryProxy(reg.url);
    try {
      const opts = parseHashBaseInputs(
        raw({ files: 'requirements.txt', image: `${proxy.host}/${repo}`, check: 'cache' }),
        ws,
      );
      // Learn this run's tag, then put the image and the cache entry there.
      const first = await runHashBase(opts, { logger, manifestDir: ws, cache: memoryCacheStore() });
      expect(first.needsBuild).toBe(true);
      const pushed = await pushTestImage(reg, repo, first.tag);
      const cache = memoryCacheStore([`deps-${first.hash}`]);
      proxy.seen.length = 0;
      const hit = await runHashBase(opts, { logger, manifestDir: ws, cache });
      expect(hit.needsBuild).toBe(false);
      expect(hit.digest).toBe(pushed.digest);
      expect(hit.reason).toBe(`the Actions cache has an entry for deps-${first.hash}`);
      // The registry's ping, then one HEAD.
      expect(proxy.seen.map((r) => `${r.method} ${r.url}`)).toEqual([
        'GET /v2/',
        `HEAD /v2/${repo}/manifests/${first.tag}`,
      ]);
    } finally {
      await proxy.stop();
    }
  });

  it('check: cache hit and a registry that cannot be reached: the decision stands, digest empty, a warning', async () => {
    const port = await freePort();
    const opts = parseHashBaseInputs(
      raw({ files: 'requirements.txt', image: `127.0.0.1:${port}/hb/away`, check: 'cache' }),
      ws,
    );
    const first = await runHashBase(opts, { logger, manifestDir: ws, cache: memoryCacheStore() });
    const log = memoryLogger();
    const r = await runHashBase(opts, {
      logger: log,
      manifestDir: ws,
      cache: memoryCacheStore([`deps-${first.hash}`]),
    });
    expect(r.needsBuild).toBe(false);
    expect(r.digest).toBe('');
    const warnings = log.lines.filter((l) => l.level === 'warning').map((l) => l.message);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`could not read the digest of ${r.imageRef}`);
    expect(warnings[0]).toContain(`Registry 127.0.0.1:${port} is unreachable`);
  });

  it('check: cache hit whose image the registry no longer has: a build is needed, saying why', async () => {
    const opts = parseHashBaseInputs(
      raw({ files: 'requirements.txt', image: `${reg.host}/hb/deleted`, check: 'cache' }),
      ws,
    );
    const first = await runHashBase(opts, { logger, manifestDir: ws, cache: memoryCacheStore() });
    const r = await runHashBase(opts, {
      logger,
      manifestDir: ws,
      cache: memoryCacheStore([`deps-${first.hash}`]),
    });
    expect(r.needsBuild).toBe(true);
    expect(r.digest).toBe('');
    expect(r.reason).toBe(
      `the Actions cache has an entry for deps-${first.hash}, but ${r.imageRef} does not exist in the registry`,
    );
  });

  it('check: cache hit without image: nothing to HEAD, digest empty', async () => {
    const opts = parseHashBaseInputs(raw({ files: 'requirements.txt', check: 'cache' }), ws);
    const first = await runHashBase(opts, { logger, manifestDir: ws, cache: memoryCacheStore() });
    const r = await runHashBase(opts, {
      logger,
      manifestDir: ws,
      cache: memoryCacheStore([`deps-${first.hash}`]),
    });
    expect(r.needsBuild).toBe(false);
    expect(r.digest).toBe('');
  });

  it('check: registry reaches the registry while the files hash (the ping is under way before the hash is known)', async () => {
    const proxy = await startRegistryProxy(reg.url);
    try {
      // The files fail to hash: any request the registry sees was sent while hashing, not after it.
      const opts = parseHashBaseInputs(
        raw({ files: 'no-such-lockfile.json', image: `${proxy.host}/hb/early`, check: 'registry' }),
        ws,
      );
      await expect(runHashBase(opts, { logger, manifestDir: ws })).rejects.toThrow(/no-such-lockfile\.json/);
      await expect
        .poll(() => proxy.seen.map((r) => `${r.method} ${r.url}`), { timeout: 5000 })
        .toEqual(['GET /v2/']);
    } finally {
      await proxy.stop();
    }
  });

  it('check: registry, files that fail to hash and a registry that cannot be reached: the hashing error is the one reported', async () => {
    const port = await freePort();
    const opts = parseHashBaseInputs(
      raw({ files: 'no-such-lockfile.json', image: `127.0.0.1:${port}/hb/away`, check: 'registry' }),
      ws,
    );
    const err = await runHashBase(opts, { logger, manifestDir: ws }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/no-such-lockfile\.json/);
    expect(String(err)).not.toMatch(/unreachable/);
  });

  it('check: registry and a registry that cannot be reached: one failure naming it, after one round of retries', async () => {
    const port = await freePort();
    const proxyless = parseHashBaseInputs(
      raw({ files: 'requirements.txt', image: `127.0.0.1:${port}/hb/away`, check: 'registry' }),
      ws,
    );
    const log = memoryLogger();
    await expect(runHashBase(proxyless, { logger: log, manifestDir: ws })).rejects.toThrow(
      `Registry 127.0.0.1:${port} is unreachable`,
    );
    // The connection made while hashing is the one the check uses: its retries are not run twice.
    const retries = log.lines.filter((l) => /attempt 1 failed/.test(l.message));
    expect(retries).toHaveLength(1);
  });
});
