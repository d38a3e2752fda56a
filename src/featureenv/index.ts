// The face of src/featureenv: what other rooms may use of it.
export { featureEnvOutputs } from './context.js';
export type { FeatureEnvContext } from './context.js';
export { FEATURE_ENV_INPUTS, FEATURE_ENV_OUTPUTS, parseFeatureEnvInputs } from './inputs.js';
export { listEnvironments } from './list.js';
export type { ListedEnvironment } from './list.js';
export { runFeatureEnv } from './run.js';
