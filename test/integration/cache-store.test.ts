import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as cache from '@actions/cache';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { actionsCacheStore, CACHE_MARKER_PATH } from '../../src/actions/shared/cache.js';
import { startActionsCacheFake, type ActionsCacheFake } from '../fakes/actions-cache.js';
import { haveTools } from '../helpers/tools.js';

// @actions/cache archives with tar (and zstd when present), as on a runner.
describe.skipIf(!haveTools('tar')).each(['v2', 'v1'] as const)(
  'actionsCacheStore over the %s cache service',
  (protocol) => {
    let fake: ActionsCacheFake;
    let home: string;
    let manifest: string;
    const saved = new Map<string, string | undefined>();

    const setEnv = (vars: Record<string, string>) => {
      for (const [k, v] of Object.entries(vars)) {
        if (!saved.has(k)) saved.set(k, process.env[k]);
        process.env[k] = v;
      }
    };

    beforeAll(async () => {
      fake = await startActionsCacheFake({ protocol });
      home = mkdtempSync(join(tmpdir(), 'c2c-home-'));
      manifest = join(home, 'hash-manifest.json');
      writeFileSync(manifest, JSON.stringify({ mode: 'content', files: { 'requirements.txt': 'ab12' } }));
      // The marker path is under ~: keep it in a temp home. GITHUB_WORKSPACE is where tar runs from.
      setEnv({ ...fake.env, HOME: home, GITHUB_WORKSPACE: home, GITHUB_REF: 'refs/heads/main' });
    });

    afterAll(async () => {
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await fake?.stop();
      rmSync(home, { recursive: true, force: true });
    });

    afterEach(() => {
      fake.requests.length = 0;
    });

    const downloads = () => fake.requests.filter((r) => r.op === 'blob-get');

    it('a key not saved yet does not exist', async () => {
      const store = actionsCacheStore();
      expect(await store.exists('deps-0123456789abcdef')).toBe(false);
      expect(
        fake.requests.some((r) => r.op === (protocol === 'v2' ? 'GetCacheEntryDownloadURL' : 'v1-lookup')),
      ).toBe(true);
    });

    it('save, then the key exists, looked up without any download', async () => {
      const store = actionsCacheStore();
      await store.save('deps-0123456789abcdef', manifest);
      const entry = fake.entries.find((e) => e.key === 'deps-0123456789abcdef');
      expect(entry?.committed).toBe(true);
      expect(entry!.data.length).toBeGreaterThan(0);
      if (protocol === 'v2')
        expect(fake.requests.some((r) => r.op === 'blob-put' && r.status === 201)).toBe(true);
      else expect(fake.requests.some((r) => r.op === 'v1-upload' && r.status === 204)).toBe(true);
      // The marker directory is temporary.
      expect(existsSync(join(home, CACHE_MARKER_PATH.slice(2)))).toBe(false);

      fake.requests.length = 0;
      expect(await store.exists('deps-0123456789abcdef')).toBe(true);
      expect(downloads()).toEqual([]);
    });

    it('another key does not exist, nor does a prefix of a saved key', async () => {
      const store = actionsCacheStore();
      expect(await store.exists('deps-fedcba9876543210')).toBe(false);
      // The service answers prefix matches of the key; only the exact key is a hit.
      expect(await store.exists('deps-0123456789')).toBe(false);
      expect(downloads()).toEqual([]);
    });

    it('saving a key that exists already is not an error', async () => {
      const store = actionsCacheStore();
      await store.save('deps-0123456789abcdef', manifest);
      expect(fake.entries.filter((e) => e.key === 'deps-0123456789abcdef')).toHaveLength(1);
    });

    it('a save the service refuses is an error naming the key', async () => {
      const store = actionsCacheStore();
      fake.fail({ op: protocol === 'v2' ? 'CreateCacheEntry' : 'v1-reserve', status: 403 });
      await expect(store.save('deps-1111111111111111', manifest)).rejects.toThrow(
        /Actions cache entry 'deps-1111111111111111' was not saved/,
      );
      expect(await store.exists('deps-1111111111111111')).toBe(false);
    });

    it('the saved entry is a real archive: a full restore brings the marker file back', async () => {
      // Fidelity of the fake: what @actions/cache uploaded, it can download and extract.
      const hit = await cache.restoreCache([CACHE_MARKER_PATH], 'deps-0123456789abcdef');
      expect(hit).toBe('deps-0123456789abcdef');
      const restored = join(home, CACHE_MARKER_PATH.slice(2), 'hash-manifest.json');
      expect(readFileSync(restored, 'utf8')).toBe(readFileSync(manifest, 'utf8'));
      expect(downloads()).toHaveLength(1);
      rmSync(join(home, '.commit-to-cloud'), { recursive: true, force: true });
    });

    it('outside Actions (no cache service) it says check: cache cannot work here', async () => {
      const url = protocol === 'v2' ? 'ACTIONS_RESULTS_URL' : 'ACTIONS_CACHE_URL';
      const keep = process.env[url];
      process.env[url] = '';
      try {
        await expect(actionsCacheStore().exists('deps-x')).rejects.toThrow(
          /Input 'check': 'cache' needs the GitHub Actions cache service/,
        );
      } finally {
        process.env[url] = keep;
      }
    });
  },
);
