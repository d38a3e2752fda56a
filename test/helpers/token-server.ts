import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomUUID,
  sign,
  X509Certificate,
} from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRegistry, type RegistryServer } from './registry.js';
import { selfSignedCert } from './tls.js';

/**
 * A bearer-token server for the real docker-registry run with `auth: token:`. It speaks the Docker
 * token protocol: GET <realm>?service=&scope=&scope= with optional basic credentials, answering
 * {token, access_token, expires_in, issued_at}; the token is an RS256 JWT whose header carries the
 * signing certificate in `x5c`, which distribution 2.8 verifies against `rootcertbundle`.
 */
export interface TokenUser {
  password: string;
  /** Actions granted on every repository. Default ['pull', 'push']. */
  actions?: string[];
}

export interface TokenRequest {
  account?: string;
  service?: string;
  scopes: string[];
  /** 'ok' | 'unauthorized' */
  result: string;
  /** The token issued (to check that clients mask it). */
  token?: string;
}

export interface TokenServer {
  url: string;
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  requests: TokenRequest[];
  stop(): Promise<void>;
}

export interface TokenServerOptions {
  users?: Record<string, TokenUser>;
  /** Grant anonymous requests these actions (e.g. ['pull']); default: anonymous requests are refused. */
  anonymous?: string[];
  /** Token lifetime in seconds. Default 300. */
  expiresIn?: number;
  /** How the JWT names its key: 'x5c' (default, the certificate chain) or 'kid' (libtrust key id). */
  keyRef?: 'x5c' | 'kid';
  service?: string;
  issuer?: string;
  /** The first N tokens are issued already expired (beyond the registry's 60 s leeway), as a stale cache would hold. */
  issueExpired?: number;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** libtrust's key id: base32 of the first 240 bits of sha256(DER public key), in groups of 4 joined by ':'. */
export function libtrustKeyId(publicKeyDer: Buffer): string {
  const hash = createHash('sha256').update(publicKeyDer).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const byte of hash) bits += byte.toString(2).padStart(8, '0');
  let s = '';
  for (let i = 0; i + 5 <= bits.length; i += 5) s += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return s.match(/.{4}/g)!.join(':');
}

export async function startTokenServer(opts: TokenServerOptions = {}): Promise<TokenServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'c2c-token-'));
  const service = opts.service ?? 'c2c-test-registry';
  const issuer = opts.issuer ?? 'c2c-test-token-issuer';
  const { keyPath, certPath } = selfSignedCert(dir, { cn: issuer });
  const key = createPrivateKey(readFileSync(keyPath));
  const cert = new X509Certificate(readFileSync(certPath));
  const certDer = cert.raw;
  const kid = libtrustKeyId(createPublicKey(key).export({ type: 'spki', format: 'der' }));
  const users = opts.users ?? {};
  const requests: TokenRequest[] = [];
  let expiredLeft = opts.issueExpired ?? 0;

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    const scopes = u.searchParams
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter(Boolean);
    const svc = u.searchParams.get('service') ?? undefined;
    let account: string | undefined;
    let granted: string[] | undefined;
    const authz = req.headers.authorization;
    if (authz?.startsWith('Basic ')) {
      const decoded = Buffer.from(authz.slice(6), 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      const name = decoded.slice(0, i);
      const user = users[name];
      if (user && user.password === decoded.slice(i + 1)) {
        account = name;
        granted = user.actions ?? ['pull', 'push'];
      }
    } else if (!authz && opts.anonymous) granted = opts.anonymous;
    if (!granted) {
      requests.push({
        ...(account ? { account } : {}),
        ...(svc ? { service: svc } : {}),
        scopes,
        result: 'unauthorized',
      });
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ details: 'incorrect username or password' }));
      return;
    }
    const access = scopes.map((s) => {
      const first = s.indexOf(':');
      const last = s.lastIndexOf(':');
      const actions = s
        .slice(last + 1)
        .split(',')
        .filter((a) => granted!.includes(a));
      return { type: s.slice(0, first), name: s.slice(first + 1, last), actions };
    });
    let now = Math.floor(Date.now() / 1000);
    if (expiredLeft > 0) {
      expiredLeft--;
      now -= 3600;
    }
    const expiresIn = opts.expiresIn ?? 300;
    const headerJson =
      opts.keyRef === 'kid'
        ? { typ: 'JWT', alg: 'RS256', kid }
        : { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: account ?? '',
      aud: svc ?? service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const input = `${b64url(JSON.stringify(headerJson))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
    requests.push({
      ...(account ? { account } : {}),
      ...(svc ? { service: svc } : {}),
      scopes,
      result: 'ok',
      token,
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    // expires_in as if fresh: the client cannot know the token is stale until the registry says so.
    res.end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    realm: `${url}/token`,
    service,
    issuer,
    certPath,
    requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TokenRegistryServer extends RegistryServer {
  username: string;
  password: string;
  tokens: TokenServer;
}

/**
 * The real docker-registry with token auth, and its token server. The user `ci-user` (password
 * `ci-token-pw`) may pull and push; `reader` (password `reader-pw`) may only pull.
 */
export async function startTokenRegistry(opts: TokenServerOptions = {}): Promise<TokenRegistryServer> {
  const username = 'ci-user';
  const password = 'ci-token-pw';
  const tokens = await startTokenServer({
    users: { [username]: { password }, reader: { password: 'reader-pw', actions: ['pull'] } },
    ...opts,
  });
  let registry: RegistryServer;
  try {
    registry = await startRegistry({
      authYaml: [
        'auth:',
        '  token:',
        `    realm: ${tokens.realm}`,
        `    service: ${tokens.service}`,
        `    issuer: ${tokens.issuer}`,
        `    rootcertbundle: ${tokens.certPath}`,
        '',
      ].join('\n'),
    });
  } catch (e) {
    await tokens.stop();
    throw e;
  }
  return {
    ...registry,
    username,
    password,
    tokens,
    stop: async () => {
      await registry.stop();
      await tokens.stop();
    },
  };
}
