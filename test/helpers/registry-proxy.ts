import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback proxy in front of the real registry: records every request, injects 429/500 answers,
 * and paginates tag lists the way registries that honour n/last do (Debian's distribution 2.8
 * ignores both and returns every tag at once, in no particular order). The tags are served in
 * lexical order, as the OCI distribution spec says; with `link: false` the proxy sends no Link
 * header (the spec makes it optional), so a client must ask for the next page with `last` itself;
 * with `paginate: false` tag lists pass through as the registry answers them.
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

export async function startRegistryProxy(
  upstream: string,
  opts: { link?: boolean; paginate?: boolean } = {},
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
