import { C2CError, errorMessage, formatDuration, request, type Logger } from '../core/index.js';
import { asArray, asObject, get } from '../deploy/index.js';
import type { Scope } from './claims.js';

/**
 * `ready-probe`: ready means usable. After the rollout, the environment's first URL must answer
 * 2xx at the probe's path within the deadline. Through the Ingress: its host (Host header, and SNI
 * for https) sent to the address the ingress controller assigned to the Ingress
 * (status.loadBalancer.ingress: its hostname or IP, and its port when the status gives one), so
 * the probe needs no DNS record for the environment's host; waited for until it is assigned. A URL
 * that is not an Ingress's (a load balancer's address) is asked directly.
 */
export interface ReadyProbe {
  /** The URL (scheme and host) of the first service. */
  url: string;
  /** The Ingress that serves it, when one does. */
  ingress?: string;
  /** The probe's path, e.g. /healthz. */
  path: string;
}

export async function probeReady(
  s: Scope,
  namespace: string,
  probe: ReadyProbe,
  o: { deadline: number; logger: Logger; now?: () => number; pollMs?: number },
): Promise<{ answeredAt: number; status: number; via: string }> {
  const now = o.now ?? Date.now;
  const u = new URL(probe.path, probe.url);
  const started = now();
  let last: string;
  for (let attempt = 1; ; attempt++) {
    let via = u.origin;
    try {
      const target = probe.ingress ? await ingressAddress(s, namespace, probe.ingress, u) : undefined;
      if (probe.ingress && !target) last = `Ingress ${namespace}/${probe.ingress} has no address yet`;
      else {
        const url = target ? `${u.protocol}//${target}${u.pathname}${u.search}` : u.href;
        via = target ? `${u.host} at ${target}` : u.host;
        const res = await request({
          url,
          headers: { host: u.host, 'user-agent': 'commit-to-cloud ready-probe' },
          ...(u.protocol === 'https:' ? { servername: u.hostname } : {}),
          timeoutMs: 5_000,
        });
        if (res.status >= 200 && res.status < 300) {
          o.logger.info(
            `ready-probe: GET ${u.href} answered ${res.status} (${via}) after ${formatDuration(now() - started)}`,
          );
          return { answeredAt: now(), status: res.status, via };
        }
        last = `GET ${u.href} answered ${res.status} (${via})`;
      }
    } catch (e) {
      last = `GET ${u.href} (${via}): ${errorMessage(e)}`;
    }
    if (attempt === 1 || attempt % 10 === 0) o.logger.info(`ready-probe: ${last}; trying again`);
    if (now() >= o.deadline)
      throw new C2CError(
        `ready-probe: ${u.href} did not answer 2xx within ${formatDuration(o.deadline - started)}: ${last}. The services rolled out, but the environment is not usable yet: check the probe path, the Service's port and the ingress controller.`,
      );
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1_000));
  }
}

/** host[:port] of the Ingress's address, when the controller has assigned one. */
async function ingressAddress(
  s: Scope,
  namespace: string,
  name: string,
  u: URL,
): Promise<string | undefined> {
  const ing = await s.client.get({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace, name });
  const first = asObject(asArray(get(ing, 'status', 'loadBalancer', 'ingress'))[0]);
  const address = (first?.hostname ?? first?.ip) as string | undefined;
  if (!address) return undefined;
  const port = Number(asObject(asArray(first?.ports)[0])?.port) || (u.protocol === 'https:' ? 443 : 80);
  const host = address.includes(':') ? `[${address}]` : address;
  return (u.protocol === 'https:' && port === 443) || (u.protocol === 'http:' && port === 80)
    ? host
    : `${host}:${port}`;
}
