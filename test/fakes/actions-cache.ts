/**
 * A loopback stand-in for the GitHub Actions cache service, spoken to by the real @actions/cache.
 *
 * @actions/cache 6.x speaks two protocols and picks one from the environment the runner sets:
 * - v2 (github.com today; ACTIONS_CACHE_SERVICE_V2 set and GITHUB_SERVER_URL github.com/ghe.com):
 *   Twirp JSON at ACTIONS_RESULTS_URL `/twirp/github.actions.results.api.v1.CacheService/<Method>`
 *   (GetCacheEntryDownloadURL, CreateCacheEntry, FinalizeCacheEntryUpload), with the archive
 *   uploaded by the Azure Storage SDK to a signed blob URL (one Put Blob for files up to 128 MiB) and
 *   downloaded with a plain GET of the signed download URL.
 * - v1 (legacy, GitHub Enterprise Server): REST at ACTIONS_CACHE_URL `_apis/artifactcache/...`
 *   (GET cache?keys=&version=, POST caches, PATCH caches/{id} chunks with Content-Range,
 *   POST caches/{id} commit).
 * Both serve the same entries. Lookups match the key exactly first, then as a prefix (newest first),
 * then each restore key the same way, always within the same version, as the service does.
 * Requests carry ACTIONS_RUNTIME_TOKEN as a bearer token; a wrong one gets 401.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface CacheEntry {
  id: number;
  key: string;
  version: string;
  /** Size the client declared (v1 reserve) or finalized with (v2). */
  size: number;
  data: Buffer;
  /** Finalized (v2) or committed (v1): only those are found by lookups. */
  committed: boolean;
  createdAt: string;
}

export interface CacheRequest {
  method: string;
  path: string;
  /** Twirp method or v1/blob operation name. */
  op: string;
  body: unknown;
  status: number;
}

export interface CacheFault {
  /** Operation to fail: a Twirp method name, 'blob-put', 'blob-get', 'v1-lookup', 'v1-reserve', 'v1-upload', 'v1-commit'. */
  op: string;
  status: number;
  times?: number;
}

export interface ActionsCacheFake {
  url: string;
  protocol: 'v1' | 'v2';
  /** The variables the runner sets for a step, for this fake (RUNNER_TEMP is a fresh temp dir). */
  env: Record<string, string>;
  entries: CacheEntry[];
  requests: CacheRequest[];
  fail(f: CacheFault): void;
  stop(): Promise<void>;
}

const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.CacheService/';

function twirpError(code: string, msg: string): { status: number; body: unknown } {
  const status: Record<string, number> = {
    not_found: 404,
    already_exists: 409,
    invalid_argument: 400,
    unauthenticated: 401,
    permission_denied: 403,
    internal: 500,
    unavailable: 503,
  };
  return { status: status[code] ?? 500, body: { code, msg } };
}

