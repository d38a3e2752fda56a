import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: integration tests start registries and run buildah; keep the parallelism modest.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // Names the run's shared Kubernetes control plane (started on first use, stopped at the end) and
    // puts its kubectl first on PATH.
    globalSetup: ['./test/helpers/cluster-global-setup.ts'],
  },
});
