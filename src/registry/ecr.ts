import type { ECRClient } from '@aws-sdk/client-ecr';
import { C2CError, retry, RetryExhaustedError, type RetryOptions } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { awsErrorOf, isAwsCredentialError, isTransientAwsError } from '../aws/index.js';
import { isLoopbackHost, parseEcrHost } from '../images/index.js';

/** What ECR's GetAuthorizationToken gave: basic credentials and where the registry API is. */
export interface EcrSession {
  username: string;
  password: string;
  endpoint: URL;
  expiresAt?: Date;
  ensureRepository(repository: string, movingTags?: string[]): Promise<void>;
}

export { isTransientAwsError } from '../aws/index.js';

function awsFailure(what: string, host: string, err: unknown): C2CError {
  const e = awsErrorOf(err);
  if (e?.name === 'CredentialsProviderError')
    return new C2CError(
      `${what} for ${host}: no AWS credentials found by the default credential chain (environment AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity, container or instance role). Configure AWS credentials before this step (e.g. aws-actions/configure-aws-credentials).`,
      { cause: err },
    );
  if (isAwsCredentialError(e))
    return new C2CError(
      `${what} for ${host}: AWS refused the credentials from the default credential chain (${e.name}: ${e.message ?? ''}). Check that they are valid and allow this action on the registry.`,
      { cause: err },
    );
  if (err instanceof RetryExhaustedError)
    return new C2CError(`${what} for ${host} failed: ${err.message}`, { cause: err });
  return new C2CError(
    `${what} for ${host} failed: ${e?.name ? `${e.name}: ` : ''}${e?.message ?? String(err)}`,
    {
      cause: err,
    },
  );
}

/**
 * GetAuthorizationToken with the default credential chain and the region of the host. The SDK honours
 * AWS_ENDPOINT_URL_ECR (and AWS_ENDPOINT_URL), which is how the tests point it at the loopback fake.
 */
export async function ecrLogin(
  host: string,
  ecr: { accountId: string; region: string },
  logger: Logger,
  retryOpts?: RetryOptions,
): Promise<EcrSession> {
  const sdk = await import('@aws-sdk/client-ecr');
  const client: ECRClient = new sdk.ECRClient({ region: ecr.region, maxAttempts: 1 });
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await retry(what, fn, {
        ...retryOpts,
        retryable: isTransientAwsError,
        onRetry: (err, attempt, delay) => {
          logger.debug(
            `${what}: attempt ${attempt} failed (${(err as Error).message}); retrying in ${delay} ms`,
          );
          retryOpts?.onRetry?.(err, attempt, delay);
        },
      });
    } catch (err) {
      throw awsFailure(what, host, err);
    }
  };

  const out = await call('ECR GetAuthorizationToken', () =>
    client.send(new sdk.GetAuthorizationTokenCommand({})),
  );
  const data = out.authorizationData?.[0];
  if (!data?.authorizationToken)
    throw new C2CError(`ECR GetAuthorizationToken for ${host} returned no authorization token`);
  logger.secret(data.authorizationToken);
  const decoded = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new C2CError(`ECR GetAuthorizationToken for ${host} returned a malformed token`);
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  logger.secret(password);

  // The proxyEndpoint is where the registry API answers. It is used when it is this registry (or a
  // loopback endpoint, as with an endpoint override); a token of another account's default registry
  // also opens this one, so otherwise the host itself is used.
  let endpoint = new URL(`https://${host}`);
  if (data.proxyEndpoint) {
    let proxy: URL | undefined;
    try {
      proxy = new URL(data.proxyEndpoint);
    } catch {
      proxy = undefined;
    }
    if (proxy) {
      const same = parseEcrHost(proxy.host);
      if (
        isLoopbackHost(proxy.host) ||
        (same && same.accountId === ecr.accountId && same.region === ecr.region)
      )
        endpoint = new URL(proxy.origin);
    }
  }
  if (endpoint.host !== host) logger.info(`${host}: registry API at ${endpoint.origin} (ECR proxy endpoint)`);
  const expiresAt = data.expiresAt;

  return {
    username,
    password,
    endpoint,
    ...(expiresAt ? { expiresAt } : {}),
    async ensureRepository(repository: string, movingTags: string[] = []): Promise<void> {
      try {
        await call(`ECR DescribeRepositories ${repository}`, () =>
          client.send(
            new sdk.DescribeRepositoriesCommand({ registryId: ecr.accountId, repositoryNames: [repository] }),
          ),
        );
        logger.debug(`ECR repository ${repository} exists in ${host}`);
        return;
      } catch (err) {
        if (awsErrorOf((err as C2CError).cause)?.name !== 'RepositoryNotFoundException') throw err;
      }
      const mutability = tagMutability(movingTags);
      try {
        await call(`ECR CreateRepository ${repository}`, () =>
          client.send(
            new sdk.CreateRepositoryCommand({
              registryId: ecr.accountId,
              repositoryName: repository,
              ...mutability,
            }),
          ),
        );
        logger.info(
          `Created ECR repository ${repository} in ${host}, tags ${mutability.imageTagMutability}${mutability.imageTagMutabilityExclusionFilters ? ` but ${movingTags.join(', ')}` : ''}`,
        );
      } catch (err) {
        // Another run created it in the meantime: that is what we wanted.
        if (awsErrorOf((err as C2CError).cause)?.name === 'RepositoryAlreadyExistsException') return;
        throw err;
      }
    },
  };
}

/** ECR takes at most this many exclusion filters. */
const MAX_EXCLUSIONS = 5;

/**
 * How a repository this suite creates treats its tags: IMMUTABLE, so that a content-addressed tag
 * (deps-…, src-…, sha-…) can never be moved; the moving tags it is asked to push too (`extra-tags`
 * such as `latest`, a `tag` the user chose) stay movable as exclusions (IMMUTABLE_WITH_EXCLUSION).
 * More moving tags than ECR takes exclusions for, or `*` (every tag moves: a layer cache): MUTABLE.
 */
export function tagMutability(movingTags: string[]): {
  imageTagMutability: 'IMMUTABLE' | 'IMMUTABLE_WITH_EXCLUSION' | 'MUTABLE';
  imageTagMutabilityExclusionFilters?: Array<{ filterType: 'WILDCARD'; filter: string }>;
} {
  const moving = [...new Set(movingTags)];
  if (moving.length === 0) return { imageTagMutability: 'IMMUTABLE' };
  if (moving.includes('*')) return { imageTagMutability: 'MUTABLE' };
  if (moving.length > MAX_EXCLUSIONS) return { imageTagMutability: 'MUTABLE' };
  return {
    imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
    imageTagMutabilityExclusionFilters: moving.map((filter) => ({ filterType: 'WILDCARD', filter })),
  };
}
