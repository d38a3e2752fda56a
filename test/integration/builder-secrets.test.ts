// Build secrets (`secrets`, `secret-files`) and build args whose names look secret: what the builders
// are given (pure argument construction), and a real buildah build pushed to the real registry, whose
// every log line, layer, config and manifest is searched for the secret values.
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildahArgs,
  buildAndPush,
  displayBuildArgs,
  dockerArgs,
  looksSecret,
  validateBuildRequest,
  type BuildahFiles,
  type BuildRequest,
} from '../../src/builder/index.js';
import { C2CError, InputError } from '../../src/core/errors.js';
import { ExecError } from '../../src/core/exec.js';
import { memoryLogger, nullLogger, type Logger } from '../../src/core/logger.js';
import { makeRootImage } from '../helpers/base-image.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { haveTools } from '../helpers/tools.js';

const TOKEN = 'tok-9f8e7d6c5b4a-build-secret';
const FILE_SECRET = '//registry.example.com/:_authToken=npm-file-secret-1a2b3c4d';
const ARG_SECRET = 'arg-secret-5e6f7a8b9c0d';

let dir: string;
let ctx: string;
let secretFile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-build-secrets-'));
  ctx = path.join(dir, 'ctx');
  await mkdir(ctx);
  secretFile = path.join(dir, 'npmrc');
  await writeFile(secretFile, FILE_SECRET + '\n', { mode: 0o600 });
  await writeFile(path.join(ctx, 'Dockerfile'), 'FROM scratch\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function request(over: Partial<BuildRequest> = {}): BuildRequest {
  return {
    context: ctx,
    dockerfile: path.join(ctx, 'Dockerfile'),
    tags: ['127.0.0.1:5000/app:v1'],
    buildArgs: [
      ['GREETING', 'hello'],
      ['NPM_TOKEN', ARG_SECRET],
    ],
    secrets: [
      { id: 'token', value: TOKEN },
      { id: 'npmrc', file: secretFile },
    ],
    targets: [],
    logger: nullLogger,
    ...over,
  };
}

function values(argv: readonly string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));
}

