import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError, exec } from '../core/index.js';
import { parseRepository } from '../github/index.js';
import { headCommit } from '../fingerprint/index.js';
import { UsageError } from './flags.js';

/**
 * What a command learns from where it runs rather than from its flags: the commit, the repository,
 * the kubeconfig file. The CI systems' own variables count (CodeBuild, CircleCI), then git.
 */

/** The commit being deployed: C2C_REVISION, GITHUB_SHA, CodeBuild's or CircleCI's, else git HEAD of the workspace. */
export async function currentCommit(workspace: string): Promise<string | undefined> {
  const fromEnv =
    process.env.C2C_REVISION ||
    process.env.GITHUB_SHA ||
    process.env.CODEBUILD_RESOLVED_SOURCE_VERSION ||
    process.env.CIRCLE_SHA1;
  if (fromEnv) return fromEnv;
  return headCommit(workspace);
}

/** owner/repo of a git remote URL on GitHub (https, ssh, scp-like), or undefined. */
export function repositoryOfRemote(url: string): string | undefined {
  const m =
    /^(?:[a-z+]+:\/\/)?(?:[^@/]+@)?[^/:]+(?::\d+)?[:/]+([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(
      url.trim(),
    );
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/**
 * The repository whose environments these are: `--repository owner/repo`, else GITHUB_REPOSITORY,
 * else the remote `origin` of the workspace's git repository. Not found: bad usage.
 */
export async function currentRepository(flag: string | undefined, workspace: string): Promise<string> {
  if (flag !== undefined) {
    if (!parseRepository(flag))
      throw new UsageError(`flag '--repository': '${flag}' is not of the form owner/repo`);
    return flag.trim();
  }
  const env = process.env.GITHUB_REPOSITORY?.trim();
  if (env) {
    if (!parseRepository(env))
      throw new UsageError(`GITHUB_REPOSITORY '${env}' is not of the form owner/repo: give --repository`);
    return env;
  }
  const r = await exec('git', ['remote', 'get-url', 'origin'], { cwd: workspace, allowFailure: true }).catch(
    () => undefined,
  );
  const fromRemote = r && r.code === 0 ? repositoryOfRemote(r.stdout) : undefined;
  if (fromRemote) return fromRemote;
  throw new UsageError(
    "flag '--repository' is required here: GITHUB_REPOSITORY is not set and the workspace has no git remote 'origin' to read owner/repo from",
  );
}

/**
 * `--kubeconfig PATH`: a file, as for kubectl (relative to the current directory, `~` expanded; the
 * action's input of the same name is the content). It stands for $KUBECONFIG, which the engine reads
 * when no other cluster is given, so the files a kubeconfig names are found next to it. Removes the
 * flag from `raw` (the engine's `kubeconfig` is content).
 */
export function useKubeconfigFile(raw: Record<string, string>): void {
  const given = raw.kubeconfig;
  delete raw.kubeconfig;
  if (given === undefined) return;
  const expected = 'the path of a kubeconfig file, as for kubectl --kubeconfig';
  if (given.includes('\n')) throw new InputError('kubeconfig', 'is given more than once', expected);
  if (raw['cluster-name']?.trim())
    throw new InputError(
      'kubeconfig',
      "and 'cluster-name' are both set",
      'one of them: a kubeconfig file, or an EKS cluster name with aws-region',
    );
  const home = process.env.HOME || os.homedir();
  const file = path.resolve(
    given === '~' ? home : given.startsWith('~/') ? path.join(home, given.slice(2)) : given,
  );
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch {
    isFile = false;
  }
  if (!isFile) throw new InputError('kubeconfig', `'${given}' is not a file (looked for ${file})`, expected);
  process.env.KUBECONFIG = file;
}

/** How the kubeconfig flag reads in --help (the action's input is the content, the flag a path). */
export const KUBECONFIG_FLAG_HELP = {
  value: 'PATH',
  description:
    'Path of a kubeconfig file, as for kubectl (relative to the current directory, ~ expanded). Else `--cluster-name` + `--aws-region` (EKS), else `$KUBECONFIG` or `~/.kube/config`.',
};
