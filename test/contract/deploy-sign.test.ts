import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HASH_BASE_INPUTS, parseHashBaseInputs } from '../../src/baseimage/inputs.js';
import { runHashBase } from '../../src/baseimage/run.js';
import { exec } from '../../src/core/exec.js';
import { withDefaults } from '../../src/core/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { connectRegistry } from '../../src/registry/index.js';
import { referrersOf, SPDX_MEDIA_TYPE, IN_TOTO_MEDIA_TYPE } from '../../src/supplychain/index.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { makeRootImage } from '../helpers/base-image.js';
import { commitAll } from '../helpers/git.js';
import { goTool } from '../helpers/go-tool.js';
import { haveMoto, startMoto, type MotoServer } from '../helpers/moto.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { onBothTargets } from '../helpers/targets.js';
import { haveTools } from '../helpers/tools.js';
import { useBuildahStore } from '../helpers/use-buildah-store.js';

/**
 * Issue 15 item 7: signed images, verified before deploy. What `sign-key` writes is checked by the
 * real cosign (built from the Go module proxy), and what cosign writes (v3 bundles, v2 .sig) by
 * `verify-key`; the SBOM is syft's (also built from the proxy), attached as an OCI referrer to the
 * real registry; the KMS key is moto's, through the real AWS SDK. The deploys with `verify-key` run
 * on the fake and on the genuine control plane.
 */
const cosignTool = goTool('cosign', 'The signed-image tests');
const syftTool = goTool('syft', 'The SBOM tests');
const PASSWORD = 'correct horse battery';

