// The builders' pure parts (argument construction, validation, auth file, builder choice) and the
// "validate first, nothing runs" guarantees. No daemon and no registry needed.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildahArgs,
  buildAndPush,
  dockerArgs,
  registriesConfText,
  resolveBuilder,
  validateBuildRequest,
  writeAuthFile,
  type BuildahFiles,
  type BuildRequest,
} from '../../src/builder/index.js';
import { C2CError, InputError, ToolMissingError } from '../../src/core/errors.js';
import { memoryLogger, nullLogger } from '../../src/core/logger.js';
import { haveTools } from '../helpers/tools.js';

const SECRET = 'pa55-w0rd-never-in-argv';
let dir: string;
let ctx: string;
let dockerfile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-build-args-'));
  ctx = path.join(dir, 'ctx');
  await mkdir(ctx);
  dockerfile = path.join(ctx, 'Dockerfile');
  await writeFile(dockerfile, 'FROM scratch\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function request(over: Partial<BuildRequest> = {}): BuildRequest {
  return {
    context: ctx,
    dockerfile,
    tags: ['127.0.0.1:5000/app:v1', 'registry.example.com:8443/team/app:latest'],
    buildArgs: [
      ['BASE_IMAGE', '127.0.0.1:5000/base@sha256:' + 'a'.repeat(64)],
      ['GREETING', 'hello world'],
    ],
    target: 'runtime',
    platforms: ['linux/amd64'],
    labels: {
      'org.opencontainers.image.revision': 'abc123',
      'org.opencontainers.image.source': 'https://x/y',
    },
    annotations: { 'io.c2c.hash-manifest': '{"files":1}' },
    targets: [
      { host: '127.0.0.1:5000', insecure: true },
      { host: 'registry.example.com:8443', username: 'deployer', password: SECRET, insecure: false },
    ],
    logger: nullLogger,
    ...over,
  };
}

const files: BuildahFiles = {
  authFile: '/tmp/private/config.json',
  iidFile: '/tmp/work/iid',
  digestFile: (i) => `/tmp/work/digest-${i}`,
  manifestName: 'localhost/c2c-build-x',
};

/** The value that follows each occurrence of a flag. */
function values(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));
}

