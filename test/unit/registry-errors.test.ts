import { describe, expect, it } from 'vitest';
import { isTransientAwsError, RegistryAuthError } from '../../src/registry/index.js';

describe('RegistryAuthError', () => {
  it('names the registry, status, scope, user and source; says what to do', () => {
    const e = new RegistryAuthError(
      'ghcr.io',
      401,
      { username: 'bot', source: 'inputs registry-username/registry-password' },
      'repository:org/app:pull',
      'UNAUTHORIZED: authentication required',
    );
    expect(e.message).toBe(
      "Registry ghcr.io refused authentication (HTTP 401) for repository:org/app:pull when connecting as 'bot' (from inputs registry-username/registry-password): UNAUTHORIZED: authentication required. Check the username and password (or token) and that they are valid for this registry.",
    );
  });

  it('403 says the credentials lack permission; anonymous says credentials are needed', () => {
    expect(
      new RegistryAuthError(
        'r.io',
        403,
        { username: 'AWS', source: 'ECR GetAuthorizationToken' },
        'repository:a:pull,push',
        '',
      ).message,
    ).toMatch(
      /denied access \(HTTP 403\) for repository:a:pull,push when connecting as 'AWS' \(from ECR GetAuthorizationToken\)\. The credentials were accepted but lack permission/,
    );
    expect(
      new RegistryAuthError('r.io', 401, { source: 'anonymous' }, 'repository:a:pull', '').message,
    ).toMatch(/anonymously \(no credentials given\)\. The registry needs credentials/);
  });
});

describe('isTransientAwsError', () => {
  it('throttling, 5xx and network errors are transient; client errors are not', () => {
    expect(isTransientAwsError({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })).toBe(
      true,
    );
    expect(isTransientAwsError({ name: 'ServerException', $metadata: { httpStatusCode: 500 } })).toBe(true);
    expect(isTransientAwsError({ name: 'X', $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isTransientAwsError({ name: 'Error', code: 'ECONNREFUSED' })).toBe(true);
    expect(
      isTransientAwsError({ name: 'RepositoryNotFoundException', $metadata: { httpStatusCode: 400 } }),
    ).toBe(false);
    expect(
      isTransientAwsError({ name: 'UnrecognizedClientException', $metadata: { httpStatusCode: 403 } }),
    ).toBe(false);
    expect(isTransientAwsError(undefined)).toBe(false);
  });
  it("EC2's refusals for capacity are said at once, though their status is 5xx", () => {
    for (const name of ['InsufficientInstanceCapacity', 'InstanceLimitExceeded'])
      expect(isTransientAwsError({ name, $retryable: {}, $metadata: { httpStatusCode: 500 } })).toBe(false);
  });
});
