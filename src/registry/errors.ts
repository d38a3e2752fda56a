import { C2CError } from '../core/index.js';

/** Which credentials a request carried, in words a user can act on; never the secret itself. */
export interface CredentialsUsed {
  /** undefined: anonymous. */
  username?: string;
  /** Where they came from: "inputs registry-username/registry-password", "ECR GetAuthorizationToken", "anonymous". */
  source: string;
}

export function describeCredentials(c: CredentialsUsed): string {
  return c.username === undefined
    ? 'anonymously (no credentials given)'
    : `as '${c.username}' (from ${c.source})`;
}

/** 401/403 from a registry or its token server. The message names the user and the scope, never a password or token. */
export class RegistryAuthError extends C2CError {
  override name = 'RegistryAuthError';
  constructor(
    readonly registry: string,
    readonly status: number,
    readonly credentials: CredentialsUsed,
    readonly scope: string,
    detail: string,
  ) {
    const verb = status === 403 ? 'denied access' : 'refused authentication';
    const hint =
      credentials.username === undefined
        ? ' The registry needs credentials: give a username and password (registry-username/registry-password), or AWS credentials for ECR.'
        : status === 403
          ? ' The credentials were accepted but lack permission for this scope.'
          : ' Check the username and password (or token) and that they are valid for this registry.';
    super(
      `Registry ${registry} ${verb} (HTTP ${status}) for ${scope || 'the registry'} when connecting ${describeCredentials(credentials)}${detail ? `: ${detail}` : ''}.${hint}`,
    );
  }
}

/** The registry could not be reached after bounded retries. */
export class RegistryUnreachableError extends C2CError {
  override name = 'RegistryUnreachableError';
  constructor(
    readonly registry: string,
    url: string,
    cause: unknown,
  ) {
    super(`Registry ${registry} is unreachable at ${url}: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
  }
}

/** Anything else the registry answered that the client cannot use (bad digest, unexpected status, not a v2 registry). */
export class RegistryError extends C2CError {
  override name = 'RegistryError';
  constructor(
    message: string,
    readonly status?: number,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts);
  }
}

/** Extracts the first error of a Distribution API error body: "MANIFEST_UNKNOWN: manifest unknown". */
export function registryErrorDetail(body: Buffer | string): string {
  const text = body.toString();
  try {
    const json = JSON.parse(text) as {
      errors?: Array<{ code?: string; message?: string }>;
      details?: string;
    };
    const e = json.errors?.[0];
    if (e) return [e.code, e.message].filter(Boolean).join(': ');
    if (typeof json.details === 'string') return json.details;
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 200);
}
