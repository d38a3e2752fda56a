import { exec } from '../core/index.js';

/**
 * The time a reproducible build stamps on its image (created time, file times), in epoch seconds:
 * SOURCE_DATE_EPOCH when set (the reproducible-builds.org convention), else the commit time of
 * `revision` (default HEAD) in the git checkout holding `dir`. Undefined outside a checkout: the
 * build then stamps the current time and is not reproducible.
 */
export async function sourceDateEpoch(
  dir: string,
  revision?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number | undefined> {
  const fromEnv = env.SOURCE_DATE_EPOCH?.trim();
  if (fromEnv && /^\d+$/.test(fromEnv)) return Number(fromEnv);
  for (const rev of [revision, 'HEAD'].filter((r): r is string => !!r)) {
    const r = await exec('git', ['log', '-1', '--format=%ct', rev, '--'], {
      cwd: dir,
      allowFailure: true,
    }).catch(() => undefined);
    const t = r?.code === 0 ? r.stdout.trim() : '';
    if (/^\d+$/.test(t)) return Number(t);
  }
  return undefined;
}
