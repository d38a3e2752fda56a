import type http from 'node:http';
import type { IncomingMessage } from 'node:http';
import { onCloseHttpAgents } from './agents.js';
import { C2CError } from './errors.js';
import { parseRetryAfter, retry, type RetryOptions } from './retry.js';
import type { Logger } from './logger.js';

/**
 * The one HTTP layer under the registry client, the Kubernetes access layer and the fakes' clients:
 * node:http(s) with keep-alive agents, TLS options per endpoint (a cluster's own CA, client
 * certificates), no shell, no global state beyond the agent pool.
 */
export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  insecureSkipVerify?: boolean;
  servername?: string;
}

export interface HttpRequest extends TlsOptions {
  method?: string;
  url: string | URL;
  headers?: Record<string, string | undefined>;
  body?: string | Buffer;
  /** Socket inactivity timeout. Default 30 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  url: string;
}

export class HttpError extends C2CError {
  override name = 'HttpError';
  readonly retryAfterMs?: number;
  constructor(
    readonly status: number,
    readonly method: string,
    readonly url: string,
    readonly body: string,
    headers: http.IncomingHttpHeaders = {},
    what?: string,
  ) {
    const detail = body.trim().slice(0, 300);
    super(`${what ?? `${method} ${redactUrl(url)}`}: HTTP ${status}${detail ? `: ${detail}` : ''}`);
    const ra = parseRetryAfter(headers['retry-after']);
    if (ra !== undefined) this.retryAfterMs = ra;
  }
}

/** Drops credentials and query strings from a URL before it is printed. */
export function redactUrl(url: string | URL): string {
  try {
    const u = new URL(String(url));
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '<url>';
  }
}

const agents = new Map<string, http.Agent>();

// node:http and node:https load on first use (process.getBuiltinModule), each only for its scheme: a step
// that talks to one plain-HTTP registry does not compile TLS, and one that talks to none loads neither.

function agentFor(u: URL, tls: TlsOptions): http.Agent {
  const key = `${u.protocol}|${tls.insecureSkipVerify ? 'k' : ''}|${tls.servername ?? ''}|${String(tls.ca ?? '')}|${String(tls.cert ?? '')}`;
  let a = agents.get(key);
  if (!a) {
    a =
      u.protocol === 'https:'
        ? new (process.getBuiltinModule('node:https').Agent)({
            keepAlive: true,
            maxSockets: 16,
            ...(tls.ca ? { ca: tls.ca } : {}),
            ...(tls.cert ? { cert: tls.cert } : {}),
            ...(tls.key ? { key: tls.key } : {}),
            ...(tls.servername ? { servername: tls.servername } : {}),
            rejectUnauthorized: !tls.insecureSkipVerify,
          })
        : new (process.getBuiltinModule('node:http').Agent)({ keepAlive: true, maxSockets: 16 });
    agents.set(key, a);
  }
  return a;
}

onCloseHttpAgents(() => {
  for (const a of agents.values()) a.destroy();
  agents.clear();
});
export { closeHttpAgents } from './agents.js';

function send(req: HttpRequest): Promise<IncomingMessage> {
  const u = new URL(String(req.url));
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new C2CError(`Unsupported URL scheme in ${redactUrl(u)}`);
  const mod =
    u.protocol === 'https:' ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) if (v !== undefined) headers[k] = v;
  if (
    req.body !== undefined &&
    headers['content-length'] === undefined &&
    headers['Content-Length'] === undefined
  )
    headers['content-length'] = String(Buffer.byteLength(req.body));
  return new Promise((resolve, reject) => {
    const r = mod.request(
      u,
      {
        method: req.method ?? 'GET',
        headers,
        agent: agentFor(u, req),
        ...(req.signal ? { signal: req.signal } : {}),
      },
      resolve,
    );
    r.setTimeout(req.timeoutMs ?? 30_000, () =>
      r.destroy(
        Object.assign(new Error(`timed out after ${req.timeoutMs ?? 30_000} ms`), { code: 'ETIMEDOUT' }),
      ),
    );
    r.on('error', reject);
    if (req.body !== undefined) r.end(req.body);
    else r.end();
  });
}

/** One attempt; any status resolves. Network errors reject. */
export async function request(req: HttpRequest): Promise<HttpResponse> {
  const res = await send(req);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    body: Buffer.concat(chunks),
    url: String(req.url),
  };
}

/** One attempt, the body left as a stream (watches, logs). */
export async function requestStream(
  req: HttpRequest,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; stream: IncomingMessage }> {
  const res = await send(req);
  return { status: res.statusCode ?? 0, headers: res.headers, stream: res };
}

export interface FetchOptions {
  /** Statuses that are answers, not failures (e.g. 404 for "does not exist"). 2xx always are. */
  accept?: number[];
  retry?: RetryOptions;
  logger?: Logger;
  /** What the request is for, in words: used in errors and retry logs. */
  what?: string;
}

/** request() through the retry helper: transient failures retried, other non-accepted statuses thrown as HttpError. */
export async function fetchWithRetry(req: HttpRequest, opts: FetchOptions = {}): Promise<HttpResponse> {
  const method = req.method ?? 'GET';
  const what = opts.what ?? `${method} ${redactUrl(req.url)}`;
  return retry(
    what,
    async () => {
      const res = await request(req);
      if ((res.status >= 200 && res.status < 300) || opts.accept?.includes(res.status)) return res;
      throw new HttpError(res.status, method, String(req.url), res.body.toString('utf8'), res.headers, what);
    },
    {
      ...opts.retry,
      onRetry: (err, attempt, delay) => {
        opts.logger?.debug(
          `${what}: attempt ${attempt} failed (${(err as Error).message}); retrying in ${delay} ms`,
        );
        opts.retry?.onRetry?.(err, attempt, delay);
      },
    },
  );
}
