// Real builds with buildah and real pushes to the real registry (plain and htpasswd basic auth),
// checked through the registry's HTTP API.
import { readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAndPush, type BuildRequest } from '../../src/builder/index.js';
import { C2CError } from '../../src/core/errors.js';
import { memoryLogger, type Logger } from '../../src/core/logger.js';
import { RetryExhaustedError } from '../../src/core/retry.js';
import { makeRootImage } from '../helpers/base-image.js';
import { freePort } from '../helpers/net.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { haveTools } from '../helpers/tools.js';

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

function headers(reg: RegistryServer, accept = ACCEPT): Record<string, string> {
  const h: Record<string, string> = { accept };
  if (reg.username)
    h.authorization = `Basic ${Buffer.from(`${reg.username}:${reg.password}`).toString('base64')}`;
  return h;
}

async function getManifest(reg: RegistryServer, repo: string, ref: string) {
  const r = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, { headers: headers(reg) });
  expect(r.status, `manifest ${repo}:${ref}`).toBe(200);
  return {
    digest: r.headers.get('docker-content-digest'),
    body: (await r.json()) as {
      mediaType?: string;
      config: { digest: string };
      layers: Array<{ digest: string }>;
      annotations?: Record<string, string>;
      manifests?: Array<{ digest: string; platform?: { architecture: string } }>;
    },
  };
}

