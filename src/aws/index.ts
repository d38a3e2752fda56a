// The face of src/aws: what other rooms may use of it.
export { awsErrorOf, isAwsCredentialError, isTransientAwsError } from './errors.js';
