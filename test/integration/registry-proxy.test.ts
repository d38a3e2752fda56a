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
import { startRegistryProxy, type RegistryProxy } from '../helpers/registry-proxy.js';

describe.skipIf(!haveTools('docker-registry'))('registry client: faults, retries and pagination', () => {
  let registry: RegistryServer;
  let proxy: RegistryProxy;
  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startRegistryProxy(registry.url);
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

  it('without Link headers (optional in the OCI spec), asks for the next page with n and last', async () => {
    const want = ['t00', 't01', 't02', 't03', 't04', 't05', 't06'];
    for (const tag of want) await pushTestImage(registry, 'flt/nolink', tag);
    const r = await connectRegistry(proxy.host, { logger: memoryLogger() });
    proxy.link = false;
    try {
      proxy.seen.length = 0;
      expect(await r.listTags('flt/nolink', { pageSize: 2 })).toEqual(want);
      // A page shorter than n is the last one.
      expect(proxy.seen.map((s) => s.url)).toEqual([
        '/v2/flt/nolink/tags/list?n=2',
        '/v2/flt/nolink/tags/list?n=2&last=t01',
        '/v2/flt/nolink/tags/list?n=2&last=t03',
        '/v2/flt/nolink/tags/list?n=2&last=t05',
      ]);
      // A full last page: one more request, answered with no tags.
      proxy.seen.length = 0;
      expect(await r.listTags('flt/nolink', { pageSize: 7 })).toEqual(want);
      expect(proxy.seen.map((s) => s.url)).toEqual([
        '/v2/flt/nolink/tags/list?n=7',
        '/v2/flt/nolink/tags/list?n=7&last=t06',
      ]);
    } finally {
      proxy.link = true;
    }
  });

  it('a registry that ignores n (Debian distribution 2.8 lists every tag) is read in one request', async () => {
    const want = ['u00', 'u01', 'u02', 'u03', 'u04'];
    for (const tag of want) await pushTestImage(registry, 'flt/ignores-n', tag);
    const r = await connectRegistry(proxy.host, { logger: memoryLogger() });
    proxy.paginate = false;
    try {
      proxy.seen.length = 0;
      expect((await r.listTags('flt/ignores-n', { pageSize: 2 })).sort()).toEqual(want);
      expect(proxy.seen.map((s) => s.url)).toEqual(['/v2/flt/ignores-n/tags/list?n=2']);
    } finally {
      proxy.paginate = true;
    }
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
