import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { C2CError } from '../../src/core/errors.js';
import {
  connectRegistry,
  OCI_MANIFEST,
  RegistryError,
  RegistryUnreachableError,
} from '../../src/registry/index.js';
import { haveTools } from '../helpers/tools.js';
import { freePort } from '../helpers/net.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { pushTestImage } from '../helpers/oci.js';

/**
 * A loopback proxy in front of the real registry: injects 429/500 answers, and paginates tag lists
 * the way registries that honour n/last do (distribution 2.8 returns every tag at once).
 */
interface Fault {
  match: (req: http.IncomingMessage) => boolean;
  times: number;
  status: number;
  headers?: Record<string, string>;
}

async function startProxy(upstream: string) {
  const faults: Fault[] = [];
  const seen: Array<{ method: string; url: string; status: number }> = [];
  const server = http.createServer((req, res) => {
    const fault = faults.find((f) => f.times > 0 && f.match(req));
    if (fault) {
      fault.times--;
      seen.push({ method: req.method!, url: req.url!, status: fault.status });
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(
        JSON.stringify({
          errors: [{ code: fault.status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN', message: 'injected' }],
        }),
      );
      return;
    }
    const u = new URL(req.url!, 'http://x');
    const tags = /^\/v2\/(.+)\/tags\/list$/.exec(u.pathname);
    const up = http.request(
      `${upstream}${tags ? u.pathname : req.url}`,
      { method: req.method, headers: req.headers },
      (ur) => {
        if (tags && ur.statusCode === 200) {
          const chunks: Buffer[] = [];
          ur.on('data', (c: Buffer) => chunks.push(c));
          ur.on('end', () => {
            const all = (
              (JSON.parse(Buffer.concat(chunks).toString()) as { tags: string[] }).tags ?? []
            ).sort();
            const n = Number(u.searchParams.get('n') ?? all.length);
            const last = u.searchParams.get('last');
            const rest = last ? all.filter((t) => t > last) : all;
            const page = rest.slice(0, n);
            const headers: Record<string, string> = { 'content-type': 'application/json' };
            if (rest.length > n)
              headers.link = `</v2/${tags[1]}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1]!)}>; rel="next"`;
            seen.push({ method: req.method!, url: req.url!, status: 200 });
            res.writeHead(200, headers);
            res.end(JSON.stringify({ name: tags[1], tags: page }));
          });
          return;
        }
        seen.push({ method: req.method!, url: req.url!, status: ur.statusCode! });
        res.writeHead(ur.statusCode!, ur.headers);
        ur.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: `http://${host}`,
    faults,
    seen,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

describe.skipIf(!haveTools('docker-registry'))('registry client: faults, retries and pagination', () => {
  let registry: RegistryServer;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });
  beforeEach(() => {
    proxy.faults.length = 0;
    proxy.seen.length = 0;
  });

  it('a 429 with Retry-After is waited out as the registry asked, then the answer arrives', async () => {
    const img = await pushTestImage(registry, 'flt/app', 'v1');
    const delays: number[] = [];
    const r = await connectRegistry(proxy.host, {
      logger: memoryLogger(),
      retry: { baseDelayMs: 10, onRetry: (_e, _a, d) => delays.push(d) },
    });
    proxy.faults.push({
      match: (q) => q.method === 'HEAD' && q.url!.includes('/manifests/'),
      times: 2,
      status: 429,
      headers: { 'retry-after': '1' },
    });
    expect(await r.head('flt/app', 'v1')).toMatchObject({ digest: img.digest });
    expect(delays).toEqual([1000, 1000]);
    expect(proxy.seen.filter((s) => s.method === 'HEAD').map((s) => s.status)).toEqual([429, 429, 200]);
  });

  it('500s are retried with backoff and the client still gets the answer (GET and PUT)', async () => {
    const img = await pushTestImage(registry, 'flt/app5', 'v1', { labels: { ok: 'yes' } });
    const r = await connectRegistry(proxy.host, { logger: memoryLogger(), retry: { baseDelayMs: 10 } });
    proxy.faults.push({ match: (q) => q.method === 'GET', times: 2, status: 500 });
    expect((await r.imageConfig('flt/app5', 'v1')).labels).toEqual({ ok: 'yes' });
    proxy.faults.push({ match: (q) => q.method === 'PUT', times: 1, status: 503 });
    expect(await r.putManifest('flt/app5', 'v2', JSON.stringify(img.manifest), OCI_MANIFEST)).toBe(
      img.digest,
    );
    expect(proxy.seen.filter((s) => s.status >= 500)).toHaveLength(3);
  });

  it('a 500 that does not stop: bounded attempts, then an error with the status and the registry', async () => {
    const r = await connectRegistry(proxy.host, {
      logger: memoryLogger(),
      retry: { baseDelayMs: 5, attempts: 3 },
    });
    proxy.faults.push({ match: (q) => q.method === 'HEAD', times: 100, status: 500 });
    const err = await r.head('flt/app', 'v1').catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.status).toBe(500);
    expect(err.message).toMatch(
      new RegExp(`HEAD manifest flt/app:v1 on ${proxy.host} failed after 3 attempts`),
    );
    expect(proxy.seen.filter((s) => s.method === 'HEAD')).toHaveLength(3);
  });

  it('follows Link pagination through every page of tags', async () => {
    const img = await pushTestImage(registry, 'flt/tags', 't00');
    const want = ['t00'];
    for (let i = 1; i < 7; i++) {
      const tag = `t${String(i).padStart(2, '0')}`;
      await pushTestImage(registry, 'flt/tags', tag);
      want.push(tag);
    }
    void img;
    const r = await connectRegistry(proxy.host, { logger: memoryLogger() });
    proxy.seen.length = 0;
    expect(await r.listTags('flt/tags', { pageSize: 2 })).toEqual(want);
    // Four pages: 2 + 2 + 2 + 1.
    expect(proxy.seen.map((s) => s.url)).toEqual([
      '/v2/flt/tags/tags/list?n=2',
      '/v2/flt/tags/tags/list?n=2&last=t01',
      '/v2/flt/tags/tags/list?n=2&last=t03',
      '/v2/flt/tags/tags/list?n=2&last=t05',
    ]);
  });
});

describe('registry client: an unreachable registry', () => {
  it('a closed port: bounded retries, then an error naming the registry (default bounds)', async () => {
    const port = await freePort();
    const start = Date.now();
    const err = await connectRegistry(`127.0.0.1:${port}`, { logger: memoryLogger() }).catch((e) => e);
    const elapsed = Date.now() - start;
    expect(err).toBeInstanceOf(RegistryUnreachableError);
    expect(err).toBeInstanceOf(C2CError);
    expect(err.message).toContain(
      `Registry 127.0.0.1:${port} is unreachable at http://127.0.0.1:${port}/v2/`,
    );
    expect(err.message).toMatch(/failed after 5 attempts/);
    expect(err.message).toMatch(/ECONNREFUSED/);
    // Default backoff: at most 250+500+1000+2000 ms of waiting (plus connection attempts).
    expect(elapsed).toBeLessThan(8000);
  });

  it('a server that drops every connection: exactly the configured number of attempts', async () => {
    let connections = 0;
    const server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const err = await connectRegistry(host, {
        logger: memoryLogger(),
        retry: { attempts: 3, baseDelayMs: 20 },
      }).catch((e) => e);
      expect(err).toBeInstanceOf(RegistryUnreachableError);
      expect(err.message).toMatch(/failed after 3 attempts/);
      expect(connections).toBe(3);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('a host that is not loopback is reached over https, never plain http', async () => {
    const err = await connectRegistry('10.255.255.1:5000', {
      logger: memoryLogger(),
      retry: { attempts: 1 },
      timeoutMs: 300,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryUnreachableError);
    expect(err.message).toContain('https://10.255.255.1:5000/v2/');
  });
});
