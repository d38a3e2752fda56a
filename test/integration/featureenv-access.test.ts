import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { PR_LABEL } from '../../src/featureenv/state.js';
import { ACCESS_SECRET, BYPASS_HEADER } from '../../src/featureenv/private.js';
import { deploymentManifest, ingressManifest, serviceManifest } from '../fixtures/workloads.js';
import { runFe, useFeatureEnvStage } from '../helpers/feature-env.js';

/**
 * Issue 16 item 4 on the Kubernetes fake and the GitHub fake: `access` makes the URLs private:
 * ingress-nginx's external auth to the team's oauth2-proxy, or the ALB's OIDC authentication; each
 * environment gets a bypass token of its own (its Secret), checked by the same proxy (nginx's
 * basic auth with `satisfy: any`; the ALB's twin rule on a header). Bad input: one error, nothing made.
 */
describe('feature environments: private URLs (access)', () => {
  const stage = useFeatureEnvStage({
    from: 2000,
    kube: { namespaces: ['auth'] },
    objects: [
      deploymentManifest('web', 'registry.example:5000/shop/web:main'),
      serviceManifest('web'),
      ingressManifest('web'),
    ],
  });
  beforeAll(() => {
    stage.kube.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'preview-oidc', namespace: 'auth' },
      type: 'Opaque',
      data: {
        clientID: Buffer.from('preview-client').toString('base64'),
        clientSecret: Buffer.from('s3cr3t-client').toString('base64'),
      },
    });
  });
  const inputs = (extra: Record<string, string>) => ({
    manifests: 'k8s/',
    'pin-digests': 'false',
    timeout: '20s',
    domain: 'preview.example.com',
    kubeconfig: stage.kube.kubeconfig,
    ...extra,
  });
  /** access-oidc for the identity provider id.example.com, with the client Secret `secret`. */
  const oidc = (secret: string) =>
    [
      'issuer=https://id.example.com',
      'authorization-endpoint=https://id.example.com/authorize',
      'token-endpoint=https://id.example.com/token',
      'user-info-endpoint=https://id.example.com/userinfo',
      `secret=${secret}`,
    ].join('\n');
  const secretOf = (ns: string) => {
    const sec = stage.kube.get('v1', 'Secret', ns, ACCESS_SECRET)!;
    return (k: string) => Buffer.from(sec.data[k], 'base64').toString('utf8');
  };
  const envsOf = (number: number) =>
    stage.kube.list('v1', 'Namespace').filter((ns) => ns.metadata.labels?.[PR_LABEL] === String(number));

  it('ingress-nginx-oauth: every Ingress asks the oauth2-proxy; a bypass token of its own (HTTP Basic, satisfy any), kept across updates', async () => {
    const p = stage.pr();
    const raw = inputs({ access: 'ingress-nginx-oauth', 'access-url': 'https://auth.preview.example.com/' });
    const { r, logger } = await runFe(stage.gh, p.ev, raw, { workspace: stage.ws });
    expect(r.status, logger.text()).toBe('up');
    const ing = stage.kube.get('networking.k8s.io/v1', 'Ingress', r.namespace, 'web')!;
    expect(ing.metadata.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/auth-url': 'https://auth.preview.example.com/oauth2/auth',
      'nginx.ingress.kubernetes.io/auth-signin':
        'https://auth.preview.example.com/oauth2/start?rd=$scheme://$host$escaped_request_uri',
      'nginx.ingress.kubernetes.io/auth-type': 'basic',
      'nginx.ingress.kubernetes.io/auth-secret': ACCESS_SECRET,
      'nginx.ingress.kubernetes.io/auth-secret-type': 'auth-file',
      'nginx.ingress.kubernetes.io/satisfy': 'any',
    });
    const v = secretOf(r.namespace);
    const token = v('token');
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // The htpasswd line nginx reads: {SSHA} = base64(sha1(token + salt) + salt).
    const line = v('auth');
    expect(line).toMatch(/^bypass:\{SSHA\}/);
    const raw64 = Buffer.from(line.slice('bypass:{SSHA}'.length), 'base64');
    const salt = raw64.subarray(20);
    expect(createHash('sha1').update(token).update(salt).digest().equals(raw64.subarray(0, 20))).toBe(true);
    expect(logger.text()).not.toContain(token);
    const comment = stage.gh.comments.find((c) => c.issue === p.number)!.body;
    expect(comment).toContain('🔒 Private: you sign in through');
    expect(comment).not.toContain(token);
    // An update keeps the token (the tests that use it keep working).
    const upd = await runFe(stage.gh, { ...p.ev, action: 'synchronize' }, raw, { workspace: stage.ws });
    expect(upd.r.status, upd.logger.text()).toBe('updated');
    expect(secretOf(r.namespace)('token')).toBe(token);
    expect(secretOf(r.namespace)('auth')).toBe(line);
    // Another environment has another token.
    const q = stage.pr();
    const other = await runFe(stage.gh, q.ev, raw, { workspace: stage.ws });
    expect(secretOf(other.r.namespace)('token')).not.toBe(token);
  });

  it("alb-oidc: the ALB's OIDC authentication with the client Secret copied in; the bypass is a twin rule on the token header, first in the group", async () => {
    const p = stage.pr();
    const raw = inputs({
      access: 'alb-oidc',
      'access-oidc': oidc('auth/preview-oidc'),
      'ingress-annotations':
        'alb.ingress.kubernetes.io/group.name=previews\nalb.ingress.kubernetes.io/group.order=10',
    });
    const { r, logger } = await runFe(stage.gh, p.ev, raw, { workspace: stage.ws });
    expect(r.status, logger.text()).toBe('up');
    const ing = stage.kube.get('networking.k8s.io/v1', 'Ingress', r.namespace, 'web')!;
    expect(ing.metadata.annotations!['alb.ingress.kubernetes.io/auth-type']).toBe('oidc');
    expect(JSON.parse(ing.metadata.annotations!['alb.ingress.kubernetes.io/auth-idp-oidc']!)).toEqual({
      issuer: 'https://id.example.com',
      authorizationEndpoint: 'https://id.example.com/authorize',
      tokenEndpoint: 'https://id.example.com/token',
      userInfoEndpoint: 'https://id.example.com/userinfo',
      secretName: 'preview-oidc',
    });
    expect(stage.kube.get('v1', 'Secret', r.namespace, 'preview-oidc')!.data.clientSecret).toBe(
      Buffer.from('s3cr3t-client').toString('base64'),
    );
    const token = secretOf(r.namespace)('token');
    const twin = stage.kube.get('networking.k8s.io/v1', 'Ingress', r.namespace, 'web-c2c-bypass')!;
    expect(twin.spec.rules).toEqual(ing.spec.rules);
    expect(Object.keys(twin.metadata.annotations!).filter((k) => k.includes('/auth-'))).toEqual([]);
    expect(twin.metadata.annotations!['alb.ingress.kubernetes.io/group.name']).toBe('previews');
    expect(twin.metadata.annotations!['alb.ingress.kubernetes.io/group.order']).toBe('9');
    expect(JSON.parse(twin.metadata.annotations!['alb.ingress.kubernetes.io/conditions.web']!)).toEqual([
      { field: 'http-header', httpHeaderConfig: { httpHeaderName: BYPASS_HEADER, values: [token] } },
    ]);
    expect(logger.text()).not.toContain('s3cr3t-client');
    expect(logger.text()).not.toContain(token);
  });

  it.each([
    [
      { access: 'ingress-nginx-oauth' },
      /Input 'access-url': is empty\. Expected the https:\/\/ URL of the team's oauth2-proxy/,
    ],
    [
      { access: 'ingress-nginx-oauth', 'access-url': 'http://auth.example.com' },
      /Input 'access-url': 'http:\/\/auth\.example\.com' is not an https:\/\/ URL/,
    ],
    [
      { access: 'alb-oidc', 'access-oidc': 'issuer=https://id.example.com' },
      /Input 'access-oidc': has no secret=/,
    ],
    [
      {
        access: 'alb-oidc',
        'access-oidc': 'issuer=https://id.example.com\nsecret=auth/preview-oidc\nflavour=x',
      },
      /Input 'access-oidc': has unknown keys: flavour/,
    ],
    [{ 'access-url': 'https://auth.example.com' }, /Input 'access-url': is set, but 'access' is public/],
    [
      {
        access: 'alb-oidc',
        'access-oidc': oidc('auth/missing'),
      },
      /Input 'access-oidc': Secret auth\/missing does not exist/,
    ],
  ])('%#: bad access input: one error naming it, nothing made', async (extra, message) => {
    const p = stage.pr();
    await expect(runFe(stage.gh, p.ev, inputs(extra), { workspace: stage.ws })).rejects.toThrow(message);
    expect(envsOf(p.number)).toEqual([]);
  });
});
