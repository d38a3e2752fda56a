// The face of src/baseimage: what other rooms may use of it.
export { HASH_BASE_INPUTS, HASH_BASE_OUTPUTS, hashBaseOutputs, parseHashBaseInputs } from './inputs.js';
export type { HashBaseOptions } from './inputs.js';
export { renderHashBaseSummary, runHashBase } from './run.js';
export type { HashBaseResult } from './run.js';
