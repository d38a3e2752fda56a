import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, waitFor } from './net.js';

/**
 * A real PostgreSQL server (Debian's `postgresql` package: initdb and postgres from
 * /usr/lib/postgresql/<version>/bin) in a temp dir, on 127.0.0.1 with a free port, password (SCRAM)
 * authentication over TCP and a superuser of its own. PostgreSQL refuses to run as root, so as root
 * the cluster belongs to the `postgres` user (made by the Debian package) or, failing that, `nobody`.
 */
export interface PostgresServer {
  host: string;
  port: number;
  adminUser: string;
  adminPassword: string;
  /** The admin URL of a database: postgres://admin:pw@127.0.0.1:port/<database> */
  url(database?: string): string;
  /** A connected client (closed by the caller). */
  connect(opts?: { database?: string; user?: string; password?: string }): Promise<pg.Client>;
  version: number;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

export const POSTGRES_INSTALL = 'apt-get install -y postgresql';

/** The bin dir of the newest installed server (initdb, postgres), or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+$/.test(v) && existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(root, versions[0], 'bin');
  }
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (existsSync(path.join(dir, 'initdb'))) return dir;
  } catch {
    // no pg_config either
  }
  return undefined;
}

/**
 * Whether the PostgreSQL server can be started here. Under CI=true a missing server is a failure whose
 * message carries the install command; elsewhere the tests that need it are skipped.
 */
export function havePostgres(): boolean {
  const ok = postgresBinDir() !== undefined;
  if (!ok && process.env.CI === 'true')
    throw new Error(
      `The PostgreSQL tests need the server (initdb, postgres). Install it with: ${POSTGRES_INSTALL}`,
    );
  return ok;
}

function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
      if (uid > 0) return { uid, gid };
    } catch {
      // no such user
    }
  }
  throw new Error('running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as');
}

function run(cmd: string, args: string[], cwd: string, as?: { uid: number; gid: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], ...as });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${path.basename(cmd)} exited with ${code}: ${out}`)),
    );
  });
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(`PostgreSQL is not installed: ${POSTGRES_INSTALL}`);
  const as = runAs();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-postgres-'));
  if (as) await chown(dir, as.uid, as.gid);
  const adminUser = 'c2c_admin';
  const adminPassword = 'admin-pw-' + Math.random().toString(36).slice(2);
  const pwfile = path.join(dir, 'pwfile');
  await writeFile(pwfile, adminPassword + '\n', { mode: 0o600 });
  if (as) await chown(pwfile, as.uid, as.gid);
  const data = path.join(dir, 'data');
  await run(
    path.join(bin, 'initdb'),
    [
      '-D',
      data,
      '-U',
      adminUser,
      `--pwfile=${pwfile}`,
      '--auth-host=scram-sha-256',
      '--auth-local=scram-sha-256',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
    ],
    dir,
    as,
  );
  await rm(pwfile);

  const host = '127.0.0.1';
  const port = await freePort();
  const child: ChildProcess = spawn(
    path.join(bin, 'postgres'),
    [
      '-D',
      data,
      '-c',
      `listen_addresses=${host}`,
      '-p',
      String(port),
      '-c',
      `unix_socket_directories=${dir}`,
      // A test server: durability is not the point.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=60',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], ...as },
  );
  let log = '';
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  let exited = false;
  const exit = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );

  const url = (database = 'postgres') =>
    `postgres://${adminUser}:${encodeURIComponent(adminPassword)}@${host}:${port}/${encodeURIComponent(database)}`;
  const connect = async (opts: { database?: string; user?: string; password?: string } = {}) => {
    const client = new pg.Client({
      host,
      port,
      user: opts.user ?? adminUser,
      password: opts.password ?? adminPassword,
      database: opts.database ?? 'postgres',
      connectionTimeoutMillis: 5000,
    });
    client.on('error', () => {});
    await client.connect();
    return client;
  };
  const stop = async () => {
    if (!exited) {
      child.kill('SIGINT'); // fast shutdown: disconnects sessions, then exits
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(
      `PostgreSQL on ${host}:${port}`,
      async () => {
        if (exited) throw new Error(`postgres exited: ${log}`);
        const c = await connect();
        await c.end();
        return true;
      },
      30_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const c = await connect();
  const version = Number(
    (await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v,
  );
  await c.end();
  return { host, port, adminUser, adminPassword, url, connect, version, dir, log: () => log, stop };
}

/** A client connected with an environment's database Secret (its values by key), as its services would. */
export async function connectWithSecret(v: (key: string) => string): Promise<pg.Client> {
  const c = new pg.Client({
    host: v('host'),
    port: Number(v('port')),
    user: v('user'),
    password: v('password'),
    database: v('database'),
  });
  await c.connect();
  return c;
}
