import { asArray, asObject, asString, kindOf, metadataOf, nameOf, type JsonObject } from '../deploy/index.js';
import type { KubeObject } from '../kube/index.js';
import type { PreparedSet } from '../deploy/index.js';

type Manifest = PreparedSet['manifests'][number];

/** A Service of type LoadBalancer of the set, and the port its URL uses (its first). */
export interface LoadBalancerService {
  name: string;
  port: number;
}

/**
 * A set without an Ingress whose entry points are Services of type LoadBalancer (a common shape of
 * demo and microservice repositories) still gets URLs. With `domain`: each such Service becomes
 * ClusterIP (no cloud load balancer per environment) and gets an Ingress of its own name, to its
 * first port, whose host rewriteIngresses then gives from the host template. Without `domain`: the
 * Services stay as they are, returned, and their URLs are the load balancers' addresses once
 * assigned (loadBalancerUrls). A set with an Ingress is left as it is.
 */
export function exposeLoadBalancers(
  manifests: Manifest[],
  o: { domain: string },
): { manifests: Manifest[]; waitFor: LoadBalancerService[] } {
  if (manifests.some((m) => m.object.kind === 'Ingress')) return { manifests, waitFor: [] };
  const lbs = manifests.filter(
    (m) => m.object.kind === 'Service' && asString(asObject(m.object.spec)?.type) === 'LoadBalancer',
  );
  const found = lbs.map((m) => {
    const port = asObject(asArray(asObject(m.object.spec)?.ports)[0]);
    return { manifest: m, name: nameOf(m.object), port: Number(port?.port ?? 80) };
  });
  if (!o.domain) return { manifests, waitFor: found.map(({ name, port }) => ({ name, port })) };
  const added: Manifest[] = [];
  for (const { manifest, name, port } of found) {
    const spec = asObject(manifest.object.spec)!;
    spec.type = 'ClusterIP';
    // Fields only a LoadBalancer (or NodePort) Service may carry.
    for (const k of [
      'loadBalancerIP',
      'loadBalancerSourceRanges',
      'loadBalancerClass',
      'externalTrafficPolicy',
      'allocateLoadBalancerNodePorts',
    ])
      delete spec[k];
    for (const p of asArray(spec.ports).map(asObject)) if (p) delete p.nodePort;
    added.push({
      object: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'commit-to-cloud' } },
        spec: {
          rules: [
            {
              host: name,
              http: {
                paths: [
                  { path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: port } } } },
                ],
              },
            },
          ],
        },
      } as KubeObject,
      file: manifest.file,
      line: manifest.line,
      index: manifests.length + added.length,
    });
  }
  return { manifests: [...manifests, ...added], waitFor: [] };
}

/** The URL of a load balancer's address: http on 80, https on 443, else http with the port. */
export function loadBalancerUrl(address: string, port: number): string {
  return port === 443
    ? `https://${address}`
    : port === 80
      ? `http://${address}`
      : `http://${address}:${port}`;
}

/**
 * The environment's Ingresses: each rule's host rewritten with `host-template` (`{service}` is the
 * Ingress name, or the Service of the rule's first backend when the Ingress has several rules),
 * `ingress-annotations` set, and TLS hosts kept in step. Returns the URLs, first service first.
 */
export function rewriteIngresses(
  objects: KubeObject[],
  o: {
    hostTemplate: string;
    domain: string;
    number: number | string;
    namespace: string;
    annotations: Array<[string, string]>;
    /** `tls-secret`: every Ingress gets `tls` with its hosts and this Secret. */
    tlsSecret?: string;
  },
): Array<{ service: string; url: string; ingress: string }> {
  const urls: Array<{ service: string; url: string; ingress: string }> = [];
  for (const obj of objects) {
    if (kindOf(obj) !== 'Ingress') continue;
    const spec = asObject(obj.spec) ?? {};
    const rules = asArray(spec.rules)
      .map(asObject)
      .filter((r): r is JsonObject => !!r);
    const renamed = new Map<string, string>();
    const hosts: string[] = [];
    rules.forEach((rule) => {
      const backend = asObject(asObject(asArray(asObject(rule.http)?.paths)[0])?.backend);
      const svc = asString(asObject(backend?.service)?.name);
      const service = rules.length > 1 && svc ? svc : nameOf(obj);
      const host = o.hostTemplate
        .replaceAll('{service}', service)
        .replaceAll('{number}', String(o.number))
        .replaceAll('{namespace}', o.namespace)
        .replaceAll('{domain}', o.domain)
        .toLowerCase();
      if (typeof rule.host === 'string') renamed.set(rule.host, host);
      rule.host = host;
      hosts.push(host);
      const tls = asArray(spec.tls).length > 0 || !!o.tlsSecret;
      urls.push({ service, url: `${tls ? 'https' : 'http'}://${host}`, ingress: nameOf(obj) });
    });
    if (o.tlsSecret) spec.tls = [{ hosts, secretName: o.tlsSecret }];
    else
      for (const t of asArray(spec.tls).map(asObject)) {
        if (!t) continue;
        t.hosts = asArray(t.hosts).map((h) => renamed.get(String(h)) ?? h);
      }
    obj.spec = spec;
    if (o.annotations.length) {
      const meta = metadataOf(obj);
      const ann = (asObject(meta.annotations) ?? {}) as Record<string, unknown>;
      for (const [k, v] of o.annotations) ann[k] = v;
      meta.annotations = ann;
    }
  }
  return urls;
}
