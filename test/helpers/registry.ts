import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { freePort, waitFor } from './net.js';

/**
 * Starts the real CNCF distribution registry (Debian's docker-registry) on 127.0.0.1 with a free
 * port: plain, or with htpasswd basic auth. Storage lives in a temp dir removed by stop().
 */
export interface RegistryServer {
  /** host:port, the registry part of image references: 127.0.0.1:41234 */
  host: string;
  url: string;
  username?: string;
  password?: string;
  dir: string;
  /** The registry's own log, for debugging a failed test. */
  log(): string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  auth?: 'none' | 'basic';
  username?: string;
  password?: string;
  /** Extra YAML appended under the top level of the config (e.g. a token auth section). */
  authYaml?: string;
  /** A fixed port (e.g. 5000 for the demo); default a free one. */
  port?: number;
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<RegistryServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-registry-'));
  const port = opts.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  let authYaml = opts.authYaml ?? '';
  const username = opts.username ?? 'ci-user';
  const password = opts.password ?? 'ci-s3cret-pw';
  if (opts.auth === 'basic') {
    await writeFile(path.join(dir, 'htpasswd'), `${username}:${bcrypt.hashSync(password, 4)}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: c2c-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
  }
  const config = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    authYaml,
  ].join('\n');
  const configPath = path.join(dir, 'config.yml');
  await writeFile(configPath, config);
  const child: ChildProcess = spawn('docker-registry', ['serve', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  let exited = false;
  child.on('exit', () => (exited = true));
  const url = `http://${host}`;
  await waitFor(`registry on ${host}`, async () => {
    if (exited) throw new Error(`docker-registry exited: ${log}`);
    const r = await fetch(`${url}/v2/`).catch(() => undefined);
    return r !== undefined && (r.status === 200 || r.status === 401);
  });
  return {
    host,
    url,
    ...(opts.auth === 'basic' ? { username, password } : {}),
    dir,
    log: () => log,
    stop: async () => {
      if (!exited) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
