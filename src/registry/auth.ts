import { fetchWithRetry, type HttpResponse } from '../core/index.js';
import { isLoopbackHost } from '../images/index.js';
import type { Logger, RetryOptions } from '../core/index.js';
import { RegistryAuthError, RegistryError, type CredentialsUsed } from './errors.js';
import { normaliseScopes, parseWwwAuthenticate, scopesCover, type Challenge } from './www-authenticate.js';

export interface RegistryCredentials {
  username: string;
  password: string;
  /** Where they came from: "inputs registry-username/registry-password", "ECR GetAuthorizationToken", ... */
  source: string;
}

interface CachedToken {
  token: string;
  scopes: string[];
  expiresAt: number;
}

/** Seconds of validity assumed when a token server does not say (the spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;

/**
 * Authentication against one registry: the challenge it answered to GET /v2/ (or to any later request),
 * basic credentials, and the bearer-token flow with tokens cached per scope set.
 */
export class Authenticator {
  private challenge: Challenge | undefined;
  private readonly tokens: CachedToken[] = [];
  private readonly pending = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly registry: string,
    private readonly creds: RegistryCredentials | undefined,
    private readonly logger: Logger,
    private readonly retryOpts: RetryOptions | undefined,
    private readonly tls: Record<string, unknown> = {},
  ) {}

  get used(): CredentialsUsed {
    return this.creds
      ? { username: this.creds.username, source: this.creds.source }
      : { source: 'anonymous' };
  }

  get scheme(): string | undefined {
    return this.challenge?.scheme;
  }

  /** Learns the registry's challenge from a 401 (from the ping or any request). */
  learn(res: HttpResponse): Challenge | undefined {
    const all = parseWwwAuthenticate(res.headers['www-authenticate']);
    const ch = all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
    if (ch) this.challenge = ch;
    return ch;
  }

  /** The Authorization header for a request needing these scopes; undefined: send none. */
  async header(scopes: string[]): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'basic') return this.basic();
    if (ch.scheme === 'bearer') return `Bearer ${(await this.token(ch, scopes)).token}`;
    return undefined;
  }

  /**
   * After a 401: decides whether one more attempt may succeed and with which scopes. Anonymous requests
   * retry once the challenge is known; bearer requests retry with a fresh token (the cached one may have
   * expired, or the registry asks for a scope of its own). Basic credentials that were refused are final.
   */
  retryAfter401(res: HttpResponse, scopes: string[], sent: string | undefined): string[] | undefined {
    const ch = this.learn(res);
    if (!ch) return undefined;
    if (ch.scheme === 'basic') return sent === undefined && this.creds ? scopes : undefined;
    if (ch.scheme !== 'bearer') return undefined;
    const wanted = normaliseScopes([...scopes, ...(ch.params.scope ? [ch.params.scope] : [])]);
    // Forget the tokens that were just refused.
    for (let i = this.tokens.length - 1; i >= 0; i--)
      if (scopesCover(this.tokens[i]!.scopes, scopes)) this.tokens.splice(i, 1);
    return wanted;
  }

  /** The error for a final 401/403: who, from where, for what; never the secret. */
  error(status: number, scopes: string[], detail: string): RegistryAuthError {
    return new RegistryAuthError(this.registry, status, this.used, scopes.join(' '), detail);
  }

  private basic(): string | undefined {
    if (!this.creds) return undefined;
    const encoded = Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64');
    this.logger.secret(encoded);
    return `Basic ${encoded}`;
  }

  private async token(ch: Challenge, wanted: string[]): Promise<CachedToken> {
    const scopes = normaliseScopes(wanted);
    const now = Date.now();
    for (let i = this.tokens.length - 1; i >= 0; i--)
      if (this.tokens[i]!.expiresAt <= now) this.tokens.splice(i, 1);
    const hit = this.tokens.find((t) => scopesCover(t.scopes, scopes));
    if (hit) return hit;
    const key = scopes.join(' ');
    let p = this.pending.get(key);
    if (!p) {
      p = this.fetchToken(ch, scopes).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async fetchToken(ch: Challenge, scopes: string[]): Promise<CachedToken> {
    const realm = ch.params.realm;
    if (!realm)
      throw new RegistryError(`Registry ${this.registry} asked for a bearer token but named no realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`Registry ${this.registry} named an invalid token realm '${realm}'`);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.host)))
      throw new RegistryError(
        `Registry ${this.registry} named the token realm ${url.origin}, which is not https: credentials are not sent over plain http`,
      );
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    if (this.creds) url.searchParams.set('account', this.creds.username);
    const authorization = this.basic();
    const started = Date.now();
    const res = await fetchWithRetry(
      {
        url,
        headers: { ...(authorization ? { authorization } : {}), accept: 'application/json' },
        ...this.tls,
      },
      {
        accept: [401, 403],
        logger: this.logger,
        what: `token request to ${url.origin}${url.pathname} for ${this.registry}`,
        ...(this.retryOpts ? { retry: this.retryOpts } : {}),
      },
    );
    if (res.status === 401 || res.status === 403)
      throw this.error(
        res.status,
        scopes,
        `token server ${url.origin}${url.pathname}: ${tokenErrorDetail(res.body)}`,
      );
    let json: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      json = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new RegistryError(
        `Token server ${url.origin}${url.pathname} for ${this.registry} did not answer JSON`,
      );
    }
    const token = json.token || json.access_token;
    if (!token)
      throw new RegistryError(
        `Token server ${url.origin}${url.pathname} for ${this.registry} returned no token`,
      );
    this.logger.secret(token);
    const seconds =
      typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : DEFAULT_TOKEN_SECONDS;
    // Renew a little early: the token must still be valid when the request arrives.
    const cached = {
      token,
      scopes,
      expiresAt: started + Math.max(1, seconds - Math.min(10, seconds / 4)) * 1000,
    };
    this.tokens.push(cached);
    this.logger.debug(`${this.registry}: bearer token for ${scopes.join(' ') || '(no scope)'}`);
    return cached;
  }
}

function tokenErrorDetail(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const j = JSON.parse(text) as {
      details?: string;
      message?: string;
      errors?: Array<{ code?: string; message?: string }>;
    };
    if (j.errors?.[0]) return [j.errors[0].code, j.errors[0].message].filter(Boolean).join(': ');
    return j.details ?? j.message ?? text.trim().slice(0, 200);
  } catch {
    return text.trim().slice(0, 200);
  }
}
