import { isTransient, RetryExhaustedError } from '../core/index.js';

/**
 * How the engine reads an AWS SDK failure, for every AWS service it calls (ECR, RDS): what is worth
 * another attempt, and what means the credentials were refused.
 */
export interface AwsError {
  name?: string;
  message?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'ServerException',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** Refusals for want of capacity or a limit: another type, zone or time is the remedy, not a retry. */
const NOT_NOW = new Set(['InsufficientInstanceCapacity', 'InstanceLimitExceeded', 'VcpuLimitExceeded']);

const CREDENTIAL_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'AccessDeniedException',
  'AuthFailure',
]);

/** Transient AWS failures: throttling, 5xx, network errors. The SDK's own retries are off; ours bound them. */
export function isTransientAwsError(err: unknown): boolean {
  const e = err as AwsError;
  if (!e || typeof e !== 'object') return false;
  // EC2 answers these with a 5xx, but seconds later it is no different: said at once, not retried.
  if (e.name && NOT_NOW.has(e.name)) return false;
  if (e.$retryable) return true;
  if (e.name && THROTTLING.has(e.name)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status > 0) return status === 429 || (status >= 500 && status !== 501);
  return isTransient(err);
}

/** The AWS error behind a failure (the last attempt's, when the retry helper gave up). */
export function awsErrorOf(err: unknown): AwsError | undefined {
  return (err instanceof RetryExhaustedError ? err.last : err) as AwsError | undefined;
}

/** AWS refused the credentials (invalid, expired, or not allowed to do this). */
export function isAwsCredentialError(e: AwsError | undefined): e is AwsError & { name: string } {
  return !!e?.name && CREDENTIAL_ERRORS.has(e.name);
}
