import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from './net.js';

/**
 * moto in server mode (PyPI `moto[server]`), the AWS stand-in the real AWS SDK is pointed at by
 * endpoint. It lives in a venv cached outside the repository, installed by scripts/ensure-moto.sh
 * (which scripts/ensure-deps.sh runs). Each server is started on a free loopback port and stopped by
 * the test that started it.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'scripts', 'ensure-moto.sh');
export const MOTO_INSTALL = 'scripts/ensure-moto.sh';

/** Where ensure-moto.sh puts moto_server (the script is the one place that knows the version). */
export function motoServerPath(): string {
  return execFileSync('bash', [SCRIPT, '--path'], { encoding: 'utf8' }).trim();
}

/**
 * Whether moto is installed. Under CI=true a missing moto is a failure whose message carries the
 * install command; elsewhere the tests that need it are skipped.
 */
export function haveMoto(): boolean {
  const bin = motoServerPath();
  const ok = existsSync(bin) && existsSync(path.join(path.dirname(bin), '..', '.complete'));
  if (!ok && process.env.CI === 'true')
    throw new Error(
      `The RDS tests need moto (PyPI moto[server]), which is not installed at ${bin}. Install it with: ${MOTO_INSTALL}`,
    );
  return ok;
}

export interface MotoServer {
  endpoint: string;
  region: string;
  /** Fake credentials: moto accepts any. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Forgets every resource (moto's reset API), for a clean slate between tests. */
  reset(): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

export async function startMoto(opts: { region?: string } = {}): Promise<MotoServer> {
  const bin = motoServerPath();
  if (!existsSync(bin)) throw new Error(`moto is not installed at ${bin}: run ${MOTO_INSTALL}`);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // No real credentials or endpoints leak into moto from the test's environment.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PYTHONUNBUFFERED: '1' },
  });
  let log = '';
  const keep = (d: Buffer) => {
    log += d;
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(t);
    }
  };
  try {
    await waitFor(
      `moto_server on ${endpoint}`,
      async () => {
        if (exited) throw new Error(`moto_server exited: ${log}`);
        const r = await fetch(`${endpoint}/moto-api/`).catch(() => undefined);
        return r !== undefined && r.ok;
      },
      30_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    endpoint,
    region: opts.region ?? 'eu-west-1',
    credentials: { accessKeyId: 'AKIDMOTOFAKE', secretAccessKey: 'moto-fake-secret' },
    reset: async () => {
      const r = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!r.ok) throw new Error(`moto reset: HTTP ${r.status}`);
    },
    log: () => log,
    stop,
  };
}