describe('buildahArgs', () => {
  it('passes dockerfile, build args, target, platform, labels, annotations and tags, and no credential', async () => {
    const req = await validateBuildRequest(request());
    const plan = buildahArgs(req, files, { driver: 'vfs', isolation: 'chroot' }, 'sha256:img');
    const b = plan.build;
    expect(b.slice(0, 3)).toEqual(['--storage-driver', 'vfs', 'bud']);
    expect(values(b, '--isolation')).toEqual(['chroot']);
    expect(b).toContain('--layers');
    expect(values(b, '--format')).toEqual(['oci']);
    expect(values(b, '-f')).toEqual([dockerfile]);
    expect(values(b, '--authfile')).toEqual(['/tmp/private/config.json']);
    expect(values(b, '--build-arg')).toEqual([
      `BASE_IMAGE=127.0.0.1:5000/base@sha256:${'a'.repeat(64)}`,
      'GREETING=hello world',
    ]);
    expect(values(b, '--target')).toEqual(['runtime']);
    expect(values(b, '--platform')).toEqual(['linux/amd64']);
    expect(values(b, '--label')).toEqual([
      'org.opencontainers.image.revision=abc123',
      'org.opencontainers.image.source=https://x/y',
    ]);
    expect(values(b, '--annotation')).toEqual(['io.c2c.hash-manifest={"files":1}']);
    expect(values(b, '--tag')).toEqual(req.tags);
    expect(values(b, '--iidfile')).toEqual(['/tmp/work/iid']);
    expect(b.at(-1)).toBe(ctx);
    expect(plan.multiPlatform).toBe(false);

    expect(plan.pushes.map((p) => p.tag)).toEqual(req.tags);
    const [local, remote] = plan.pushes.map((p) => p.args);
    expect(local!.slice(0, 3)).toEqual(['--storage-driver', 'vfs', 'push']);
    expect(local!.slice(-2)).toEqual(['sha256:img', 'docker://127.0.0.1:5000/app:v1']);
    expect(values(local!, '--digestfile')).toEqual(['/tmp/work/digest-0']);
    expect(values(local!, '--authfile')).toEqual(['/tmp/private/config.json']);
    // TLS verification is switched off only for the insecure loopback target.
    expect(local).toContain('--tls-verify=false');
    expect(remote).not.toContain('--tls-verify=false');
    expect(remote!.slice(-2)).toEqual(['sha256:img', 'docker://registry.example.com:8443/team/app:latest']);

    const everything = [...b, ...plan.pushes.flatMap((p) => p.args)].join('\n');
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(Buffer.from(`deployer:${SECRET}`).toString('base64'));
  });

  it('leaves storage driver and auth file out when not given, and builds a manifest list for several platforms', async () => {
    const req = await validateBuildRequest(
      request({
        platforms: ['linux/amd64', 'linux/arm64'],
        target: undefined,
        tags: ['127.0.0.1:5000/app:v2'],
      }),
    );
    const { authFile: _a, ...noAuth } = files;
    const plan = buildahArgs(req, noAuth, { isolation: 'chroot' });
    expect(plan.build[0]).toBe('bud');
    expect(plan.build).not.toContain('--layers');
    expect(plan.build).not.toContain('--authfile');
    expect(plan.build).not.toContain('--target');
    expect(values(plan.build, '--platform')).toEqual(['linux/amd64,linux/arm64']);
    expect(values(plan.build, '--manifest')).toEqual(['localhost/c2c-build-x']);
    expect(plan.build).not.toContain('--tag');
    expect(plan.multiPlatform).toBe(true);
    expect(plan.pushes[0]!.args.slice(0, 3)).toEqual(['manifest', 'push', '--all']);
    expect(plan.pushes[0]!.args.slice(-2)).toEqual([
      'localhost/c2c-build-x',
      'docker://127.0.0.1:5000/app:v2',
    ]);
  });

  it('a registry layer cache: --cache-from and --cache-to the cache repository, not for several platforms', async () => {
    const one = await validateBuildRequest(
      request({ tags: ['127.0.0.1:5000/app:v2'], cacheRepository: '127.0.0.1:5000/app-cache' }),
    );
    const plan = buildahArgs(one, files, { isolation: 'chroot' });
    expect(plan.build).toContain('--layers');
    expect(values(plan.build, '--cache-from')).toEqual(['127.0.0.1:5000/app-cache']);
    expect(values(plan.build, '--cache-to')).toEqual(['127.0.0.1:5000/app-cache']);
    const many = await validateBuildRequest(
      request({
        tags: ['127.0.0.1:5000/app:v2'],
        platforms: ['linux/amd64', 'linux/arm64'],
        cacheRepository: '127.0.0.1:5000/app-cache',
      }),
    );
    expect(buildahArgs(many, files, { isolation: 'chroot' }).build).not.toContain('--cache-from');
  });

  it('adds an insecure target for a loopback tag host that has none', async () => {
    const req = await validateBuildRequest(request({ tags: ['127.0.0.1:6000/x:y'], targets: [] }));
    expect(req.targets).toEqual([{ host: '127.0.0.1:6000', insecure: true }]);
    const plan = buildahArgs(req, files, { isolation: 'chroot' });
    expect(plan.pushes[0]!.args).toContain('--tls-verify=false');
  });
});

