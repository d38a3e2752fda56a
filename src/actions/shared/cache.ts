import { copyFile, mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { C2CError, InputError } from '../../core/index.js';
import type { CacheStore } from '../../github/index.js';

/**
 * The Actions cache as a CacheStore (hash-base's `check: cache`). Lives in the action layer because
 * @actions/cache imports @actions/core; the engine only sees the CacheStore interface.
 *
 * An entry's version is derived by @actions/cache from the cached paths (and the compression tool),
 * so the lookup and the save must name the same path: a fixed marker directory under the home
 * directory, the same string on every run and every runner. `~` keeps that string independent of
 * where the home directory is.
 */
export const CACHE_MARKER_PATH = '~/.commit-to-cloud/cache-marker';

function markerDir(markerPath: string): string {
  return markerPath.startsWith('~/') ? join(homedir(), markerPath.slice(2)) : markerPath;
}

type CacheModule = typeof import('@actions/cache');
let loaded: Promise<CacheModule> | undefined;

/**
 * @actions/cache (with the Azure storage SDK under it) takes about half a second to load: loaded only
 * when a step really uses the cache, so `check: registry` runs do not pay for it.
 */
function loadCache(): Promise<CacheModule> {
  return (loaded ??= import('@actions/cache'));
}

function requireService(cache: CacheModule): void {
  if (!cache.isFeatureAvailable())
    throw new InputError(
      'check',
      "'cache' needs the GitHub Actions cache service, which this step does not have (ACTIONS_RESULTS_URL / ACTIONS_CACHE_URL are not set)",
      "'registry' outside GitHub Actions",
    );
  if (!process.env.ACTIONS_RUNTIME_TOKEN)
    throw new InputError(
      'check',
      "'cache' needs ACTIONS_RUNTIME_TOKEN, which the runner gives JavaScript actions; it is not set",
      "'registry' when the step does not run as an action",
    );
}

export interface ActionsCacheStoreOptions {
  /** The cached path; the same on lookup and save. Default CACHE_MARKER_PATH. */
  markerPath?: string;
}

export function actionsCacheStore(opts: ActionsCacheStoreOptions = {}): CacheStore {
  const markerPath = opts.markerPath ?? CACHE_MARKER_PATH;

  async function exists(key: string): Promise<boolean> {
    const cache = await loadCache();
    requireService(cache);
    // lookupOnly: asks the service for the entry, downloads nothing. The service also answers
    // prefix matches of the key, so only the exact key counts. Service failures are logged by
    // @actions/cache as warnings and read as a miss (the safe side: a rebuild).
    const hit = await cache.restoreCache([markerPath], key, [], { lookupOnly: true });
    return hit === key;
  }

  async function save(key: string, file: string): Promise<void> {
    const cache = await loadCache();
    requireService(cache);
    const dir = markerDir(markerPath);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    try {
      await copyFile(file, join(dir, basename(file)));
    } catch (err) {
      throw new C2CError(`Cannot save the Actions cache entry '${key}': ${(err as Error).message}`, {
        cause: err,
      });
    }
    try {
      const id = await cache.saveCache([markerPath], key);
      // -1: not saved. @actions/cache has said why (another job may be saving the same key, or the
      // service failed). Only the latter is an error: the entry must exist afterwards.
      if (id === -1 && !(await exists(key)))
        throw new C2CError(
          `The Actions cache entry '${key}' was not saved (see the cache warning above); the next run will build again.`,
        );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  return { exists, save };
}
