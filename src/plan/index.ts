// The face of src/plan: what other rooms may use of it.
export { runPlan } from './run.js';
export type { PlannedBuild, PlanResult } from './run.js';