describe('dockerArgs', () => {
  it('builds with buildx, pushes, writes metadata, no provenance, and no credential', async () => {
    const req = await validateBuildRequest(
      request({ targets: request().targets.slice(1), tags: [request().tags[1]!] }),
    );
    const a = dockerArgs(req, { metadataFile: '/tmp/work/metadata.json' });
    expect(a.slice(0, 2)).toEqual(['buildx', 'build']);
    expect(a).toContain('--provenance=false');
    expect(a).toContain('--push');
    expect(values(a, '--metadata-file')).toEqual(['/tmp/work/metadata.json']);
    expect(values(a, '-f')).toEqual([dockerfile]);
    expect(values(a, '--tag')).toEqual(['registry.example.com:8443/team/app:latest']);
    expect(values(a, '--build-arg')).toContain('GREETING=hello world');
    expect(values(a, '--target')).toEqual(['runtime']);
    expect(values(a, '--platform')).toEqual(['linux/amd64']);
    expect(values(a, '--label')).toContain('org.opencontainers.image.revision=abc123');
    expect(values(a, '--annotation')).toEqual(['manifest:io.c2c.hash-manifest={"files":1}']);
    expect(a.at(-1)).toBe(ctx);
    expect(a.join('\n')).not.toContain(SECRET);
  });

  it('sbom and provenance: buildx attestations (--sbom=true, --provenance=mode=max); without them none', async () => {
    const base = { targets: request().targets.slice(1), tags: [request().tags[1]!] };
    const a = dockerArgs(
      await validateBuildRequest(request({ ...base, attestations: { sbom: true, provenance: true } })),
      { metadataFile: '/m.json' },
    );
    expect(a).toContain('--sbom=true');
    expect(a).toContain('--provenance=mode=max');
    expect(a).not.toContain('--provenance=false');
    const none = dockerArgs(await validateBuildRequest(request(base)), { metadataFile: '/m.json' });
    expect(none.filter((x) => x.startsWith('--sbom') || x.startsWith('--provenance'))).toEqual([
      '--provenance=false',
    ]);
  });

  it('pushes to a plain-http loopback registry through an insecure image output', async () => {
    const req = await validateBuildRequest(
      request({ platforms: ['linux/amd64', 'linux/arm64'], tags: ['127.0.0.1:5000/app:v1'] }),
    );
    const a = dockerArgs(req, { metadataFile: '/m.json' });
    expect(a).not.toContain('--push');
    expect(values(a, '--output')).toEqual(['type=image,push=true,registry.insecure=true']);
    expect(values(a, '--platform')).toEqual(['linux/amd64,linux/arm64']);
    expect(values(a, '--annotation')).toEqual(['manifest,index:io.c2c.hash-manifest={"files":1}']);
  });

  it('a registry layer cache: type=registry, mode=max, in manifests ECR stores', async () => {
    const secure = await validateBuildRequest(
      request({
        targets: request().targets.slice(1),
        tags: [request().tags[1]!],
        cacheRepository: 'registry.example.com:8443/team/app-cache',
      }),
    );
    const a = dockerArgs(secure, { metadataFile: '/m.json' });
    expect(values(a, '--cache-from')).toEqual([
      'type=registry,ref=registry.example.com:8443/team/app-cache:buildcache',
    ]);
    expect(values(a, '--cache-to')).toEqual([
      'type=registry,ref=registry.example.com:8443/team/app-cache:buildcache,mode=max,image-manifest=true,oci-mediatypes=true',
    ]);
    const loopback = await validateBuildRequest(
      request({ tags: ['127.0.0.1:5000/app:v1'], cacheRepository: '127.0.0.1:5000/app-cache' }),
    );
    expect(values(dockerArgs(loopback, { metadataFile: '/m.json' }), '--cache-to')[0]).toMatch(
      /,registry\.insecure=true$/,
    );
  });
});

