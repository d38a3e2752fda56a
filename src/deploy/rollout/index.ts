// The face of src/deploy/rollout: what other rooms may use of it.
export { explain, explainFailed } from './explain.js';
export { rollBack, undoApply } from './rollback.js';
export { watchRollouts, watchWorkloads } from './watch.js';
export type { Outcome } from './watch.js';
export type { FailFastOptions } from './fail-fast.js';
