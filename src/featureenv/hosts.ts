import { asArray, asObject, asString, kindOf, metadataOf, nameOf, type JsonObject } from '../deploy/index.js';
import type { KubeObject } from '../kube/index.js';

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
): Array<{ service: string; url: string }> {
  const urls: Array<{ service: string; url: string }> = [];
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
      urls.push({ service, url: `${tls ? 'https' : 'http'}://${host}` });
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
