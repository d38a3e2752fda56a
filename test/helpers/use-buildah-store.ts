import { afterAll, beforeAll } from 'vitest';
import { privateBuildahStore } from './buildah-store.js';

/**
 * Private buildah stores (privateBuildahStore) for the tests of one describe: one made before them
 * (call this at the top of the describe, before hooks that build), `fresh()` for another (a cold
 * build, as on a new CI runner); every build uses the newest (C2C_BUILDAH_ROOT / _RUNROOT). After
 * them the variables are put back and the stores removed. (buildah-store.ts itself stays free of
 * vitest: plain scripts use it.)
 */
export function useBuildahStore(name: string): { fresh(): Promise<void> } {
  const saved = { root: process.env.C2C_BUILDAH_ROOT, run: process.env.C2C_BUILDAH_RUNROOT };
  const stores: Awaited<ReturnType<typeof privateBuildahStore>>[] = [];
  const fresh = async () => {
    const store = await privateBuildahStore(name);
    stores.push(store);
    Object.assign(process.env, store.env);
  };
  beforeAll(fresh);
  afterAll(async () => {
    for (const [k, v] of [
      ['C2C_BUILDAH_ROOT', saved.root],
      ['C2C_BUILDAH_RUNROOT', saved.run],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    await Promise.all(stores.map((s) => s.remove()));
  });
  return { fresh };
}
