import { beforeAll, describe, expect, it } from 'vitest';
import { PR_LABEL } from '../../src/featureenv/state.js';
import { deploymentManifest, ingressManifest, serviceManifest } from '../fixtures/workloads.js';
import { runFe, useFeatureEnvStage } from '../helpers/feature-env.js';

/**
 * Issue 16 item 5 (its second part): `tls-secret` copies a wildcard certificate into each environment
 * and puts it on every Ingress, so the URLs are https; a certificate that cannot be read fails the up
 * before anything is made, naming the Role that would let it.
 */
describe('feature environments: tls-secret (Kubernetes fake)', () => {
  const CRT = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n').toString(
    'base64',
  );
  const KEY = Buffer.from(
    '-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n',
  ).toString('base64');
  const stage = useFeatureEnvStage({
    from: 900,
    pad: 'b',
    kube: { namespaces: ['certs'] },
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
      metadata: { name: 'preview-wildcard', namespace: 'certs' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': CRT, 'tls.key': KEY },
    });
    stage.kube.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'opaque', namespace: 'certs' },
      type: 'Opaque',
      data: { token: 'eA==' },
    });
  });

  const inputs = (tls: string) => ({
    manifests: 'k8s/',
    'pin-digests': 'false',
    timeout: '20s',
    domain: 'preview.example.com',
    'tls-secret': tls,
    kubeconfig: stage.kube.kubeconfig,
  });
  const pr = () => stage.pr();

  it('the certificate is copied into the environment and on every Ingress; the URL and the comment say https', async () => {
    const p = pr();
    const { r, logger } = await runFe(stage.gh, p.ev, inputs('certs/preview-wildcard'), {
      workspace: stage.ws,
    });
    expect(r.status, logger.text()).toBe('up');
    expect(r.url).toBe(`https://web-pr-${p.number}.preview.example.com`);
    const copy = stage.kube.get('v1', 'Secret', r.namespace, 'preview-wildcard')!;
    expect(copy.type).toBe('kubernetes.io/tls');
    expect(copy.data).toEqual({ 'tls.crt': CRT, 'tls.key': KEY });
    const ing = stage.kube.get('networking.k8s.io/v1', 'Ingress', r.namespace, 'web')!;
    expect(ing.spec.tls).toEqual([
      { hosts: [`web-pr-${p.number}.preview.example.com`], secretName: 'preview-wildcard' },
    ]);
    expect(stage.gh.comments.find((c) => c.issue === p.number)!.body).toContain(
      `https://web-pr-${p.number}.preview.example.com`,
    );
    expect(logger.text()).not.toContain(Buffer.from(KEY, 'base64').toString());
    expect(logger.text()).not.toContain(KEY);
  });

  it('a certificate that does not exist, is no TLS Secret, or cannot be read: one error naming tls-secret, nothing made', async () => {
    stage.kube.forbid({ verb: 'get', resource: 'secrets', namespace: 'certs' });
    const cases: Array<[string, RegExp, () => void]> = [
      [
        'certs/missing',
        /Input 'tls-secret': Secret certs\/missing does not exist/,
        () => stage.kube.allowAll(),
      ],
      ['certs/opaque', /Input 'tls-secret': Secret certs\/opaque is of type Opaque/, () => undefined],
      ['not a ref', /Input 'tls-secret': 'not a ref' is not namespace\/name/, () => undefined],
    ];
    // First the refusal by RBAC: the Role that would let it is named.
    const denied = pr();
    await expect(
      runFe(stage.gh, denied.ev, inputs('certs/preview-wildcard'), { workspace: stage.ws }),
    ).rejects.toThrow(
      /Input 'tls-secret': Secret certs\/preview-wildcard cannot be read: .*forbidden.*a Role in namespace certs with rules \[\{apiGroups: \[''\], resources: \[secrets\], resourceNames: \[preview-wildcard\], verbs: \[get\]\}\]/s,
    );
    expect(
      stage.kube
        .list('v1', 'Namespace')
        .filter((ns) => ns.metadata.labels?.[PR_LABEL] === String(denied.number)),
    ).toEqual([]);
    for (const [ref, message, after] of cases) {
      after();
      const p = pr();
      await expect(runFe(stage.gh, p.ev, inputs(ref), { workspace: stage.ws })).rejects.toThrow(message);
      expect(
        stage.kube
          .list('v1', 'Namespace')
          .filter((ns) => ns.metadata.labels?.[PR_LABEL] === String(p.number)),
      ).toEqual([]);
    }
  });
});
