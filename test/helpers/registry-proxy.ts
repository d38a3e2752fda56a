import { createHash } from 'node:crypto';
import http from 'node:http';
import { MANIFEST_ACCEPT } from '../../src/registry/media-types.js';
import type { AddressInfo } from 'node:net';

/**
 * A loopback proxy in front of the real registry: records every request, injects 429/500 answers,
 * and paginates tag lists the way registries that honour n/last do (Debian's distribution 2.8
 * ignores both and returns every tag at once, in no particular order). The tags are served in
 * lexical order, as the OCI distribution spec says; with `link: false` the proxy sends no Link
 * header (the spec makes it optional), so a client must ask for the next page with `last` itself;
 * with `paginate: false` tag lists pass through as the registry answers them.
 *
 * With `keep`, the proxy refuses what ECR refuses for an immutable tag: a manifest PUT under a tag
 * `keep(repository, tag)` holds that names another digest than the tag has is answered 400
 * TAG_INVALID with ECR's message; the same digest again, a new tag, or a digest reference passes.
 */
export interface Fault {
  match: (req: http.IncomingMessage) => boolean;
  times: number;
  status: number;
  headers?: Record<string, string>;
}

export interface RegistryProxy {
  /** host:port of the proxy, to use as the registry host. */
  host: string;
  url: string;
  faults: Fault[];
  seen: Array<{ method: string; url: string; status: number }>;
  /** Send Link headers on tag-list pages (default true). */
  link: boolean;
  /** Serve tag lists page by page with n/last (default true); false passes the registry's answer. */
  paginate: boolean;
  stop(): Promise<void>;
}

export interface RegistryProxyOptions {
  link?: boolean;
  paginate?: boolean;
  /** Tags never overwritten with another digest (ECR IMMUTABLE): true to keep `repository:tag`. */
  keep?: (repository: string, tag: string) => boolean;
}

const MANIFEST_PUT = /^\/v2\/(.+)\/manifests\/([^/]+)$/;

/** The digest `repository:tag` has upstream, asked with the caller's credentials; undefined: none. */
function upstreamDigest(
  upstream: string,
  repository: string,
  tag: string,
  authorization: string | undefined,
): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      `${upstream}/v2/${repository}/manifests/${tag}`,
      {
        method: 'HEAD',
        headers: {
          ...(authorization ? { authorization } : {}),
          accept: MANIFEST_ACCEPT,
        },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? String(res.headers['docker-content-digest'] ?? '') : undefined);
      },
    );
    r.on('error', reject);
    r.end();
  });
}

export async function startRegistryProxy(
  upstream: string,
  opts: RegistryProxyOptions = {},
): Promise<RegistryProxy> {
  const faults: Fault[] = [];
  const seen: RegistryProxy['seen'] = [];
  const proxy = { link: opts.link ?? true, paginate: opts.paginate ?? true } as RegistryProxy;
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
    const put = req.method === 'PUT' ? MANIFEST_PUT.exec(u.pathname) : null;
    if (put && opts.keep && !put[2]!.includes(':') && opts.keep(put[1]!, put[2]!)) {
      const [, repository, tag] = put as unknown as [string, string, string];
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
        upstreamDigest(upstream, repository, tag, req.headers.authorization).then(
          (held) => {
            if (held && held !== digest) {
              seen.push({ method: req.method!, url: req.url!, status: 400 });
              res.writeHead(400, { 'content-type': 'application/json' });
              res.end(
                JSON.stringify({
                  errors: [
                    {
                      code: 'TAG_INVALID',
                      message: `The image tag '${tag}' already exists in the '${repository}' repository and cannot be overwritten because the tag is immutable.`,
                    },
                  ],
                }),
              );
              return;
            }
            const up = http.request(
              `${upstream}${req.url}`,
              { method: 'PUT', headers: { ...req.headers, 'content-length': String(body.length) } },
              (ur) => {
                seen.push({ method: req.method!, url: req.url!, status: ur.statusCode! });
                res.writeHead(ur.statusCode!, ur.headers);
                ur.pipe(res);
              },
            );
            up.on('error', () => res.destroy());
            up.end(body);
          },
          () => res.destroy(),
        );
      });
      return;
    }
    const tags = proxy.paginate ? /^\/v2\/(.+)\/tags\/list$/.exec(u.pathname) : null;
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
            if (rest.length > n && proxy.link)
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
  return Object.assign(proxy, {
    host,
    url: `http://${host}`,
    faults,
    seen,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  });
}
