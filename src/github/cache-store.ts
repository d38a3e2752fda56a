/**
 * What the engine needs from a cache of build markers (the Actions cache in the actions, anything
 * else elsewhere). The engine receives an object of this shape; it never imports @actions/cache,
 * which itself imports @actions/core. The Actions implementation is src/actions/shared/cache.ts.
 */
export interface CacheStore {
  /** Whether an entry with exactly this key exists; looked up without downloading it. */
  exists(key: string): Promise<boolean>;
  /** Saves a small file under the key (after a successful build). */
  save(key: string, file: string): Promise<void>;
}

/** An in-memory CacheStore: for the CLI's --check cache outside Actions, and for tests. */
export function memoryCacheStore(initial: Iterable<string> = []): CacheStore & { keys: Set<string> } {
  const keys = new Set(initial);
  return {
    keys,
    exists: async (key) => keys.has(key),
    save: async (key) => {
      keys.add(key);
    },
  };
}
