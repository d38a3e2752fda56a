import { afterAll, beforeAll } from 'vitest';
import { privateBuildahStore } from './buildah-store.js';

/**
 * A private buildah store (privateBuildahStore) for the tests of one describe: made before them,
 * used by every build in them (C2C_BUILDAH_ROOT / _RUNROOT), the variables put back and the store
 * removed after. (buildah-store.ts itself stays free of vitest: plain scripts use it.)
 */
export function useBuildahStore(name: string): void {
  const saved = { root: process.env.C2C_BUILDAH_ROOT, run: process.env.C2C_BUILDAH_RUNROOT };
  let store: Awaited<ReturnType<typeof privateBuildahStore>> | undefined;
  beforeAll(async () => {
    store = await privateBuildahStore(name);
    Object.assign(process.env, store.env);
  });
  afterAll(async () => {
    for (const [k, v] of [
      ['C2C_BUILDAH_ROOT', saved.root],
      ['C2C_BUILDAH_RUNROOT', saved.run],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    await store?.remove();
  });
}