export async function startActionsCacheFake(
  opts: { protocol?: 'v1' | 'v2'; token?: string } = {},
): Promise<ActionsCacheFake> {
  const protocol = opts.protocol ?? 'v2';
  const token = opts.token ?? `fake-runtime-${randomBytes(8).toString('hex')}`;
  const entries: CacheEntry[] = [];
  const requests: CacheRequest[] = [];
  const faults: CacheFault[] = [];
  const sigs = new Map<number, string>();
  const runnerTemp = mkdtempSync(join(tmpdir(), 'c2c-runner-temp-'));
  let nextId = 1;
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const now = () => new Date((clock += 1000)).toISOString();
  let base = '';

  /** The service's matching: exact key, then key prefix, then each restore key; newest first. */
  function lookup(keys: string[], version: string): CacheEntry | undefined {
    const candidates = entries.filter((e) => e.committed && e.version === version).reverse();
    for (const k of keys) {
      const exact = candidates.find((e) => e.key === k);
      if (exact) return exact;
      const prefix = candidates.find((e) => e.key.startsWith(k));
      if (prefix) return prefix;
    }
    return undefined;
  }

  function signed(kind: 'upload' | 'download', e: CacheEntry): string {
    let sig = sigs.get(e.id);
    if (!sig) sigs.set(e.id, (sig = randomBytes(12).toString('base64url')));
    const perm = kind === 'upload' ? 'cw' : 'r';
    return `${base}/blob/devstoreaccount1/actions-cache/${e.id}?sv=2024-08-04&sr=b&sp=${perm}&se=2099-01-01T00%3A00%3A00Z&sig=${sig}`;
  }

  function takeFault(op: string): CacheFault | undefined {
    const f = faults.find((x) => x.op === op);
    if (!f) return undefined;
    f.times = (f.times ?? 1) - 1;
    if (f.times <= 0) faults.splice(faults.indexOf(f), 1);
    return f;
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = (req.method ?? 'GET').toUpperCase();
      const raw = Buffer.concat(chunks);
      const rec: CacheRequest = { method, path: url.pathname, op: '?', body: undefined, status: 0 };
      requests.push(rec);
      const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
        rec.status = status;
        const out =
          body === undefined
            ? Buffer.alloc(0)
            : Buffer.isBuffer(body)
              ? body
              : Buffer.from(JSON.stringify(body));
        res.writeHead(status, {
          ...(body !== undefined && !Buffer.isBuffer(body) ? { 'content-type': 'application/json' } : {}),
          'content-length': String(out.length),
          ...headers,
        });
        res.end(out);
      };
      const json = (): Record<string, unknown> => {
        try {
          const v = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
          rec.body = v;
          return v;
        } catch {
          return {};
        }
      };
      const authorized = () => req.headers.authorization === `Bearer ${token}`;

      // ---- blob storage (v2 upload/download through signed URLs; v1 downloads) ----
      const blob = /^\/blob\/devstoreaccount1\/actions-cache\/(\d+)$/.exec(url.pathname);
      if (blob) {
        const e = entries.find((x) => x.id === Number(blob[1]));
        rec.op = method === 'PUT' ? 'blob-put' : 'blob-get';
        const f = takeFault(rec.op);
        if (f)
          return send(
            f.status,
            Buffer.from('<?xml version="1.0"?><Error><Code>InternalError</Code></Error>'),
          );
        if (!e || url.searchParams.get('sig') !== sigs.get(e.id))
          return send(
            403,
            Buffer.from(
              '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.</Message></Error>',
            ),
            { 'content-type': 'application/xml', 'x-ms-error-code': 'AuthenticationFailed' },
          );
        const msHeaders = {
          'x-ms-request-id': randomBytes(8).toString('hex'),
          'x-ms-version': String(req.headers['x-ms-version'] ?? '2024-08-04'),
          date: new Date().toUTCString(),
        };
        if (method === 'PUT') {
          if (url.searchParams.get('sp') !== 'cw' || e.committed)
            return send(
              403,
              Buffer.from('<?xml version="1.0"?><Error><Code>AuthorizationPermissionMismatch</Code></Error>'),
              {
                'content-type': 'application/xml',
              },
            );
          if (url.searchParams.has('comp'))
            return send(
              400,
              Buffer.from('<?xml version="1.0"?><Error><Code>UnsupportedQueryParameter</Code></Error>'),
              {
                'content-type': 'application/xml',
              },
            );
          if (req.headers['x-ms-blob-type'] !== 'BlockBlob')
            return send(
              400,
              Buffer.from('<?xml version="1.0"?><Error><Code>MissingRequiredHeader</Code></Error>'),
              {
                'content-type': 'application/xml',
              },
            );
          e.data = raw;
          return send(201, undefined, {
            ...msHeaders,
            etag: `"0x${randomBytes(8).toString('hex').toUpperCase()}"`,
            'last-modified': new Date().toUTCString(),
            'x-ms-request-server-encrypted': 'true',
          });
        }
        if (method === 'GET' || method === 'HEAD') {
          if (!e.committed)
            return send(404, Buffer.from('<?xml version="1.0"?><Error><Code>BlobNotFound</Code></Error>'));
          return send(200, method === 'HEAD' ? undefined : e.data, {
            ...msHeaders,
            'content-type': 'application/octet-stream',
            ...(method === 'HEAD' ? { 'content-length': String(e.data.length) } : {}),
            'x-ms-blob-type': 'BlockBlob',
          });
        }
        return send(405, Buffer.from(''));
      }

      // ---- v2: Twirp ----
      if (url.pathname.startsWith(TWIRP_PREFIX)) {
        rec.op = url.pathname.slice(TWIRP_PREFIX.length);
        const body = json();
        if (!authorized()) {
          const er = twirpError('unauthenticated', 'invalid or missing runtime token');
          return send(er.status, er.body);
        }
        const f = takeFault(rec.op);
        if (f) return send(f.status, { code: 'internal', msg: 'injected fault' });
        if (method !== 'POST') return send(405, { code: 'bad_route', msg: 'method not allowed' });
        const key = typeof body.key === 'string' ? body.key : '';
        const version = typeof body.version === 'string' ? body.version : '';
        if (!key || !version) {
          const er = twirpError('invalid_argument', 'key and version are required');
          return send(er.status, er.body);
        }
        switch (rec.op) {
          case 'GetCacheEntryDownloadURL': {
            const restore = Array.isArray(body.restore_keys) ? (body.restore_keys as string[]) : [];
            const hit = lookup([key, ...restore], version);
            if (!hit) return send(200, { ok: false, signed_download_url: '', matched_key: '' });
            return send(200, {
              ok: true,
              signed_download_url: signed('download', hit),
              matched_key: hit.key,
            });
          }
          case 'CreateCacheEntry': {
            if (entries.some((e) => e.key === key && e.version === version)) {
              const er = twirpError(
                'already_exists',
                'cache entry with the same key, version, and scope already exists',
              );
              return send(er.status, er.body);
            }
            const e: CacheEntry = {
              id: nextId++,
              key,
              version,
              size: 0,
              data: Buffer.alloc(0),
              committed: false,
              createdAt: now(),
            };
            entries.push(e);
            return send(200, { ok: true, signed_upload_url: signed('upload', e) });
          }
          case 'FinalizeCacheEntryUpload': {
            const e = entries.find((x) => x.key === key && x.version === version && !x.committed);
            if (!e) {
              const er = twirpError('not_found', 'cache entry not found');
              return send(er.status, er.body);
            }
            const size = Number(body.size_bytes ?? 0);
            if (size !== e.data.length)
              return send(200, {
                ok: false,
                entry_id: '0',
                message: `uploaded ${e.data.length} bytes, finalized with ${size}`,
              });
            e.size = size;
            e.committed = true;
            return send(200, { ok: true, entry_id: String(e.id) });
          }
          default:
            return send(404, { code: 'bad_route', msg: `no handler for ${rec.op}` });
        }
      }

      // ---- v1: legacy REST ----
      const v1 = /^\/_apis\/artifactcache\/(cache|caches)(?:\/(\d+))?$/.exec(url.pathname);
      if (v1) {
        if (!authorized()) return send(401, { message: 'unauthorized' });
        const [, res1, idText] = v1;
        if (res1 === 'cache' && method === 'GET') {
          rec.op = 'v1-lookup';
          const f = takeFault(rec.op);
          if (f) return send(f.status, { message: 'injected fault' });
          const keys = (url.searchParams.get('keys') ?? '').split(',').filter(Boolean);
          const hit = lookup(keys, url.searchParams.get('version') ?? '');
          if (!hit) return send(204);
          return send(200, {
            scope: 'refs/heads/main',
            cacheKey: hit.key,
            cacheVersion: hit.version,
            creationTime: hit.createdAt,
            archiveLocation: signed('download', hit),
          });
        }
        if (res1 === 'caches' && !idText && method === 'GET') {
          rec.op = 'v1-list';
          const k = url.searchParams.get('key') ?? '';
          const list = entries.filter((e) => e.committed && e.key === k);
          return send(200, {
            totalCount: list.length,
            artifactCaches: list.map((e) => ({
              cacheKey: e.key,
              cacheVersion: e.version,
              scope: 'refs/heads/main',
              creationTime: e.createdAt,
            })),
          });
        }
        if (res1 === 'caches' && !idText && method === 'POST') {
          rec.op = 'v1-reserve';
          const body = json();
          const f = takeFault(rec.op);
          if (f) return send(f.status, { message: 'injected fault' });
          const key = String(body.key ?? '');
          const version = String(body.version ?? '');
          if (entries.some((e) => e.key === key && e.version === version))
            return send(409, {
              message: `Cache already exists. Scope: refs/heads/main, Key: ${key}, Version: ${version}`,
              typeName:
                'Microsoft.Azure.DevOps.PipelineCache.WebApi.ArtifactCacheEntryAlreadyExistsException',
            });
          const e: CacheEntry = {
            id: nextId++,
            key,
            version,
            size: Number(body.cacheSize ?? 0),
            data: Buffer.alloc(0),
            committed: false,
            createdAt: now(),
          };
          entries.push(e);
          return send(201, { cacheId: e.id });
        }
        const e = entries.find((x) => x.id === Number(idText));
        if (idText && method === 'PATCH') {
          rec.op = 'v1-upload';
          const f = takeFault(rec.op);
          if (f) return send(f.status, { message: 'injected fault' });
          if (!e || e.committed) return send(404, { message: 'cache not found or already committed' });
          const m = /^bytes (\d+)-(\d+)\/\*$/.exec(String(req.headers['content-range'] ?? ''));
          if (!m || Number(m[2]) - Number(m[1]) + 1 !== raw.length)
            return send(400, { message: 'bad Content-Range' });
          const start = Number(m[1]);
          const end = start + raw.length;
          if (e.data.length < end) e.data = Buffer.concat([e.data, Buffer.alloc(end - e.data.length)]);
          raw.copy(e.data, start);
          return send(204);
        }
        if (idText && method === 'POST') {
          rec.op = 'v1-commit';
          const body = json();
          const f = takeFault(rec.op);
          if (f) return send(f.status, { message: 'injected fault' });
          if (!e || e.committed) return send(404, { message: 'cache not found or already committed' });
          if (Number(body.size) !== e.data.length)
            return send(400, {
              message: `size ${String(body.size)} does not match the ${e.data.length} bytes uploaded`,
            });
          e.size = e.data.length;
          e.committed = true;
          return send(204);
        }
      }
      send(404, { message: 'not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const env: Record<string, string> =
    protocol === 'v2'
      ? {
          ACTIONS_RUNTIME_TOKEN: token,
          ACTIONS_RESULTS_URL: `${base}/`,
          ACTIONS_CACHE_SERVICE_V2: 'True',
          // Not GitHub Enterprise Server: GHES forces v1.
          GITHUB_SERVER_URL: 'https://github.com',
          RUNNER_TEMP: runnerTemp,
        }
      : {
          ACTIONS_RUNTIME_TOKEN: token,
          ACTIONS_CACHE_URL: `${base}/`,
          // Empty: the library reads it as unset and speaks v1.
          ACTIONS_CACHE_SERVICE_V2: '',
          ACTIONS_RESULTS_URL: '',
          GITHUB_SERVER_URL: 'https://ghes.example.internal',
          RUNNER_TEMP: runnerTemp,
        };

  return {
    url: base,
    protocol,
    env,
    entries,
    requests,
    fail: (f) => {
      faults.push({ ...f });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(runnerTemp, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
