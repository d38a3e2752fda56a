// The face of src/aws: what other rooms may use of it.
export { awsErrorOf, isAwsCredentialError, isTransientAwsError } from './errors.js';
export { AwsCallError, awsCall } from './call.js';
export type { AwsCallOptions } from './call.js';