describe('validateBuildRequest: bad input is refused before anything runs', () => {
  it('names the missing dockerfile path, or the input when the caller gives its name', async () => {
    const missing = path.join(ctx, 'Dockerfile.nope');
    const err = await validateBuildRequest(request({ dockerfile: missing })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(C2CError);
    expect((err as Error).message).toContain(missing);
    expect((err as Error).message).toMatch(/does not exist/);
    const named = await validateBuildRequest(
      request({ dockerfile: missing, inputNames: { dockerfile: 'dockerfile' } }),
    ).catch((e: unknown) => e);
    expect(named).toBeInstanceOf(InputError);
    expect((named as Error).message).toMatch(
      /^Input 'dockerfile': the file '.*Dockerfile\.nope' does not exist/,
    );
  });

  it('refuses a dockerfile that is a directory, a missing context, and a context that is a file', async () => {
    await expect(validateBuildRequest(request({ dockerfile: ctx }))).rejects.toThrow(/is not a regular file/);
    const gone = path.join(dir, 'no-such-context');
    await expect(
      validateBuildRequest(request({ context: gone, inputNames: { context: 'build-context' } })),
    ).rejects.toThrow(`Input 'build-context': the directory '${gone}' does not exist`);
    await expect(validateBuildRequest(request({ context: dockerfile }))).rejects.toThrow(
      /is not a directory/,
    );
  });

  it('refuses tags without a tag, with a digest, or malformed; bad platforms, stage names and build args', async () => {
    await expect(validateBuildRequest(request({ tags: [] }))).rejects.toThrow(/no image reference/);
    await expect(validateBuildRequest(request({ tags: ['127.0.0.1:5000/app'] }))).rejects.toThrow(
      /has no tag/,
    );
    await expect(
      validateBuildRequest(request({ tags: [`127.0.0.1:5000/app@sha256:${'b'.repeat(64)}`] })),
    ).rejects.toThrow(/carries a digest/);
    await expect(validateBuildRequest(request({ tags: ['127.0.0.1:5000/App:v1'] }))).rejects.toThrow(
      /lowercase/,
    );
    await expect(validateBuildRequest(request({ platforms: ['amd64'] }))).rejects.toThrow(
      /'amd64' is not a platform/,
    );
    await expect(validateBuildRequest(request({ target: 'bad stage' }))).rejects.toThrow(/not a valid stage/);
    await expect(
      validateBuildRequest(request({ buildArgs: [['1BAD', 'x']], inputNames: { buildArgs: 'build-args' } })),
    ).rejects.toThrow(/^Input 'build-args': '1BAD' is not a valid build argument name/);
  });

  it('refuses plain http to a non-loopback registry and half-given credentials', async () => {
    await expect(
      validateBuildRequest(request({ targets: [{ host: 'ghcr.io', insecure: true }] })),
    ).rejects.toThrow(/plain http is allowed only for loopback/);
    await expect(
      validateBuildRequest(request({ targets: [{ host: 'ghcr.io', username: 'u', insecure: false }] })),
    ).rejects.toThrow(/username \('u'\) was given without a password/);
  });

  it('runs no builder at all when the dockerfile or the context is missing', async () => {
    // A recording stand-in for buildah and docker first on PATH: any call would leave a trace.
    const bin = path.join(dir, 'recording-bin');
    const trace = path.join(dir, 'trace');
    await mkdir(bin, { recursive: true });
    for (const tool of ['buildah', 'docker']) {
      await writeFile(path.join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> '${trace}'\nexit 1\n`);
      await chmod(path.join(bin, tool), 0o755);
    }
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    for (const builder of ['buildah', 'docker'] as const) {
      await expect(
        buildAndPush(request({ dockerfile: path.join(ctx, 'missing.Dockerfile'), env }), builder),
      ).rejects.toThrow(/missing\.Dockerfile' does not exist/);
      await expect(buildAndPush(request({ context: path.join(dir, 'gone'), env }), builder)).rejects.toThrow(
        /gone' does not exist/,
      );
    }
    await expect(stat(trace)).rejects.toThrow(/ENOENT/);
    // The stand-in is really what would have run: a valid request reaches it.
    await expect(
      buildAndPush(request({ env, tags: ['127.0.0.1:5000/app:v1'] }), 'buildah'),
    ).rejects.toThrow();
    expect(await readFile(trace, 'utf8')).toMatch(/^buildah /);
  });
});

describe('writeAuthFile', () => {
  it('writes config.json with mode 0600 in a private 0700 dir, merges other files, and cleans up', async () => {
    const other = path.join(dir, 'other-auth.json');
    await writeFile(
      other,
      JSON.stringify({
        auths: { 'ghcr.io': { auth: 'b3RoZXI6eA==' }, 'registry.example.com:8443': { auth: 'old' } },
      }),
    );
    const auth = await writeAuthFile(request().targets, {
      mergeFrom: [other, path.join(dir, 'absent.json')],
      tmpDir: dir,
    });
    expect(path.basename(auth.path)).toBe('config.json');
    expect(path.dirname(auth.path)).toBe(auth.dir);
    expect((await stat(auth.path)).mode & 0o777).toBe(0o600);
    expect((await stat(auth.dir)).mode & 0o777).toBe(0o700);
    const content = JSON.parse(await readFile(auth.path, 'utf8')) as {
      auths: Record<string, { auth: string }>;
    };
    expect(Object.keys(content.auths).sort()).toEqual(['ghcr.io', 'registry.example.com:8443']);
    expect(Buffer.from(content.auths['registry.example.com:8443']!.auth, 'base64').toString()).toBe(
      `deployer:${SECRET}`,
    );
    await auth.cleanup();
    await expect(stat(auth.dir)).rejects.toThrow(/ENOENT/);
    expect((await readdir(dir)).filter((n) => n.startsWith('c2c-auth-'))).toEqual([]);
  });

  it('marks only the insecure loopback registries insecure in registries.conf', async () => {
    const text = await registriesConfText(request().targets, { CONTAINERS_REGISTRIES_CONF: '/nonexistent' });
    expect(text).toContain('location = "127.0.0.1:5000"\ninsecure = true');
    expect(text).not.toContain('registry.example.com');
    expect(await registriesConfText(request().targets.slice(1))).toBeUndefined();
  });

  it("keeps the user's registries.conf (mirrors, a host it declares already) and adds only what is missing", async () => {
    const conf = path.join(dir, 'user-registries.conf');
    await writeFile(
      conf,
      `unqualified-search-registries = ["docker.io"]\n\n[[registry]]\nlocation = "127.0.0.1:5000"\ninsecure = true\n\n[[registry]]\nprefix = "docker.io"\nlocation = "mirror.example.com"\n\n[[registry]]\nprefix = "123.dkr.ecr.eu-west-1.amazonaws.com"\nlocation = '127.0.0.1:6000'\ninsecure = true\n`,
    );
    const text = (await registriesConfText(
      [...request().targets, { host: '127.0.0.1:6000', insecure: true }],
      { CONTAINERS_REGISTRIES_CONF: conf },
    ))!;
    expect(text).toContain('location = "mirror.example.com"');
    expect(text.match(/location = "127\.0\.0\.1:5000"/g)).toHaveLength(1);
    // An entry whose prefix maps another host to it does not declare the host itself.
    expect(text).toContain('location = "127.0.0.1:6000"\ninsecure = true');
  });
});

describe('resolveBuilder', () => {
  let bin: string;
  beforeAll(async () => {
    bin = path.join(dir, 'fake-docker-bin');
    await mkdir(bin, { recursive: true });
    // A docker CLI whose daemon hangs: `exec` so that the kill reaches the process holding the pipes.
    await writeFile(path.join(bin, 'docker'), '#!/bin/sh\nexec sleep 30\n');
    await chmod(path.join(bin, 'docker'), 0o755);
  });

  it.skipIf(!haveTools('buildah'))('auto picks buildah when the docker daemon does not answer', async () => {
    const logger = memoryLogger();
    // This machine: a docker CLI may be installed, but no daemon runs.
    expect(await resolveBuilder('auto', logger)).toBe('buildah');
    expect(logger.text()).toMatch(
      /builder auto: buildah, since (docker is not installed|the Docker daemon is not reachable)/,
    );
  });

  it.skipIf(!haveTools('buildah'))('bounds the docker probe when the daemon hangs', async () => {
    const logger = memoryLogger();
    const t = Date.now();
    const env = { ...process.env, PATH: `${bin}:/usr/bin:/bin` };
    expect(await resolveBuilder('auto', logger, { env, probeTimeoutMs: 500 })).toBe('buildah');
    expect(Date.now() - t).toBeLessThan(10_000);
    expect(logger.text()).toContain('did not answer within 500 ms');
  });

  it('fails with the install command when the chosen builder is missing', async () => {
    const empty = path.join(dir, 'empty-bin');
    await mkdir(empty, { recursive: true });
    const env = { PATH: empty };
    const buildah = await resolveBuilder('buildah', nullLogger, { env }).catch((e: unknown) => e);
    expect(buildah).toBeInstanceOf(ToolMissingError);
    expect((buildah as Error).message).toContain('apt-get install -y buildah');
    const docker = await resolveBuilder('docker', nullLogger, { env }).catch((e: unknown) => e);
    expect(docker).toBeInstanceOf(ToolMissingError);
    expect((docker as Error).message).toMatch(/'docker' is not installed.*docs\.docker\.com/);
    const auto = await resolveBuilder('auto', nullLogger, { env }).catch((e: unknown) => e);
    expect(auto).toBeInstanceOf(ToolMissingError);
    expect((auto as Error).message).toMatch(/apt-get install -y buildah.*found neither/);
  });

  it('refuses docker when its daemon does not answer, saying why', async () => {
    const env = { ...process.env, PATH: `${bin}:/usr/bin:/bin` };
    await expect(resolveBuilder('docker', nullLogger, { env, probeTimeoutMs: 300 })).rejects.toThrow(
      /docker builder was chosen but the Docker daemon is not reachable \(did not answer within 300 ms\)/,
    );
  });
});
