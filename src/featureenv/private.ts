import { createHash, randomBytes } from 'node:crypto';
import { asObject, metadataOf, nameOf, type JsonObject } from '../deploy/index.js';
import type { KubeObject } from '../kube/index.js';
import type { Scope } from './claims.js';
import { FIELD_MANAGER } from './claims.js';

/**
 * Private URLs (`access`). `public`: the Ingresses as they are. `ingress-nginx-oauth`: every Ingress
 * asks the team's oauth2-proxy (`access-url`) through ingress-nginx's external auth (auth-url,
 * auth-signin): a browser is sent to sign in, and only whom the proxy admits (the repository's
 * collaborators, with its GitHub provider and `--github-repo`) gets through. `alb-oidc`: the AWS Load
 * Balancer Controller's OIDC authentication on the ALB (`access-oidc`: the issuer, its endpoints
 * and the Secret with the client's id and secret, copied into each environment).
 *
 * Each environment gets a bypass token of its own, for automated tests (in its Secret
 * ACCESS_SECRET: `token`, and `auth`, the htpasswd line of user `bypass`), checked by the same
 * proxy: ingress-nginx takes HTTP Basic `bypass:<token>` instead of a sign-in (basic auth with
 * `satisfy: any`); the ALB forwards a request whose header X-Feature-Env-Token holds the token (a
 * twin Ingress in the same group, ordered first, with that header as its condition and no
 * authentication). A token works for its own environment only.
 */
export type AccessMode = 'public' | 'ingress-nginx-oauth' | 'alb-oidc';

export interface AccessOptions {
  mode: AccessMode;
  /** ingress-nginx-oauth: the oauth2-proxy's base URL (https://auth.preview.example.com). */
  url?: string;
  /** alb-oidc: the identity provider, and the Secret (namespace/name) with clientID and clientSecret. */
  oidc?: {
    issuer: string;
    authorizationEndpoint: string;
    tokenEndpoint: string;
    userInfoEndpoint: string;
    secret: { namespace: string; name: string };
  };
}

/** The environment's Secret with its bypass token. */
export const ACCESS_SECRET = 'feature-env-access';
/** The header the ALB's bypass rule matches. */
export const BYPASS_HEADER = 'X-Feature-Env-Token';
const BYPASS_SUFFIX = '-c2c-bypass';

/** A new bypass token (32 URL-safe characters). */
export const newBypassToken = () => randomBytes(24).toString('base64url');

