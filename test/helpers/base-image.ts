// A tiny local "root" image made without the internet: Debian's busybox-static (/bin/busybox) in a
// FROM scratch image, with a symlink for every applet (sh, ls, cat, sleep, dd, mkdir, …), /etc/passwd
// and /tmp. Built with buildah (src/builder) and pushed to a given registry. Later tests, the e2e runs
// and the demo build `FROM` it (pass the returned reference as a build arg).
//
// No vitest imports: plain scripts (scripts/demo.ts under tsx) use it too.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildAndPush, resolveBuilder } from '../../src/builder/index.js';
import { nullLogger, type Logger } from '../../src/core/logger.js';

export interface RootImageOptions {
  /** Credentials of the registry (e.g. startRegistry({ auth: 'basic' })). */
  username?: string;
  password?: string;
  /** Tag pushed (the returned reference pins the digest). Default 'busybox'. */
  tag?: string;
  logger?: Logger;
  /** busybox binary; default $C2C_BUSYBOX or /bin/busybox (must be statically linked). */
  busybox?: string;
}

const cache = new Map<string, Promise<string>>();

async function assertStatic(busybox: string): Promise<void> {
  let head: Buffer;
  try {
    const fh = await open(busybox, 'r');
    try {
      head = Buffer.alloc(8192);
      await fh.read(head, 0, head.length, 0);
    } finally {
      await fh.close();
    }
  } catch {
    throw new Error(`No busybox at ${busybox}: install it with: apt-get install -y busybox-static`);
  }
  // A dynamically linked ELF names its loader (PT_INTERP) near the start of the file.
  if (/\/ld-linux|\/ld-musl|\/ld64\.so/.test(head.toString('latin1')))
    throw new Error(
      `${busybox} is dynamically linked and cannot run in a FROM scratch image: install the static one with: apt-get install -y busybox-static`,
    );
}

/** Writes the build context: rootfs/ (busybox, applet links, /etc, /tmp) and a Containerfile. */
export async function writeRootContext(dir: string, busybox: string): Promise<void> {
  await assertStatic(busybox);
  const rootfs = path.join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'root']) await mkdir(path.join(rootfs, d), { recursive: true });
  await copyFile(busybox, path.join(rootfs, 'bin/busybox'));
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => /^[\w.[-]+$/.test(s) && s !== 'busybox');
  for (const a of new Set([...applets, 'sh']))
    await symlink('busybox', path.join(rootfs, 'bin', a)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  await writeFile(
    path.join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n',
  );
  await writeFile(path.join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  await writeFile(
    path.join(dir, 'Containerfile'),
    ['FROM scratch', 'COPY rootfs/ /', 'ENV PATH=/bin', 'CMD ["/bin/sh"]', ''].join('\n'),
  );
}

/**
 * Builds the root image and pushes it to `${registryHost}/${repo}:${tag}`; returns the reference
 * pinned to its digest, `host/repo@sha256:…` (containers/image refuses tag and digest together).
 * Cached per registry and repository within the process. The build is reproducible (timestamp 0),
 * so the digest is the same on every run with the same busybox.
 */
export function makeRootImage(
  registryHost: string,
  repo = 'c2c/root',
  opts: RootImageOptions = {},
): Promise<string> {
  const key = `${registryHost}/${repo}:${opts.tag ?? 'busybox'}`;
  let p = cache.get(key);
  if (!p) {
    p = buildRootImage(registryHost, repo, opts);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function buildRootImage(registryHost: string, repo: string, opts: RootImageOptions): Promise<string> {
  const logger = opts.logger ?? nullLogger;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-root-image-'));
  try {
    await writeRootContext(dir, opts.busybox ?? process.env.C2C_BUSYBOX ?? '/bin/busybox');
    const tag = `${registryHost}/${repo}:${opts.tag ?? 'busybox'}`;
    const isLoopback = /^(127\.|localhost(:|$)|\[::1\])/.test(registryHost);
    const result = await buildAndPush(
      {
        context: dir,
        dockerfile: path.join(dir, 'Containerfile'),
        tags: [tag],
        timestamp: 0,
        labels: { 'org.opencontainers.image.title': 'c2c test root (busybox-static)' },
        targets: [
          {
            host: registryHost,
            insecure: isLoopback,
            ...(opts.username ? { username: opts.username, password: opts.password ?? '' } : {}),
          },
        ],
        logger,
      },
      await resolveBuilder('buildah', logger),
    );
    return `${registryHost}/${repo}@${result.digest}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
