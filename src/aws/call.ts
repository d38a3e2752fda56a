import {
  C2CError,
  RetryExhaustedError,
  errorMessage,
  retry,
  type Logger,
  type RetryOptions,
} from '../core/index.js';
import { awsErrorOf, isAwsCredentialError, isTransientAwsError } from './errors.js';

/** An AWS call that failed for a reason of AWS's (not the credentials, not the region): its error name kept. */
export class AwsCallError extends C2CError {
  override name = 'AwsCallError';
  constructor(
    message: string,
    readonly awsName: string | undefined,
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

export interface AwsCallOptions {
  /** What the messages call the service: 'RDS', 'EC2', 'SSM'. */
  service: string;
  /** The actions the credentials need, named when AWS refuses them. */
  permissions: string;
  retry?: RetryOptions;
}

/**
 * Every AWS call of the engine: our bounded retries (throttling, 5xx, the network; the SDK's own
 * are off), then one clear error: no credentials, credentials refused (with the actions they need),
 * no region, or AWS's own error (AwsCallError, its name kept for the caller to read).
 */
export async function awsCall<T>(
  o: AwsCallOptions,
  what: string,
  logger: Logger,
  fn: () => Promise<T>,
): Promise<T> {
  const label = `${o.service} ${what}`;
  try {
    return await retry(label, fn, {
      ...o.retry,
      retryable: isTransientAwsError,
      onRetry: (err, attempt, delay) => {
        logger.info(
          `${label}: ${awsErrorOf(err)?.name ?? 'error'}: ${errorMessage(err)}; trying again in ${delay} ms`,
        );
        o.retry?.onRetry?.(err, attempt, delay);
      },
    });
  } catch (err) {
    const e = awsErrorOf(err);
    if (e?.name === 'CredentialsProviderError')
      throw new C2CError(
        `${label}: no AWS credentials found by the default credential chain. Configure AWS credentials before this step (e.g. aws-actions/configure-aws-credentials)`,
        { cause: err },
      );
    if (isAwsCredentialError(e))
      throw new C2CError(
        `${label}: AWS refused the credentials (${e.name}: ${e.message ?? ''}). Check that they allow ${o.permissions}`,
        { cause: err },
      );
    if (/region is missing/i.test(e?.message ?? ''))
      throw new C2CError(`${label}: no AWS region: set aws-region (or AWS_REGION)`, { cause: err });
    throw new AwsCallError(
      err instanceof RetryExhaustedError
        ? err.message
        : `${label} failed: ${e?.name ? `${e.name}: ` : ''}${e?.message ?? String(err)}`,
      e?.name,
      err,
    );
  }
}