/** The htpasswd line of user `bypass` ({SSHA}: salted SHA-1, which nginx reads). */
export function htpasswdLine(token: string, salt = randomBytes(8)): string {
  const digest = createHash('sha1').update(token).update(salt).digest();
  return `bypass:{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

/**
 * Makes the set's Ingresses private (in place), and returns the twin Ingresses of alb-oidc's bypass,
 * each with the Ingress it is the twin of.
 */
export function protectIngresses(
  objects: KubeObject[],
  access: AccessOptions,
  token: string,
): Array<{ twin: KubeObject; of: KubeObject }> {
  if (access.mode === 'public') return [];
  const twins: Array<{ twin: KubeObject; of: KubeObject }> = [];
  for (const obj of objects) {
    if (obj.kind !== 'Ingress') continue;
    const meta = metadataOf(obj as JsonObject);
    const ann = { ...((asObject(meta.annotations) ?? {}) as Record<string, string>) };
    if (access.mode === 'ingress-nginx-oauth') {
      const base = access.url!.replace(/\/+$/, '');
      Object.assign(ann, {
        'nginx.ingress.kubernetes.io/auth-url': `${base}/oauth2/auth`,
        'nginx.ingress.kubernetes.io/auth-signin': `${base}/oauth2/start?rd=$scheme://$host$escaped_request_uri`,
        'nginx.ingress.kubernetes.io/auth-response-headers': 'X-Auth-Request-User,X-Auth-Request-Email',
        // The bypass: HTTP Basic with the environment's token also lets a request in.
        'nginx.ingress.kubernetes.io/auth-type': 'basic',
        'nginx.ingress.kubernetes.io/auth-secret': ACCESS_SECRET,
        'nginx.ingress.kubernetes.io/auth-secret-type': 'auth-file',
        'nginx.ingress.kubernetes.io/auth-realm': 'feature environment',
        'nginx.ingress.kubernetes.io/satisfy': 'any',
      });
    } else {
      const o = access.oidc!;
      const twin = structuredClone(obj);
      Object.assign(ann, {
        'alb.ingress.kubernetes.io/auth-type': 'oidc',
        'alb.ingress.kubernetes.io/auth-idp-oidc': JSON.stringify({
          issuer: o.issuer,
          authorizationEndpoint: o.authorizationEndpoint,
          tokenEndpoint: o.tokenEndpoint,
          userInfoEndpoint: o.userInfoEndpoint,
          secretName: o.secret.name,
        }),
        'alb.ingress.kubernetes.io/auth-on-unauthenticated-request': 'authenticate',
        'alb.ingress.kubernetes.io/auth-scope': 'openid email',
      });
      // The bypass: the same rules, evaluated first, only for requests that carry the token.
      const tmeta = metadataOf(twin as JsonObject);
      const tann = { ...((asObject(tmeta.annotations) ?? {}) as Record<string, string>) };
      for (const k of Object.keys(tann)) if (k.startsWith('alb.ingress.kubernetes.io/auth-')) delete tann[k];
      const condition = JSON.stringify([
        { field: 'http-header', httpHeaderConfig: { httpHeaderName: BYPASS_HEADER, values: [token] } },
      ]);
      for (const service of backendServices(twin))
        tann[`alb.ingress.kubernetes.io/conditions.${service}`] = condition;
      const order = Number(ann['alb.ingress.kubernetes.io/group.order'] ?? '0');
      tann['alb.ingress.kubernetes.io/group.order'] = String(Math.max(-1000, order - 1));
      tmeta.name = `${nameOf(obj).slice(0, 63 - BYPASS_SUFFIX.length)}${BYPASS_SUFFIX}`;
      tmeta.annotations = tann;
      twins.push({ twin, of: obj });
    }
    meta.annotations = ann;
  }
  return twins;
}

/** The Services an Ingress's paths send to. */
function backendServices(ing: KubeObject): string[] {
  const names = new Set<string>();
  const rules = ((ing.spec as JsonObject | undefined)?.rules ?? []) as JsonObject[];
  for (const r of rules)
    for (const p of ((r.http as JsonObject | undefined)?.paths ?? []) as JsonObject[]) {
      const n = ((p.backend as JsonObject | undefined)?.service as JsonObject | undefined)?.name;
      if (typeof n === 'string') names.add(n);
    }
  return [...names];
}

/**
 * The environment's bypass token: the one its Secret holds (kept across updates, so the tests that
 * use it keep working), else a new one, written with its htpasswd line. The token is masked.
 */
export async function writeAccessSecret(s: Scope, namespace: string): Promise<string> {
  const live = await s.client.get({ apiVersion: 'v1', kind: 'Secret', namespace, name: ACCESS_SECRET });
  const data = asObject(live?.data) ?? {};
  const held = typeof data.token === 'string' ? Buffer.from(data.token, 'base64').toString('utf8') : '';
  const token = held || newBypassToken();
  s.logger.secret(token);
  const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');
  // The same token keeps its htpasswd line (a new salt each up would rewrite the Secret each time).
  const auth = held && typeof data.auth === 'string' ? data.auth : b64(htpasswdLine(token));
  await s.client.apply(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: ACCESS_SECRET,
        namespace,
        labels: { 'app.kubernetes.io/managed-by': 'commit-to-cloud' },
      },
      type: 'Opaque',
      data: { token: b64(token), user: b64('bypass'), auth },
    },
    { fieldManager: FIELD_MANAGER, force: true },
  );
  return token;
}