describe.skipIf(
  !haveTools('docker-registry', 'buildah', 'busybox', 'git') || !cosignTool.have() || !syftTool.have(),
)('signed images (sign-key, sbom, provenance, verify-key)', () => {
  useBuildahStore('sign');
  let reg: RegistryServer;
  let root: string;
  let cosign: string;
  let keys: string;
  let otherKeys: string;
  const savedPath = process.env.PATH;

  /** cosign, as a user runs it against this registry (plain http, no transparency log). */
  const runCosign = (args: string[], env: Record<string, string> = {}) =>
    exec(cosign, args, {
      allowFailure: true,
      env: { ...process.env, COSIGN_PASSWORD: PASSWORD, ...env },
      timeoutMs: 120_000,
    });
  const verify = (image: string, pub = path.join(keys, 'cosign.pub')) =>
    runCosign(['verify', '--key', pub, '--insecure-ignore-tlog=true', '--allow-http-registry', image]);
  const cosignSign = (image: string, dir: string, extra: string[] = []) =>
    runCosign([
      'sign',
      '--key',
      path.join(dir, 'cosign.key'),
      '--tlog-upload=false',
      '--use-signing-config=false',
      '--allow-http-registry',
      '-y',
      ...extra,
      image,
    ]);

  beforeAll(async () => {
    cosign = cosignTool.ensure();
    // The engine finds syft on PATH, as on a runner after anchore/sbom-action/download-syft.
    process.env.PATH = `${path.dirname(syftTool.ensure())}:${process.env.PATH}`;
    reg = await startRegistry();
    root = await makeRootImage(reg.host, 'sign/root');
    keys = await mkdtemp(path.join(os.tmpdir(), 'c2c-cosign-'));
    otherKeys = await mkdtemp(path.join(os.tmpdir(), 'c2c-cosign-other-'));
    for (const dir of [keys, otherKeys]) {
      const r = await exec(cosign, ['generate-key-pair'], {
        cwd: dir,
        env: { ...process.env, COSIGN_PASSWORD: PASSWORD },
        allowFailure: true,
      });
      expect(r.code, r.stderr).toBe(0);
    }
  }, 300_000);
  afterAll(async () => {
    process.env.PATH = savedPath;
    await reg?.stop();
  });

  /** A workspace with an app to build on the root image, committed (a revision for the provenance). */
  const appIn = async (ws: string, text: string) => {
    await mkdir(path.join(ws, 'app'), { recursive: true });
    await writeFile(
      path.join(ws, 'app/Dockerfile'),
      'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY hello.txt /srv/hello.txt\n',
    );
    await writeFile(path.join(ws, 'app/hello.txt'), `${text}\n`);
    return commitAll(ws, text.replace(/\s+/g, '-'));
  };

  onBothTargets('deploys with sign-key and verify-key', (target) => {
    it('sign-key signs the built image as cosign verify accepts it; verify-key deploys it, and refuses, before anything is applied, an unsigned image and one signed by another key, each named', async () => {
      const { harness: h } = target();
      const ns = await h.namespace('sign');
      const revision = await appIn(h.ws, `signed ${ns}`);
      const image = `${reg.host}/sign/app`;
      const file = await h.write([deploymentManifest('web', `${image}:dev`, { replicas: 1 })]);
      const signed = await h.deploy(
        {
          manifests: file,
          namespace: ns,
          'build-context': 'app',
          image,
          'base-image': root,
          builder: 'buildah',
          'sign-key': path.join(keys, 'cosign.key'),
          'sign-key-password': PASSWORD,
          'verify-key': path.join(keys, 'cosign.pub'),
        },
        { revision },
      );
      expect(signed.r.result, signed.logger.text()).toBe('success');
      expect(signed.logger.text()).toMatch(/signed with a ECDSA prime256v1 key \(Sigstore bundle sha256:/);
      expect(signed.logger.text()).toContain('verify-key: 1 image(s) signed by');
      expect(signed.logger.text()).not.toContain(PASSWORD);
      const ran = signed.r.image;
      expect(ran).toMatch(/@sha256:[0-9a-f]{64}$/);
      const ok = await verify(ran);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain(ran.slice(ran.indexOf('@') + 1));
      // The other key's holder cannot claim it.
      expect((await verify(ran, path.join(otherKeys, 'cosign.pub'))).code).not.toBe(0);

      // An image nobody signed, and one signed (by cosign) with the other key.
      const unsigned = await makeRootImage(reg.host, `sign/unsigned-${ns}`);
      const foreign = await makeRootImage(reg.host, `sign/foreign-${ns}`);
      const s = await cosignSign(foreign, otherKeys);
      expect(s.code, s.stderr).toBe(0);
      const both = await h.write([
        deploymentManifest('web', ran, { replicas: 1 }),
        deploymentManifest('a', unsigned, { replicas: 1 }),
        deploymentManifest('b', foreign, { replicas: 1 }),
      ]);
      const err = (await h
        .deploy({ manifests: both, namespace: ns, 'verify-key': path.join(keys, 'cosign.pub') })
        .catch((e) => e)) as Error;
      expect(err.message).toMatch(
        /^verify-key: 2 of 3 image\(s\) are not signed by a ECDSA prime256v1 public key; nothing was applied/,
      );
      expect(err.message).toContain(`${unsigned}: not signed by the verify-key: no signature at all`);
      expect(err.message).toMatch(
        new RegExp(
          `${foreign.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not signed by the verify-key: bundle sha256:[0-9a-f]{64}: no signature in it verifies`,
        ),
      );
      expect(err.message).not.toContain(`${ran}:`);
      expect(await target().get('apps/v1', 'Deployment', ns, 'a')).toBeUndefined();
      expect(await target().get('apps/v1', 'Deployment', ns, 'b')).toBeUndefined();
    }, 300_000);
  });

  it('what cosign signs is accepted by verify-key: a v3 bundle and a v2 .sig signature', async () => {
    const v3 = await makeRootImage(reg.host, 'sign/by-cosign-v3');
    const v2 = await makeRootImage(reg.host, 'sign/by-cosign-v2');
    expect((await cosignSign(v3, keys)).code).toBe(0);
    const old = await cosignSign(v2, keys, ['--new-bundle-format=false']);
    expect(old.code, old.stderr).toBe(0);
    const { checkSignature, loadVerifier } = await import('../../src/supplychain/index.js');
    const r = await connectRegistry(reg.host, { logger: memoryLogger() });
    const v = await loadVerifier({
      input: 'verify-key',
      value: path.join(keys, 'cosign.pub'),
      workspace: '/',
    });
    for (const image of [v3, v2]) {
      const [repo, digest] = image.slice(reg.host.length + 1).split('@') as [string, string];
      expect(await checkSignature(r, repo, digest, v), image).toBeUndefined();
    }
  }, 120_000);

  it('sbom and provenance (buildah): syft SPDX and SLSA provenance as signed attestations cosign verify-attestation accepts; without sign-key plain referrers', async () => {
    const ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-sbom-'));
    const revision = await appIn(ws, 'sbom');
    const logger = memoryLogger();
    const opts = parseHashBaseInputs(
      withDefaults(HASH_BASE_INPUTS, {
        files: 'app/Dockerfile',
        image: `${reg.host}/sign/base`,
        build: 'true',
        context: 'app',
        dockerfile: 'Dockerfile',
        'build-args': `BASE_IMAGE=${root}`,
        builder: 'buildah',
        sbom: 'true',
        provenance: 'true',
        'sign-key': path.join(keys, 'cosign.key'),
        'sign-key-password': PASSWORD,
      }),
      ws,
    );
    const r = await runHashBase(opts, {
      logger,
      manifestDir: ws,
      revision,
      source: 'https://github.com/acme/shop',
      runUrl: 'https://github.com/acme/shop/actions/runs/1/attempts/1',
    });
    expect(r.built, logger.text()).toBe(true);
    const ref = `${reg.host}/sign/base@${r.digest}`;
    expect((await verify(ref)).code).toBe(0);
    for (const type of ['spdxjson', 'slsaprovenance1']) {
      const a = await runCosign([
        'verify-attestation',
        '--key',
        path.join(keys, 'cosign.pub'),
        '--type',
        type,
        '--insecure-ignore-tlog=true',
        '--allow-http-registry',
        ref,
      ]);
      expect(a.code, `${type}: ${a.stderr}`).toBe(0);
      const payload = JSON.parse(
        Buffer.from(JSON.parse(a.stdout.trim().split('\n')[0]!).payload, 'base64').toString(),
      ) as {
        predicate: Record<string, unknown>;
      };
      if (type === 'spdxjson') expect(payload.predicate.spdxVersion).toBe('SPDX-2.3');
      else
        expect(payload.predicate).toMatchObject({
          buildDefinition: {
            externalParameters: {
              source: { uri: 'https://github.com/acme/shop', digest: { gitCommit: revision } },
            },
          },
          runDetails: { builder: { id: 'https://github.com/acme/shop/actions/runs/1/attempts/1' } },
        });
    }

    // Without a key: the same documents, as plain referrers of their media types.
    const plain = parseHashBaseInputs(
      withDefaults(HASH_BASE_INPUTS, {
        files: 'app/Dockerfile',
        image: `${reg.host}/sign/base-plain`,
        build: 'true',
        context: 'app',
        dockerfile: 'Dockerfile',
        'build-args': `BASE_IMAGE=${root}`,
        builder: 'buildah',
        sbom: 'true',
        provenance: 'true',
      }),
      ws,
    );
    const p = await runHashBase(plain, { logger, manifestDir: ws, revision });
    const client = await connectRegistry(reg.host, { logger });
    expect(await referrersOf(client, 'sign/base-plain', p.digest, SPDX_MEDIA_TYPE)).toHaveLength(1);
    expect(await referrersOf(client, 'sign/base-plain', p.digest, IN_TOTO_MEDIA_TYPE)).toHaveLength(1);
    expect((await verify(`${reg.host}/sign/base-plain@${p.digest}`)).code).not.toBe(0);
  }, 300_000);

  it('bad input fails before anything is built or pushed: a wrong password, verify-key without pin-digests, a verify-key that is no key', async () => {
    const ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-sign-bad-'));
    await appIn(ws, 'bad');
    const logger = memoryLogger();
    const opts = parseHashBaseInputs(
      withDefaults(HASH_BASE_INPUTS, {
        files: 'app/Dockerfile',
        image: `${reg.host}/sign/bad`,
        build: 'true',
        context: 'app',
        dockerfile: 'Dockerfile',
        'build-args': `BASE_IMAGE=${root}`,
        builder: 'buildah',
        'sign-key': path.join(keys, 'cosign.key'),
        'sign-key-password': 'wrong',
      }),
      ws,
    );
    await expect(runHashBase(opts, { logger, manifestDir: ws })).rejects.toThrow(
      /Input 'sign-key': is an encrypted cosign key, and the password does not open it/,
    );
    const client = await connectRegistry(reg.host, { logger });
    expect(await client.listTags('sign/bad')).toEqual([]);

    const { DEPLOY_INPUTS, parseDeployInputs } = await import('../../src/deploy/inputs.js');
    expect(() =>
      parseDeployInputs(
        withDefaults(DEPLOY_INPUTS, {
          manifests: 'k8s/',
          'verify-key': 'cosign.pub',
          'pin-digests': 'false',
        }),
        ws,
      ),
    ).toThrow(/Input 'verify-key': is set but 'pin-digests' is false/);
    expect(() =>
      parseDeployInputs(
        withDefaults(DEPLOY_INPUTS, {
          manifests: 'k8s/',
          'verify-key': 'cosign.pub',
          'verify-identity': 'https://github.com/acme/shop/.github/workflows/deploy.yml@refs/heads/main',
        }),
        ws,
      ),
    ).toThrow(/Input 'verify-identity': and 'verify-key' are both set/);
    const { readAttest, readVerifyKey } = await import('../../src/supplychain/index.js');
    // Keyless without the job's OIDC token (no id-token: write): said before anything is built.
    await expect(
      readAttest(
        { sbom: false, provenance: false, signKey: { value: 'sigstore' } },
        { workspace: ws, env: {} },
      ),
    ).rejects.toThrow(
      /Input 'sign-key': is 'sigstore' \(keyless\), but this job has no GitHub OIDC token.*id-token: write/,
    );
    await writeFile(path.join(ws, 'not-a-key.pub'), 'hello\n');
    await expect(readVerifyKey('not-a-key.pub', { workspace: ws })).rejects.toThrow(
      /Input 'verify-key': is not a public key this action reads/,
    );
    await expect(readVerifyKey('missing.pub', { workspace: ws })).rejects.toThrow(
      /Input 'verify-key': 'missing.pub' is not a PEM key, an env:\/\/ or awskms:\/\/ reference, or a file/,
    );
  }, 120_000);

  describe.skipIf(!haveMoto())('an AWS KMS key (moto, the real AWS SDK)', () => {
    let moto: MotoServer;
    const saved = { ...process.env };
    beforeAll(async () => {
      moto = await startMoto();
      Object.assign(process.env, {
        AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
        AWS_REGION: moto.region,
        AWS_ENDPOINT_URL_KMS: moto.endpoint,
      });
    }, 120_000);
    afterAll(async () => {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      await moto?.stop();
    });

    it('sign-key awskms:///<arn> signs in KMS; cosign verify accepts it with the key KMS gives; verify-key awskms:// checks it', async () => {
      const { KMSClient, CreateKeyCommand, GetPublicKeyCommand } = await import('@aws-sdk/client-kms');
      const kms = new KMSClient({});
      const key = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
      const ref = `awskms:///${key.KeyMetadata!.Arn}`;
      const image = await makeRootImage(reg.host, 'sign/kms');
      const { attestImage, checkSignature, loadSigner, loadVerifier } =
        await import('../../src/supplychain/index.js');
      const client = await connectRegistry(reg.host, { logger: memoryLogger() });
      const [repo, digest] = image.slice(reg.host.length + 1).split('@') as [string, string];
      const signer = await loadSigner({ input: 'sign-key', value: ref, workspace: '/' });
      await attestImage(client, repo, digest, { signer, logger: memoryLogger() });
      const pub = await kms.send(new GetPublicKeyCommand({ KeyId: key.KeyMetadata!.KeyId }));
      const pem = `-----BEGIN PUBLIC KEY-----\n${Buffer.from(pub.PublicKey!)
        .toString('base64')
        .match(/.{1,64}/g)!
        .join('\n')}\n-----END PUBLIC KEY-----\n`;
      const pemFile = path.join(keys, 'kms.pub');
      await writeFile(pemFile, pem);
      const ok = await verify(image, pemFile);
      expect(ok.code, ok.stderr).toBe(0);
      expect(
        await checkSignature(
          client,
          repo,
          digest,
          await loadVerifier({ input: 'verify-key', value: ref, workspace: '/' }),
        ),
      ).toBeUndefined();
      // A key of its own is not KMS's.
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString();
      expect(
        await checkSignature(
          client,
          repo,
          digest,
          await loadVerifier({ input: 'verify-key', value: other, workspace: '/' }),
        ),
      ).toMatch(/no signature in it verifies/);
    }, 120_000);
  });
});