async function getBlob(reg: RegistryServer, repo: string, digest: string): Promise<Buffer> {
  const r = await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`, { headers: headers(reg, '*/*') });
  expect(r.status).toBe(200);
  return Buffer.from(await r.arrayBuffer());
}

/** A logger that records every line as it is, secrets included: what the argv and output really held. */
function rawLogger(onLine?: (line: string) => void): Logger & { text(): string } {
  const lines: string[] = [];
  const rec = (m: string) => {
    lines.push(m);
    onLine?.(m);
  };
  return {
    text: () => lines.join('\n'),
    debug: rec,
    info: rec,
    warning: rec,
    error: rec,
    group: (_n, fn) => fn(),
    secret: () => {},
  };
}

function tee(...loggers: Logger[]): Logger {
  return {
    debug: (m) => loggers.forEach((l) => l.debug(m)),
    info: (m) => loggers.forEach((l) => l.info(m)),
    warning: (m) => loggers.forEach((l) => l.warning(m)),
    error: (m) => loggers.forEach((l) => l.error(m)),
    group: (_n, fn) => fn(),
    secret: (v) => loggers.forEach((l) => l.secret(v)),
  };
}

describe.skipIf(!haveTools('docker-registry', 'buildah', 'busybox'))('buildAndPush with buildah', () => {
  let plain: RegistryServer;
  let secured: RegistryServer;
  let root: string;
  let dir: string;
  let ctx: string;

  beforeAll(async () => {
    [plain, secured] = await Promise.all([startRegistry(), startRegistry({ auth: 'basic' })]);
    root = await makeRootImage(plain.host);
    dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-build-it-'));
    ctx = path.join(dir, 'ctx');
    await mkdir(ctx);
    await writeFile(path.join(ctx, 'app.txt'), 'the app\n');
    await writeFile(
      path.join(ctx, 'Dockerfile'),
      [
        'ARG ROOT_IMAGE',
        'FROM ${ROOT_IMAGE} AS build',
        'ARG GREETING=default-greeting',
        'COPY app.txt /app/app.txt',
        'RUN echo "greeting=$GREETING" > /app/greeting.txt && ls /app > /app/listing.txt',
        'LABEL stage=build',
        'FROM build AS later',
        'LABEL stage=later',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await Promise.all([plain?.stop(), secured?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('makes a root image from busybox-static, pinned by digest and cached per registry', async () => {
    expect(root).toMatch(new RegExp(`^${plain.host.replace(/\./g, '\\.')}/c2c/root@sha256:[a-f0-9]{64}$`));
    expect(await makeRootImage(plain.host)).toBe(root);
    const m = await getManifest(plain, 'c2c/root', 'busybox');
    expect(`${plain.host}/c2c/root@${m.digest}`).toBe(root);
  });

  it('builds FROM the root image with build args, a target stage, labels and annotations, and pushes two tags with credentials', async () => {
    const tmpDir = await mkdtemp(path.join(dir, 'private-'));
    const masked = memoryLogger();
    let authMode: number | undefined;
    let authFilesDuringBuild: string[] = [];
    const raw = rawLogger((line) => {
      // While buildah runs, the credentials sit in one 0600 file in a private dir.
      if (authMode === undefined && /^STEP /.test(line)) {
        authFilesDuringBuild = readdirSync(tmpDir).filter((n) => n.startsWith('c2c-auth-'));
        if (authFilesDuringBuild[0])
          authMode = statSync(path.join(tmpDir, authFilesDuringBuild[0], 'config.json')).mode & 0o777;
      }
    });
    const tags = [`${secured.host}/team/app:v1`, `${secured.host}/team/app:latest`];
    const req: BuildRequest = {
      context: ctx,
      dockerfile: path.join(ctx, 'Dockerfile'),
      tags,
      buildArgs: [
        ['ROOT_IMAGE', root],
        ['GREETING', 'hello-from-test'],
      ],
      target: 'build',
      labels: {
        'org.opencontainers.image.revision': 'f00dfeed',
        'org.opencontainers.image.source': 'https://example.com/app',
      },
      annotations: { 'io.c2c.test': 'annotated' },
      targets: [
        { host: plain.host, insecure: true },
        { host: secured.host, username: secured.username!, password: secured.password!, insecure: true },
      ],
      logger: tee(masked, raw),
      tmpDir,
    };
    const t = Date.now();
    const result = await buildAndPush(req, 'buildah');
    const took = Date.now() - t;
    console.log(
      `buildah build + push of a small image to two tags: ${took} ms (builder says ${result.durationMs} ms)`,
    );

    expect(result.builder).toBe('buildah');
    expect(result.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(result.durationMs).toBeGreaterThan(0);

    // Both tags hold the manifest the result names.
    const v1 = await getManifest(secured, 'team/app', 'v1');
    const latest = await getManifest(secured, 'team/app', 'latest');
    expect(v1.digest).toBe(result.digest);
    expect(latest.digest).toBe(result.digest);
    expect(v1.body.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(v1.body.annotations?.['io.c2c.test']).toBe('annotated');

    // Labels in the image config; the target stage 'build' was built, not the later one.
    const config = JSON.parse((await getBlob(secured, 'team/app', v1.body.config.digest)).toString()) as {
      config: { Labels: Record<string, string> };
    };
    expect(config.config.Labels).toMatchObject({
      'org.opencontainers.image.revision': 'f00dfeed',
      'org.opencontainers.image.source': 'https://example.com/app',
      stage: 'build',
    });

    // The build arg reached the RUN step (its layer holds the file it wrote), and RUN had busybox's sh.
    const layers = await Promise.all(v1.body.layers.map((l) => getBlob(secured, 'team/app', l.digest)));
    const tarText = layers.map((b) => gunzipSync(b).toString('latin1')).join('');
    expect(tarText).toContain('greeting=hello-from-test');
    expect(tarText).toContain('app.txt\ngreeting.txt');

    // Credentials: in a 0600 file while building, removed after, never in argv or output.
    expect(authFilesDuringBuild).toHaveLength(1);
    expect(authMode).toBe(0o600);
    expect(await readdir(tmpDir)).toEqual([]);
    const argvLines = raw
      .text()
      .split('\n')
      .filter((l) => /^buildah /.test(l));
    expect(argvLines.some((l) => l.includes(' bud ') && l.includes('--authfile'))).toBe(true);
    expect(argvLines.filter((l) => l.includes(' push ')).length).toBe(2);
    const basic = Buffer.from(`${secured.username}:${secured.password}`).toString('base64');
    for (const text of [raw.text(), masked.text()]) {
      expect(text).not.toContain(secured.password!);
      expect(text).not.toContain(basic);
    }
    // The build output was streamed to the logger.
    expect(masked.text()).toMatch(/STEP \d+\/\d+: FROM /);
  });

  it('says whose credentials were refused, without printing the password, and does not retry a 401', async () => {
    const logger = memoryLogger();
    const wrong = 'definitely-the-wrong-password';
    const err = await buildAndPush(
      {
        context: ctx,
        dockerfile: path.join(ctx, 'Dockerfile'),
        tags: [`${secured.host}/team/app:refused`],
        buildArgs: [['ROOT_IMAGE', root]],
        targets: [
          { host: plain.host, insecure: true },
          { host: secured.host, username: 'intruder', password: wrong, insecure: true },
        ],
        logger,
      },
      'buildah',
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(C2CError);
    expect((err as Error).message).toMatch(
      /Pushing .*team\/app:refused was refused by .* with the credentials of user 'intruder'/,
    );
    expect((err as Error).message).not.toContain(wrong);
    expect(logger.text()).not.toContain(wrong);
    expect(logger.text()).not.toMatch(/retrying/);
  });

  it('gives up on an unreachable registry after bounded retries', async () => {
    const port = await freePort();
    const logger = memoryLogger();
    const err = await buildAndPush(
      {
        context: ctx,
        dockerfile: path.join(ctx, 'Dockerfile'),
        tags: [`127.0.0.1:${port}/team/app:nowhere`],
        buildArgs: [['ROOT_IMAGE', root]],
        targets: [{ host: plain.host, insecure: true }],
        logger,
      },
      'buildah',
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryExhaustedError);
    expect((err as RetryExhaustedError).attempts).toBe(3);
    expect((err as Error).message).toMatch(/connection refused/);
    expect(logger.text()).toMatch(/failed \(attempt 2\); retrying/);
  });

  it('honours C2C_BUILDAH_STORAGE_DRIVER=vfs and a private storage root (C2C_BUILDAH_ROOT)', async () => {
    const store = await mkdtemp(path.join(dir, 'store-'));
    const logger = rawLogger();
    const env = {
      ...process.env,
      C2C_BUILDAH_STORAGE_DRIVER: 'vfs',
      C2C_BUILDAH_ROOT: path.join(store, 'root'),
      C2C_BUILDAH_RUNROOT: path.join(store, 'run'),
    };
    const t = Date.now();
    const result = await buildAndPush(
      {
        context: ctx,
        dockerfile: path.join(ctx, 'Dockerfile'),
        tags: [`${plain.host}/team/vfs:v1`],
        buildArgs: [['ROOT_IMAGE', root]],
        targets: [],
        logger,
        env,
      },
      'buildah',
    );
    console.log(`buildah (vfs, empty store, pulls the root image) build + push: ${Date.now() - t} ms`);
    expect((await getManifest(plain, 'team/vfs', 'v1')).digest).toBe(result.digest);
    const bud = logger
      .text()
      .split('\n')
      .find((l) => / bud /.test(l))!;
    expect(bud).toMatch(/^buildah --root \S+store-\S+\/root --runroot \S+\/run --storage-driver vfs bud /);
    // The image really went into the private vfs store.
    expect(readdirSync(path.join(store, 'root'))).toContain('vfs');
    await rm(store, { recursive: true, force: true });
  });

  it('builds several platforms into one index (FROM scratch: no emulation needed)', async () => {
    const mp = path.join(dir, 'multi');
    await mkdir(mp, { recursive: true });
    await writeFile(path.join(mp, 'data.txt'), 'multi\n');
    await writeFile(path.join(mp, 'Containerfile'), 'FROM scratch\nCOPY data.txt /data.txt\n');
    const result = await buildAndPush(
      {
        context: mp,
        dockerfile: path.join(mp, 'Containerfile'),
        tags: [`${plain.host}/team/multi:v1`],
        platforms: ['linux/amd64', 'linux/arm64'],
        targets: [],
        logger: memoryLogger(),
      },
      'buildah',
    );
    const index = await getManifest(plain, 'team/multi', 'v1');
    expect(index.digest).toBe(result.digest);
    expect(index.body.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.body.manifests?.map((m) => m.platform?.architecture).sort()).toEqual(['amd64', 'arm64']);
  });
});