describe('build secrets on the command line', () => {
  const files: BuildahFiles = {
    iidFile: '/tmp/work/iid',
    digestFile: (i) => `/tmp/work/digest-${i}`,
    manifestName: 'localhost/c2c-build-x',
    secrets: ['/tmp/work/secret-0', secretFile],
  };

  it('buildah gets --secret id=…,src=FILE for each, never a value', async () => {
    const req = await validateBuildRequest(request());
    const plan = buildahArgs(req, files, { isolation: 'chroot' }, 'sha256:img');
    expect(values(plan.build, '--secret')).toEqual([
      'id=token,src=/tmp/work/secret-0',
      `id=npmrc,src=${secretFile}`,
    ]);
    const all = [...plan.build, ...plan.pushes.flatMap((p) => p.args)].join('\n');
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(FILE_SECRET);
  });

  it('docker buildx gets --secret id=…,src=FILE for each, never a value', async () => {
    const req = await validateBuildRequest(request());
    const a = dockerArgs(req, { metadataFile: '/tmp/work/metadata.json', secrets: files.secrets! });
    expect(values(a, '--secret')).toEqual(['id=token,src=/tmp/work/secret-0', `id=npmrc,src=${secretFile}`]);
    expect(a.join('\n')).not.toContain(TOKEN);
  });

  it('shows build args whose names look secret as NAME=***, whatever the length of the value', () => {
    for (const name of ['NPM_TOKEN', 'db_password', 'MY_SECRET', 'api_key', 'SshKeyFile'])
      expect(looksSecret(name), name).toBe(true);
    for (const name of ['BASE_IMAGE', 'GREETING', 'VERSION', 'PASS'])
      expect(looksSecret(name), name).toBe(false);
    const argv = [
      'bud',
      '--build-arg',
      'GREETING=hi',
      '--build-arg',
      'NPM_TOKEN=ab',
      '--build-arg',
      `API_KEY=${ARG_SECRET}`,
      '.',
    ];
    expect(displayBuildArgs(argv)).toEqual([
      'bud',
      '--build-arg',
      'GREETING=hi',
      '--build-arg',
      'NPM_TOKEN=***',
      '--build-arg',
      'API_KEY=***',
      '.',
    ]);
  });

  it('refuses bad ids, an id given twice and a missing file before anything runs', async () => {
    await expect(validateBuildRequest(request({ secrets: [{ id: 'a,b', value: 'x' }] }))).rejects.toThrow(
      /Build secret: 'a,b' is not a valid secret id/,
    );
    await expect(
      validateBuildRequest(
        request({
          secrets: [
            { id: 'x', value: 'one' },
            { id: 'x', value: 'two' },
          ],
        }),
      ),
    ).rejects.toThrow(/secret id 'x' is given twice/);
    const missing = path.join(dir, 'nope');
    const err = await validateBuildRequest(
      request({ secrets: [{ id: 'f', file: missing }], inputNames: { secretFiles: 'secret-files' } }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(
      `Input 'secret-files': the file of secret 'f' ('${missing}') does not exist`,
    );
    const plain = await validateBuildRequest(request({ secrets: [{ id: 'f', file: missing }] })).catch(
      (e: unknown) => e,
    );
    expect(plain).toBeInstanceOf(C2CError);
  });
});

/** Every line as the builder's output and our debug lines really were, before any masking. */
function rawLogger(onLine?: (line: string) => void): Logger & { text(): string; warnings: string[] } {
  const lines: string[] = [];
  const warnings: string[] = [];
  const rec = (m: string) => {
    lines.push(m);
    onLine?.(m);
  };
  return {
    text: () => lines.join('\n'),
    warnings,
    debug: rec,
    info: rec,
    warning: (m) => {
      warnings.push(m);
      rec(m);
    },
    error: rec,
    group: (_n, fn) => fn(),
    secret: () => {},
  };
}

const ACCEPT =
  'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

describe.skipIf(!haveTools('docker-registry', 'buildah', 'busybox'))(
  'build secrets with the real buildah',
  () => {
    let registry: RegistryServer;
    let root: string;

    beforeAll(async () => {
      registry = await startRegistry();
      root = await makeRootImage(registry.host);
    });
    afterAll(async () => {
      await registry?.stop();
    });

    async function blob(repo: string, digest: string): Promise<Buffer> {
      const r = await fetch(`${registry.url}/v2/${repo}/blobs/${digest}`);
      expect(r.status).toBe(200);
      return Buffer.from(await r.arrayBuffer());
    }

    it('mounts each secret for RUN --mount=type=secret, and no log line, layer, config or manifest holds it', async () => {
      const sha = (s: string) => createHash('sha256').update(s).digest('hex');
      const sctx = path.join(dir, 'secret-ctx');
      await mkdir(sctx, { recursive: true });
      // The RUN steps check the mounted content by its hash: the build fails unless both secrets are there.
      await writeFile(
        path.join(sctx, 'Dockerfile'),
        [
          'ARG ROOT_IMAGE',
          'FROM ${ROOT_IMAGE}',
          `RUN --mount=type=secret,id=token echo "${sha(TOKEN)}  /run/secrets/token" | sha256sum -c -s && echo token-checked > /token-checked`,
          `RUN --mount=type=secret,id=npmrc echo "${sha(FILE_SECRET + '\n')}  /run/secrets/npmrc" | sha256sum -c -s && echo npmrc-checked > /npmrc-checked`,
          'RUN ls -la /run/secrets > /secrets-listing 2>&1 || echo none > /secrets-listing',
          '',
        ].join('\n'),
      );
      const tmpDir = await mkdtemp(path.join(dir, 'private-'));
      let secretMode: number | undefined;
      const raw = rawLogger((line) => {
        // While buildah runs, the value sits in one 0600 file of the private work dir.
        if (secretMode === undefined && /^STEP /.test(line))
          for (const w of readdirSync(tmpDir).filter((n) => n.startsWith('c2c-build-')))
            for (const f of readdirSync(path.join(tmpDir, w)).filter((n) => n.startsWith('secret-')))
              secretMode = statSync(path.join(tmpDir, w, f)).mode & 0o777;
      });
      const masked = memoryLogger();
      const both: Logger = {
        debug: (m) => (raw.debug(m), masked.debug(m)),
        info: (m) => (raw.info(m), masked.info(m)),
        warning: (m) => (raw.warning(m), masked.warning(m)),
        error: (m) => (raw.error(m), masked.error(m)),
        group: (_n, fn) => fn(),
        secret: (v) => masked.secret(v),
        mask: (t) => masked.mask!(t),
      };
      const result = await buildAndPush(
        {
          context: sctx,
          dockerfile: path.join(sctx, 'Dockerfile'),
          tags: [`${registry.host}/team/secrets:v1`],
          buildArgs: [['ROOT_IMAGE', root]],
          secrets: [
            { id: 'token', value: TOKEN },
            { id: 'npmrc', file: secretFile },
          ],
          targets: [],
          logger: both,
          tmpDir,
        },
        'buildah',
      );
      expect(result.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(secretMode).toBe(0o600);
      expect(await readdir(tmpDir)).toEqual([]);

      // The command line names the secrets by id and file, never by value.
      const bud = raw
        .text()
        .split('\n')
        .find((l) => / bud /.test(l))!;
      expect(bud).toMatch(/--secret id=token,src=\S+\/secret-0 /);
      expect(bud).toContain(`--secret id=npmrc,src=${secretFile}`);

      // Nothing anywhere holds a secret: logs (raw and masked), manifest, config, every layer.
      const m = await fetch(`${registry.url}/v2/team/secrets/manifests/v1`, { headers: { accept: ACCEPT } });
      const manifestText = await m.text();
      const manifest = JSON.parse(manifestText) as {
        config: { digest: string };
        layers: Array<{ digest: string }>;
      };
      const config = (await blob('team/secrets', manifest.config.digest)).toString('utf8');
      const layers = await Promise.all(
        manifest.layers.map(async (l) => gunzipSync(await blob('team/secrets', l.digest)).toString('latin1')),
      );
      const everything: Record<string, string> = {
        log: raw.text(),
        masked: masked.text(),
        manifest: manifestText,
        config,
        ...Object.fromEntries(layers.map((l, i) => [`layer ${i}`, l])),
      };
      for (const [where, text] of Object.entries(everything))
        for (const secret of [TOKEN, FILE_SECRET, 'npm-file-secret-1a2b3c4d'])
          expect(text.includes(secret), `${secret} in ${where}`).toBe(false);
      // The RUN steps did see them (the checks passed and wrote their files); no file under /run/secrets stayed.
      const tarText = layers.join('');
      expect(tarText).toContain('token-checked');
      expect(tarText).toContain('npmrc-checked');
      expect(tarText).not.toMatch(/run\/secrets\/(token|npmrc)/);
      expect(config).toContain('--mount=type=secret,id=token');
    });

    it('hides a build arg whose name looks secret in every line and in the error, and says to use secrets', async () => {
      const fctx = path.join(dir, 'failing-ctx');
      await mkdir(fctx, { recursive: true });
      await writeFile(
        path.join(fctx, 'Dockerfile'),
        ['ARG ROOT_IMAGE', 'FROM ${ROOT_IMAGE}', 'ARG NPM_TOKEN', 'RUN test -z "$NPM_TOKEN"', ''].join('\n'),
      );
      const logger = memoryLogger();
      const err = await buildAndPush(
        {
          context: fctx,
          dockerfile: path.join(fctx, 'Dockerfile'),
          tags: [`${registry.host}/team/failing:v1`],
          buildArgs: [
            ['ROOT_IMAGE', root],
            ['NPM_TOKEN', ARG_SECRET],
          ],
          targets: [],
          logger,
          inputNames: { buildArgs: 'build-args' },
        },
        'buildah',
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExecError);
      const e = err as ExecError;
      expect(e.message).not.toContain(ARG_SECRET);
      expect(e.command).toContain('--build-arg NPM_TOKEN=***');
      expect(logger.text()).not.toContain(ARG_SECRET);
      const debug = logger.lines.filter((l) => l.level === 'debug').map((l) => l.message);
      expect(debug.some((l) => / bud .*--build-arg NPM_TOKEN=\*\*\*/.test(l))).toBe(true);
      const warnings = logger.lines.filter((l) => l.level === 'warning').map((l) => l.message);
      expect(warnings).toEqual([
        "Input 'build-args': NPM_TOKEN looks like a secret. Its value is hidden in this log, but a build argument stays readable in the image (its history and config): pass it in 'secrets' instead and read it with RUN --mount=type=secret,id=NPM_TOKEN.",
      ]);
    });
  },
);
