import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { PR_LABEL } from '../../src/featureenv/state.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { startKubeFake, type KubeFake } from '../fakes/kube/index.js';
import { deploymentManifest, ingressManifest } from '../fixtures/workloads.js';
import { runFe, type PrEvent } from '../helpers/feature-env.js';

/**
 * Issue 16 item 5 (its second part): `tls-secret` copies a wildcard certificate into each environment
 * and puts it on every Ingress, so the URLs are https; a certificate that cannot be read fails the up
 * before anything is made, naming the Role that would let it.
 */
describe('feature environments: tls-secret (Kubernetes fake)', () => {
  let kube: KubeFake;
  let gh: GitHubFake;
  let ws: string;
  let n = 900;
  const CRT = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n').toString(
    'base64',
  );
  const KEY = Buffer.from(
    '-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n',
  ).toString('base64');
  beforeAll(async () => {
    [kube, gh] = await Promise.all([
      startKubeFake({ readyDelayMs: 20, tickMs: 50, namespaces: ['certs'] }),
      startGitHubFake({ owner: 'acme', repo: 'shop' }),
    ]);
    gh.collaborators.set('maintainer', 'write');
    kube.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'preview-wildcard', namespace: 'certs' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': CRT, 'tls.key': KEY },
    });
    kube.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'opaque', namespace: 'certs' },
      type: 'Opaque',
      data: { token: 'eA==' },
    });
    ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-fe-tls-'));
    await mkdir(path.join(ws, 'k8s'));
    await writeFile(
      path.join(ws, 'k8s/app.yaml'),
      [
        deploymentManifest('web', 'registry.example:5000/shop/web:main'),
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web' },
          spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
        },
        ingressManifest('web'),
      ]
        .map((d) => stringify(d))
        .join('---\n'),
    );
  });
  afterAll(async () => {
    await Promise.all([kube?.stop(), gh?.stop()]);
    if (ws) await rm(ws, { recursive: true, force: true });
    closeHttpAgents();
  });

  const inputs = (tls: string) => ({
    manifests: 'k8s/',
    'pin-digests': 'false',
    timeout: '20s',
    domain: 'preview.example.com',
    'tls-secret': tls,
    kubeconfig: kube.kubeconfig,
  });
  function pr() {
    const number = ++n;
    const sha = `${number}`.padStart(40, 'b');
    gh.addPullRequest({ number, headSha: sha });
    gh.label(number, 'feature-env', 'maintainer');
    const ev: PrEvent = { action: 'labeled', number, label: 'feature-env', labels: ['feature-env'], sha };
    return { number, ev };
  }

  it('the certificate is copied into the environment and on every Ingress; the URL and the comment say https', async () => {
    const p = pr();
    const { r, logger } = await runFe(gh, p.ev, inputs('certs/preview-wildcard'), { workspace: ws });
    expect(r.status, logger.text()).toBe('up');
    expect(r.url).toBe(`https://web-pr-${p.number}.preview.example.com`);
    const copy = kube.get('v1', 'Secret', r.namespace, 'preview-wildcard')!;
    expect(copy.type).toBe('kubernetes.io/tls');
    expect(copy.data).toEqual({ 'tls.crt': CRT, 'tls.key': KEY });
    const ing = kube.get('networking.k8s.io/v1', 'Ingress', r.namespace, 'web')!;
    expect(ing.spec.tls).toEqual([
      { hosts: [`web-pr-${p.number}.preview.example.com`], secretName: 'preview-wildcard' },
    ]);
    expect(gh.comments.find((c) => c.issue === p.number)!.body).toContain(
      `https://web-pr-${p.number}.preview.example.com`,
    );
    expect(logger.text()).not.toContain(Buffer.from(KEY, 'base64').toString());
    expect(logger.text()).not.toContain(KEY);
  });

  it('a certificate that does not exist, is no TLS Secret, or cannot be read: one error naming tls-secret, nothing made', async () => {
    kube.forbid({ verb: 'get', resource: 'secrets', namespace: 'certs' });
    const cases: Array<[string, RegExp, () => void]> = [
      ['certs/missing', /Input 'tls-secret': Secret certs\/missing does not exist/, () => kube.allowAll()],
      ['certs/opaque', /Input 'tls-secret': Secret certs\/opaque is of type Opaque/, () => undefined],
      ['not a ref', /Input 'tls-secret': 'not a ref' is not namespace\/name/, () => undefined],
    ];
    // First the refusal by RBAC: the Role that would let it is named.
    const denied = pr();
    await expect(runFe(gh, denied.ev, inputs('certs/preview-wildcard'), { workspace: ws })).rejects.toThrow(
      /Input 'tls-secret': Secret certs\/preview-wildcard cannot be read: .*forbidden.*a Role in namespace certs with rules \[\{apiGroups: \[''\], resources: \[secrets\], resourceNames: \[preview-wildcard\], verbs: \[get\]\}\]/s,
    );
    expect(
      kube.list('v1', 'Namespace').filter((ns) => ns.metadata.labels?.[PR_LABEL] === String(denied.number)),
    ).toEqual([]);
    for (const [ref, message, after] of cases) {
      after();
      const p = pr();
      await expect(runFe(gh, p.ev, inputs(ref), { workspace: ws })).rejects.toThrow(message);
      expect(
        kube.list('v1', 'Namespace').filter((ns) => ns.metadata.labels?.[PR_LABEL] === String(p.number)),
      ).toEqual([]);
    }
  });
});
